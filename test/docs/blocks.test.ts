/**
 * Every copy-paste block of README.md and docs/operations.md, taken from the markdown itself so
 * the documents cannot drift: SQL on a warehouse filled by `run-all` against the replica (each
 * statement returns rows), and each shell command through a check that runs it, or the nearest
 * thing this machine allows: helm template with its flags, the kustomize render, the Secret's
 * namespace against the release's, the systemd unit through systemd-analyze verify, the CLI for
 * real. (The container commands run for real in test/e2e/image.) A command no check knows fails.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { JOBS } from '../../src/jobs/registry.js';
import { CHART, helm, KUBE_VERSION, kustomize, podSpecs, type K8sObject } from '../chart/helm.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';
import { fencedBlocks, shellCommands, sqlStatements, words, type Block } from './markdown.js';

const EXECUTED = ['README.md', join('docs', 'operations.md')];
/** Documents whose SQL and defi-sync commands must at least run on the same warehouse. */
const OTHER_DOCS = [join('docs', 'warehouse.md'), join('docs', 'contract-mapping.md'), join('docs', 'history-and-retention.md')];
/** Info strings the test knows: executed (bash, sql) or shown only (text, rare). */
const KNOWN = new Set(['bash', 'sql', 'text']);
const PKG = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string; scripts: Record<string, string> };
const MAKEFILE = readFileSync('Makefile', 'utf8');
const APP_VERSION = (parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string }).appVersion;

const tdb = await useTestDatabase();
let replica: TestReplica;
const dir = mkdtempSync(join(tmpdir(), 'defi-sync-docs-'));
before(async () => {
  replica = await startTestReplica();
  const r = await runCli(['run-all'], env(), { timeoutMs: 240_000 });
  assert.equal(r.code, 0, `run-all against the replica: ${r.stderr}`);
});
after(async () => {
  await replica?.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(): NodeJS.ProcessEnv {
  return cliEnv({ DATABASE_URL: tdb.url, ...replica.env() });
}

const blocks = (files: string[]): Block[] => files.flatMap((f) => fencedBlocks(f));
const where = (b: Block) => `${b.file}:${b.line}`;

test('every block of README.md and docs/operations.md says what it is; README has what the issue of a newcomer needs', () => {
  const all = blocks(EXECUTED);
  for (const b of all) assert.ok(KNOWN.has(b.info), `${where(b)}: a code block needs one of ${[...KNOWN].join(', ')} as its info string, got "${b.info}"`);
  assert.ok(all.filter((b) => b.info === 'text').length <= 2, 'shown-only blocks stay rare');
  const readme = readFileSync('README.md', 'utf8');
  assert.ok(Buffer.byteLength(readme) <= 15 * 1024, `README.md is ${Buffer.byteLength(readme)} bytes`);
  const first = fencedBlocks('README.md')[0]!;
  assert.deepEqual(shellCommands(first.body), ['make demo', 'make test'], 'README opens with make demo and make test');
  const linked = [...new Set([...readme.matchAll(/\]\((docs\/[a-z-]+\.md)[#)]/g)].map((m) => m[1]!))].filter((f) => existsSync(f));
  assert.ok(linked.length >= 4, `README links ${linked.join(', ')}`);
  assert.ok(fencedBlocks('README.md').filter((b) => b.info === 'sql').flatMap((b) => sqlStatements(b.body)).length >= 3, 'three queries');
});

test('every SQL statement of README.md and docs/operations.md returns rows on a warehouse filled by run-all; the other documents\' run', async () => {
  for (const b of blocks(EXECUTED).filter((x) => x.info === 'sql')) {
    for (const sql of sqlStatements(b.body)) {
      const rows = await tdb.db.any(sql).catch((error: Error) => assert.fail(`${where(b)}: ${error.message}\n${sql}`));
      assert.ok(rows.length > 0, `${where(b)}: no rows on the demo data:\n${sql}`);
    }
  }
  const others = blocks(OTHER_DOCS).filter((x) => x.info === 'sql');
  assert.ok(others.length >= 5);
  for (const b of others) {
    for (const sql of sqlStatements(b.body)) await tdb.db.any(sql).catch((error: Error) => assert.fail(`${where(b)}: ${error.message}\n${sql}`));
  }
});

/** What the commands of one block established, for the commands after them. */
interface Context {
  namespace?: string;
  secret?: { namespace: string; name: string };
  release?: { name: string; namespace: string };
  rendered?: K8sObject[];
  packed?: string;
  unit?: string;
}

type Check = (w: string[], ctx: Context) => Promise<void> | void;

/** The value of an option (`-n x`, `--namespace x` or `--namespace=x`). */
function option(w: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < w.length; i++) {
    for (const n of names) {
      if (w[i] === n) return w[i + 1];
      if (w[i]!.startsWith(`${n}=`)) return w[i]!.slice(n.length + 1);
    }
  }
  return undefined;
}

const secretRefs = (objs: K8sObject[]): Set<string> =>
  new Set(podSpecs(objs).flatMap(([, pod]) => [...JSON.stringify(pod).matchAll(/"secret(?:Key)?Ref":\{[^}]*"name":"([^"]+)"/g)].map((m) => m[1]!)));
const images = (objs: K8sObject[]): Set<string> => new Set(podSpecs(objs).flatMap(([, pod]) => pod.containers.map((c: { image: string }) => c.image)));

async function cli(args: string[], how: string, extra: Record<string, string> = {}): Promise<void> {
  const r = await runCli(args, { ...env(), ...extra }, { timeoutMs: 180_000 });
  assert.equal(r.code, 0, `${how}: exit ${r.code}\n${r.stderr}`);
}

function verifyUnit(file: string): void {
  const text = readFileSync(file, 'utf8');
  const exec = /^ExecStart=(\S+)/m.exec(text)?.[1];
  assert.ok(exec, `${file} has an ExecStart`);
  // verify wants ExecStart to exist: a stand-in for the installed command.
  const stub = join(dir, 'defi-sync');
  writeFileSync(stub, '#!/bin/sh\nexit 0\n');
  chmodSync(stub, 0o755);
  const unit = join(dir, basename(file));
  writeFileSync(unit, text.replace(`ExecStart=${exec}`, `ExecStart=${stub}`));
  const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
  assert.equal(r.error, undefined, 'systemd-analyze is missing: install the Debian package systemd (scripts/test-tools.sh does it)');
  assert.equal(r.status, 0, r.stderr);
}

const CHECKS: [RegExp, Check][] = [
  [/^make /, (w) => {
    for (const target of w.slice(1).filter((x) => !x.includes('='))) assert.match(MAKEFILE, new RegExp(`^${target}:`, 'm'), `the Makefile has no target ${target}`);
  }],
  [/^npm (run|start)\b/, (w) => {
    const script = w[1] === 'start' ? 'start' : w[2]!;
    assert.ok(PKG.scripts[script], `package.json has no script ${script}`);
  }],
  [/^npm ci$/, () => assert.ok(existsSync('package-lock.json'))],
  [/^npm pack$/, (_w, ctx) => {
    assert.match(PKG.scripts.prepack ?? '', /build/, 'npm pack builds dist/ first (prepack)');
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [packed] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path);
    for (const f of ['dist/src/bin.js', 'dist/src/cli.js', 'database/schema.sql']) assert.ok(files.includes(f), `the package holds ${f}`);
    assert.deepEqual(files.filter((f) => f.includes('replica')), [], 'the offline replica is not shipped');
    ctx.packed = packed!.filename;
  }],
  [/^sudo npm install -g /, (w, ctx) => {
    assert.ok(ctx.packed, 'npm pack comes first');
    assert.equal(basename(w.at(-1)!), ctx.packed, 'installs the tarball npm pack made');
    assert.match(w.at(-1)!, /^\.\//, 'a path, so npm installs the file (not a registry name)');
  }],
  [/^sudo install /, (w, ctx) => {
    const [src, dest] = w.slice(-2) as [string, string];
    assert.ok(existsSync(src), `${src} exists`);
    if (src.endsWith('.service')) {
      verifyUnit(src);
      ctx.unit = basename(src, '.service');
      assert.equal(dest, '/etc/systemd/system/');
    } else {
      // The unit reads its settings from there.
      assert.match(readFileSync(join('deploy', 'systemd', 'defi-sync.service'), 'utf8'), new RegExp(`^EnvironmentFile=-${dest}$`, 'm'));
    }
  }],
  [/^sudo systemctl |^journalctl /, (w, ctx) => {
    if (w.includes('daemon-reload')) return;
    assert.equal(w.at(-1) === '-f' ? w.at(-2) : w.at(-1), ctx.unit, 'the unit installed above');
  }],
  [/^kubectl create namespace /, (w, ctx) => {
    ctx.namespace = w[3];
  }],
  [/^kubectl .*create secret generic /, (w, ctx) => {
    const ns = option(w, '-n', '--namespace');
    assert.ok(ns, 'the Secret is created in a namespace (-n), not the context\'s default');
    assert.equal(ns, ctx.namespace, 'in the namespace created above');
    assert.ok(w.some((x) => x.startsWith('--from-literal=DATABASE_URL=postgres')), 'with DATABASE_URL');
    ctx.secret = { namespace: ns, name: w[w.indexOf('generic') + 1]! };
  }],
  [/^helm install /, (w, ctx) => {
    const [release, chart] = [w[2]!, w[3]!];
    const ns = option(w, '--namespace', '-n');
    assert.equal(ns, ctx.secret?.namespace, "the release's namespace is the Secret's (the migration hook reads it)");
    const r = spawnSync(helm(), ['template', ...w.slice(2), '--kube-version', KUBE_VERSION], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(chart.replace(/^\.\//, ''), 'helm/defi-sync');
    const objs = r.stdout.split(/^---$/m).map((d) => parse(d) as K8sObject | null).filter((o): o is K8sObject => o !== null);
    const migrations = objs.filter((o) => o.kind === 'Job' && o.metadata.annotations?.['helm.sh/hook']?.includes('pre-install'));
    assert.equal(migrations.length, 1, 'a migration hook');
    assert.deepEqual(secretRefs(objs), new Set([ctx.secret!.name]), 'every pod, the hook included, reads the Secret created above');
    assert.deepEqual(images(objs), new Set([`${option(w, '--set')!.replace('image.repository=', '')}:${APP_VERSION}`]));
    ctx.release = { name: release, namespace: ns! };
    ctx.rendered = objs;
  }],
  [/^helm test /, (w, ctx) => {
    assert.deepEqual({ name: w[2], namespace: option(w, '--namespace', '-n') }, ctx.release, 'the release installed above');
    assert.ok(ctx.rendered!.some((o) => o.kind === 'Pod' && o.metadata.annotations?.['helm.sh/hook'] === 'test'), 'the chart has a test hook');
  }],
  [/^kubectl apply -k /, (w, ctx) => {
    const selector = option(w, '-l');
    let objs = kustomize(w[3]!);
    for (const o of objs) assert.equal(o.metadata.namespace, ctx.secret?.namespace, `${o.kind} ${o.metadata.name} lands in the Secret's namespace`);
    const all = images(objs);
    assert.equal(all.size, 1, `one image for every pod, the migration Job's included: ${[...all].join(' ')}`);
    assert.notEqual([...all][0], `defi-sync:${PKG.version}`, "the overlay's image, not the base's");
    assert.deepEqual(secretRefs(objs), new Set([ctx.secret!.name]));
    if (selector) {
      assert.match(selector, /^!([\w./-]+)$/);
      const label = selector.slice(1);
      objs = objs.filter((o) => !(label in (o.metadata.labels ?? {})));
      assert.deepEqual(objs.map((o) => o.kind).sort(), ['ConfigMap', 'Job', 'ServiceAccount'], 'the first apply: settings, account and migration Job, no CronJob');
    } else {
      assert.equal(objs.filter((o) => o.kind === 'CronJob').length, JOBS.length, 'the second apply brings the CronJobs');
    }
    ctx.rendered = objs;
  }],
  [/^kubectl .*(delete job|wait )/, (w, ctx) => {
    assert.equal(option(w, '-n', '--namespace'), ctx.secret?.namespace);
    const name = w.includes('delete') ? w[w.indexOf('job') + 1]! : w.find((x) => x.startsWith('job/'))!.slice(4);
    const render = ctx.rendered ?? kustomize(w.find((x) => x.startsWith('k8s/')) ?? join('k8s', 'overlays', 'example'));
    assert.ok(render.some((o) => o.kind === 'Job' && o.metadata.name === name) || kustomize(join('k8s', 'overlays', 'example')).some((o) => o.kind === 'Job' && o.metadata.name === name), `a Job ${name} is applied`);
  }],
  [/^docker run /, async (w) => {
    // The image make image builds; the container itself runs in test/e2e/image.
    const image = w.find((x) => x.startsWith('defi-sync:'));
    assert.equal(image, `defi-sync:${PKG.version}`, 'the tag make image gives');
    const args = w.slice(w.indexOf(image!) + 1);
    if (args[0] === 'scheduler') {
      const r = await runCli([...args, '--help'], env());
      assert.equal(r.code, 0, r.stderr);
      for (const flag of args.slice(1)) assert.match(r.stdout, new RegExp(flag), `scheduler takes ${flag}`);
    } else {
      await cli(args, `docker run ... ${args.join(' ')}`);
    }
  }],
  [/^([A-Z_]+=\S+ )*(npx )?defi-sync /, async (all) => {
    const assignments = all.slice(0, all.findIndex((x) => !/^[A-Z_]+=/.test(x)));
    const extra = Object.fromEntries(assignments.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
    const w = all.slice(assignments.length);
    if (w[0] === 'npx') {
      // npx keeps a link to the package's bin in its cache and never renews it: a cache of its own,
      // so the command runs the bin package.json names now, not the one of an earlier run.
      const r = spawnSync('npx', w.slice(1), { env: { ...env(), npm_config_cache: join(dir, 'npm-cache') }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
      assert.equal(r.status, 0, `${w.join(' ')}: ${r.stderr}`);
    } else {
      await cli(w.slice(1), all.join(' '), extra);
    }
  }],
];

test('every shell command of README.md and docs/operations.md passes its check', async () => {
  let checked = 0;
  for (const b of blocks(EXECUTED).filter((x) => x.info === 'bash')) {
    const ctx: Context = {};
    for (const command of shellCommands(b.body)) {
      const check = CHECKS.find(([re]) => re.test(command));
      assert.ok(check, `${where(b)}: no check knows the command \`${command}\`; add one to test/docs/blocks.test.ts`);
      try {
        await check[1](words(command), ctx);
      } catch (error) {
        (error as Error).message = `${where(b)}: \`${command}\`: ${(error as Error).message}`;
        throw error;
      }
      checked++;
    }
  }
  assert.ok(checked >= 25, `only ${checked} commands`);
});

test('the defi-sync commands of the other documents run on the demo data', async () => {
  // Their other commands (a psql on DATABASE_URL, the replica's synopsis) are shown, not run.
  const cliCheck = CHECKS.find(([re]) => re.test('defi-sync x'))!;
  let ran = 0;
  for (const b of blocks(OTHER_DOCS).filter((x) => x.info === 'bash')) {
    for (const command of shellCommands(b.body).filter((c) => cliCheck[0].test(c))) {
      await Promise.resolve(cliCheck[1](words(command), {})).catch((error: Error) => assert.fail(`${where(b)}: ${error.message}`));
      ran++;
    }
  }
  assert.ok(ran >= 6, `ran ${ran}`);
});

test('a check can fail: the Secret without -n, and an overlay image that misses the migration Job', async () => {
  const secret = CHECKS.find(([re]) => re.test('kubectl create secret generic x'))![1];
  assert.throws(() => secret(words("kubectl create secret generic defi-sync --from-literal=DATABASE_URL='postgres://h/db'"), { namespace: 'defi' }), /namespace/);
  const install = CHECKS.find(([re]) => re.test('helm install x'))![1];
  assert.throws(() => install(words('helm install defi-sync ./helm/defi-sync --namespace other --set image.repository=r/defi-sync'), { namespace: 'defi', secret: { namespace: 'defi', name: 'defi-sync' } }), /namespace/);
  assert.throws(() => install(words('helm install other ./helm/defi-sync --namespace defi --set image.repository=r/defi-sync'), { namespace: 'defi', secret: { namespace: 'defi', name: 'defi-sync' } }), /Secret/);
  // An overlay whose image reaches the CronJobs but not the migration Job.
  const overlay = join(dir, 'overlay');
  mkdirSync(overlay);
  writeFileSync(join(overlay, 'kustomization.yaml'), stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace: 'defi', resources: [relative(overlay, join('k8s', 'base'))],
    images: [{ name: 'defi-sync', newName: 'registry.example.com/defi-sync', newTag: '9.9.9' }],
    patches: [{ target: { kind: 'Job' }, patch: JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.example.com/old/defi-sync:0.0.1' }]) }],
  }));
  const apply = CHECKS.find(([re]) => re.test('kubectl apply -k x'))![1];
  assert.throws(() => apply(words(`kubectl apply -k ${overlay}`), { namespace: 'defi', secret: { namespace: 'defi', name: 'defi-sync' } }), /one image for every pod/);
  const make = CHECKS.find(([re]) => re.test('make x'))![1];
  assert.throws(() => make(words('make no-such-target'), {}), /no target/);
});
