/**
 * The image without Docker: the Dockerfile's build stage reproduced in a temporary folder (its
 * own COPY sources, `npm run build`), the project packed, then the runtime stage: a
 * production-only install of that tarball, run with Node 24 from npm as a non-root user in a
 * folder it cannot write to. Catches a runtime import of a dev dependency, a file the package
 * does not ship, and writes outside HOME/TMPDIR.
 *
 * Run it with `scripts/image-smoke.sh` (or `npm test`), which provides TEST_DATABASE_URL.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { JOBS } from '../../src/jobs/registry.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { copySources } from './dockerfile.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The image's user (Dockerfile USER, chart runAsUser). */
const APP_UID = 10001;
const APP_GID = 10001;
const asRoot = process.getuid?.() === 0;

const REPLICA_MAIN = join(ROOT, 'src', 'replica', 'main.ts');
const SMOKE_JOB = 'sync-chains';
const jobReady = Boolean(JOBS.find((j) => j.name === SMOKE_JOB)?.load);
const replicaReady = existsSync(REPLICA_MAIN);

let work = '';
let cli = '';
let node24 = '';
let home = '';
let database: TestDatabase | undefined;

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as the container runs it: Node 24, uid 10001, HOME in a writable folder, cwd read-only. */
function runApp(args: string[], env: Record<string, string> = {}, timeoutMs = 180_000): Promise<Run> {
  const base = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, TMPDIR: home, NODE_ENV: 'production', LOG_LEVEL: 'info' };
  const argv = [node24, cli, ...args];
  const [cmd, cmdArgs] = asRoot
    ? ['setpriv', ['--reuid', String(APP_UID), '--regid', String(APP_GID), '--clear-groups', ...argv]]
    : [argv[0]!, argv.slice(1)];
  const child = spawn(cmd as string, cmdArgs as string[], { cwd: join(work, 'app'), env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

before(async () => {
  work = mkdtempSync('/tmp/defi-sync-image-');
  chmodSync(work, 0o755);

  // Build stage: exactly what the Dockerfile copies, then its build command.
  const build = join(work, 'build');
  mkdirSync(build);
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  for (const src of copySources(dockerfile, 'build')) cpSync(join(ROOT, src), join(build, src), { recursive: true });
  // The dev dependencies the build stage installs with `npm ci` are the project's own.
  symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'));
  sh('npm', ['run', 'build'], build);
  // What the runtime stage adds from the context, and the package's own files list.
  for (const src of copySources(dockerfile, 'runtime')) cpSync(join(ROOT, src), join(build, src), { recursive: true });
  if (existsSync(join(ROOT, 'README.md'))) copyFileSync(join(ROOT, 'README.md'), join(build, 'README.md'));
  const packed = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work], build)) as { filename: string }[];
  const tarball = join(work, packed[0]!.filename);

  // Runtime stage: production dependencies only.
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'defi-sync-image', private: true }));
  sh('flock', ['/tmp/defi-sync-npm.lock', 'npm', 'install', '--omit=dev', '--no-audit', '--no-fund', tarball], app);
  cli = join(app, 'node_modules', 'defi-sync', 'dist', 'src', 'cli.js');

  // Node 24 from npm, linked into the work folder (the npm cache is not readable by uid 10001).
  const execPath = sh('npx', ['-y', '-p', 'node@24', '--', 'node', '-p', 'process.execPath'], work).trim();
  node24 = join(work, 'node');
  try {
    linkSync(execPath, node24);
  } catch {
    copyFileSync(execPath, node24);
  }
  chmodSync(node24, 0o755);

  home = join(work, 'home');
  mkdirSync(home);
  if (asRoot) chownSync(home, APP_UID, APP_GID);
});

after(async () => {
  await database?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the runtime is Node 24 and the package ships only built code, migrations and metadata', () => {
  assert.match(sh(node24, ['--version'], work), /^v24\./);
  const pkg = join(work, 'app', 'node_modules', 'defi-sync');
  assert.deepEqual(readdirSync(pkg).filter((f) => !['README.md', 'LICENSE'].includes(f)).sort(), ['database', 'dist', 'package.json']);
  assert.ok(existsSync(cli));
  assert.ok(readdirSync(join(pkg, 'database', 'migrations')).some((f) => f.endsWith('.sql')));
  // No dev dependency was installed next to it.
  const devDeps = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies ?? {});
  const installed = new Set(readdirSync(join(work, 'app', 'node_modules')));
  for (const dep of devDeps) {
    if (!dep.startsWith('@')) assert.ok(!installed.has(dep), `dev dependency ${dep} installed`);
  }
});

test('--help and list run as the non-root user', async () => {
  const help = await runApp(['--help']);
  assert.equal(help.code, 0, help.stderr);
  for (const job of JOBS) assert.match(help.stdout, new RegExp(job.name));
  const list = await runApp(['list']);
  assert.equal(list.code, 0, list.stderr);
  for (const job of JOBS) assert.match(list.stdout, new RegExp(job.name));
});

test('a bad option exits 2, as the chart podFailurePolicy expects', async () => {
  const r = await runApp(['--no-such-option']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
});

test('migrate runs from the packaged migrations', { skip: !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (scripts/image-smoke.sh provides it)' }, async () => {
  database = await createTestDatabase({ migrated: false });
  const migrate = await runApp(['migrate'], { DATABASE_URL: database.url });
  assert.equal(migrate.code, 0, migrate.stdout + migrate.stderr);
  const again = await runApp(['migrate'], { DATABASE_URL: database.url });
  assert.equal(again.code, 0, again.stdout + again.stderr);
});

test(
  `${SMOKE_JOB} against the replica, as a CronJob runs it`,
  {
    skip: !replicaReady
      ? `waits for the replica (${REPLICA_MAIN})`
      : !jobReady
        ? `waits for the ${SMOKE_JOB} job`
        : !process.env.TEST_DATABASE_URL && 'needs TEST_DATABASE_URL (scripts/image-smoke.sh provides it)',
  },
  async () => {
    assert.ok(database, 'the migrate test did not run');
    // Port 0: the replica binds a free port itself and prints its URL.
    const replica = spawn('npm', ['run', '-s', 'replica', '--', '--port', '0', '--chains', '50', '--pools', '200', '--protocols', '100'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const baseUrl = await replicaUrl(replica);
      const env = {
        DATABASE_URL: database.url,
        DEFILLAMA_API_URL: baseUrl,
        DEFILLAMA_YIELDS_URL: baseUrl,
        DEFILLAMA_PRO_API_URL: baseUrl,
        API_RATE_LIMIT_MS: '0',
        DEFI_SYNC_TRIGGER: 'schedule',
      };
      const run = await runApp([SMOKE_JOB], env);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const row = (await client.query('SELECT status, trigger FROM sync_jobs WHERE job_name = $1 ORDER BY id DESC LIMIT 1', [SMOKE_JOB])).rows[0];
        assert.deepEqual(row, { status: 'succeeded', trigger: 'schedule' });
        const chains = (await client.query('SELECT count(*)::int AS n FROM chains')).rows[0].n as number;
        assert.ok(chains > 0, 'no chains written');
      } finally {
        await client.end();
      }
    } finally {
      try {
        process.kill(-replica.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  },
);

/** The first http URL the replica prints. */
function replicaUrl(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the replica printed no URL within 60 s:\n${out}`)), 60_000);
    const onData = (d: Buffer): void => {
      out += d;
      const m = /https?:\/\/[^\s"']+/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[0].replace(/\/$/, ''));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (out += d));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the replica exited (${code}):\n${out}`));
    });
  });
}
