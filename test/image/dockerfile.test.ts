import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { copySources, dockerfile, instructions, ROOT, stage } from './dockerfile.js';

const text = dockerfile();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };

test('multi-stage on a Node 24 slim base', () => {
  const froms = instructions(text).filter((l) => /^FROM\s/i.test(l));
  assert.deepEqual(froms.map((l) => l.split(/\s+/).pop()), ['build', 'prod-deps', 'runtime']);
  const base = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
  assert.match(base ?? '', /^node:24-[a-z]+-slim$/);
  assert.ok(stage(text, 'build').includes('RUN npm run build'));
  assert.ok(stage(text, 'prod-deps').some((l) => /npm ci --omit=dev/.test(l)));
});

test('the runtime stage ships production dependencies, the build output and the migrations only', () => {
  const copies = stage(text, 'runtime').filter((l) => /^COPY\s/i.test(l));
  assert.ok(copies.some((l) => /--from=prod-deps \/src\/node_modules/.test(l)));
  assert.ok(copies.some((l) => /--from=build \/src\/dist\/src/.test(l)));
  assert.ok(!copies.some((l) => /--from=build \/src\/node_modules/.test(l)), 'dev dependencies copied');
  // Everything the image takes from the context is in the npm package too, so the smoke test's
  // packed install runs the same files.
  for (const src of copySources(text, 'runtime')) {
    assert.ok(src === 'package.json' || pkg.files.includes(src), `${src} is not in package.json files`);
  }
  assert.ok(pkg.files.includes('dist/src'));
});

test('fixed non-root user, HOME in /tmp, exec-form entrypoint on the CLI', () => {
  const runtime = stage(text, 'runtime');
  assert.ok(runtime.includes('USER 10001:10001'));
  assert.ok(runtime.some((l) => /^ENV\s.*HOME=\/tmp/.test(l)));
  const entrypoint = runtime.find((l) => l.startsWith('ENTRYPOINT'));
  // Exec form: node is PID 1 and receives SIGTERM itself.
  assert.deepEqual(JSON.parse(entrypoint!.slice('ENTRYPOINT'.length)), ['node', `/app/${pkg.bin['defi-sync']}`]);
  assert.ok(!runtime.some((l) => /^(ENTRYPOINT|CMD)\s+[^[]/.test(l)), 'shell-form ENTRYPOINT or CMD');
});

test('OCI labels', () => {
  const labels = stage(text, 'runtime').filter((l) => l.startsWith('LABEL')).join(' ');
  for (const key of ['title', 'description', 'licenses', 'version', 'revision', 'created', 'base.name']) {
    assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key.replace('.', '\\.')}=`), key);
  }
});

test('the uid matches the Helm chart security contexts', () => {
  const values = parse(readFileSync(join(ROOT, 'helm', 'defi-sync', 'values.yaml'), 'utf8'));
  assert.equal(values.jobDefaults.podSecurityContext.runAsUser, 10001);
  assert.equal(values.jobDefaults.securityContext.runAsUser, 10001);
  assert.equal(values.jobDefaults.podSecurityContext.runAsGroup, 10001);
});

test('.dockerignore lets in only what the Dockerfile copies', () => {
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(ignore[0], '*', 'allow-list: everything is excluded first');
  const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
  const copied = new Set([...copySources(text, 'build'), ...copySources(text, 'prod-deps'), ...copySources(text, 'runtime')]);
  assert.deepEqual([...copied].sort(), allowed.sort());
});
