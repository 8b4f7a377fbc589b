/**
 * `defi-sync scheduler` end to end: the real CLI running real jobs against the offline replica
 * and a real PostgreSQL, pushing to a real Pushgateway, stopped by real signals.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LOCK_NAMESPACE } from '../../src/db/locks.js';
import { JOBS } from '../../src/jobs/registry.js';
import { cliEnv, collect, logLines, runCli, spawnCli, type CliResult } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';
import { sample, scrape, startPushgateway, type Daemon } from '../metrics/prometheus-tools.js';

const tdb = await useTestDatabase();
let replica: TestReplica;
let gateway: Daemon;
const dirs: string[] = [];

before(async () => {
  // Each is kept as soon as it is up, so that `after` stops it even when another failed to start
  // (a missing pushgateway must fail these tests, not leave a server holding the file open).
  const started = await Promise.allSettled([
    startTestReplica().then((r) => (replica = r)),
    startPushgateway().then((g) => (gateway = g)),
  ]);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
});
after(async () => {
  await Promise.all([replica?.close(), gateway?.stop()]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Only these jobs are scheduled; the others are disabled. */
function env(jobs: string[], extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return cliEnv({
    DATABASE_URL: tdb.url,
    ...replica.env(),
    PUSHGATEWAY_URL: gateway.url,
    METRICS_PORT: '0',
    DISABLED_JOBS: JOBS.map((j) => j.name).filter((n) => !jobs.includes(n)).join(','),
    ...extra,
  });
}

/** A running scheduler process with its output so far. */
function start(args: string[], environment: NodeJS.ProcessEnv) {
  const child = spawnCli(['scheduler', ...args], environment);
  const result = collect(child, 120_000);
  let stdout = '';
  child.stdout?.on('data', (d) => (stdout += d));
  return { child, result, lines: () => logLines(stdout) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await sleep(100);
  }
}

async function metricsPortOf(lines: () => Record<string, unknown>[], child: ChildProcess): Promise<number> {
  return waitFor('the /metrics server', () => {
    if (child.exitCode !== null) assert.fail(`the scheduler exited with ${child.exitCode}`);
    return lines().find((l) => typeof l.port === 'number' && String(l.msg).startsWith('serving /metrics'))?.port as number | undefined;
  });
}

const runsOf = (job: string) => tdb.db.manyOrNone<{ id: number; status: string; trigger: string; pid: number }>(`SELECT id, status, trigger, pid FROM sync_jobs WHERE job_name = $1 ORDER BY id`, [job]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('the scheduler runs real jobs as child processes, serves /metrics and /healthz, and exits 143 on SIGTERM', async () => {
  const s = start(['--catch-up', '--grace-period', '20'], env(['sync-chains', 'sync-protocols'], { MAX_CONCURRENT_JOBS: '1' }));
  const port = await metricsPortOf(s.lines, s.child);
  // Catch-up: neither job ever ran, so each runs once now, one at a time (MAX_CONCURRENT_JOBS=1).
  await waitFor('both jobs succeeded', async () => {
    const runs = [...(await runsOf('sync-chains')), ...(await runsOf('sync-protocols'))];
    return runs.length === 2 && runs.every((r) => r.status === 'succeeded') ? runs : undefined;
  });
  for (const r of [...(await runsOf('sync-chains')), ...(await runsOf('sync-protocols'))]) {
    assert.equal(r.trigger, 'scheduler');
    assert.notEqual(r.pid, s.child.pid, 'each run is a process of its own');
  }
  assert.ok((await tdb.db.one<{ n: number }>('SELECT count(*)::int AS n FROM chains')).n > 0);

  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(health.status, 200);
  const body = (await health.json()) as { status: string; next: { job: string; at: string }[] };
  assert.equal(body.status, 'ok');
  assert.deepEqual(body.next.map((n) => n.job).sort(), ['sync-chains', 'sync-protocols']);
  assert.match(body.next.find((n) => n.job === 'sync-chains')!.at, /T01:00:00\.000Z$/);

  const m = await waitFor('the scheduler counted both runs', async () => {
    const samples = await scrape(`http://127.0.0.1:${port}/metrics`);
    return sample(samples, 'defi_sync_scheduler_runs_total', { job_name: 'sync-protocols', outcome: 'succeeded' })?.value === 1 ? samples : undefined;
  });
  assert.equal(sample(m, 'defi_sync_scheduler_runs_total', { job_name: 'sync-chains', outcome: 'succeeded' })?.value, 1);
  assert.equal(sample(m, 'defi_sync_last_run_status', { job_name: 'sync-chains' })?.value, 0);
  assert.ok(sample(m, 'defi_sync_scheduler_next_run_timestamp_seconds', { job_name: 'sync-pools' }) === undefined, 'disabled jobs are not scheduled');
  assert.ok(sample(m, 'process_cpu_user_seconds_total'), 'process metrics too');

  // The runs pushed their own metrics.
  const pushed = await scrape(`${gateway.url}/metrics`);
  assert.equal(sample(pushed, 'defi_sync_last_run_status', { job: 'defi-sync-sync-chains', job_name: 'sync-chains' })?.value, 0);
  assert.ok((sample(pushed, 'defi_sync_records', { job: 'defi-sync-sync-chains', outcome: 'processed' })?.value ?? 0) > 0);

  s.child.kill('SIGTERM');
  const r = await s.result;
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /scheduler stopped \(received SIGTERM\)/);
});

test('a run skipped because its lock is held elsewhere is counted as a skip, not a success', async () => {
  const job = 'cleanup-old-data';
  const holder = await tdb.db.connect();
  await holder.one('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_NAMESPACE, job]);
  try {
    const s = start(['--catch-up'], env([job]));
    const port = await metricsPortOf(s.lines, s.child);
    await waitFor('the scheduler counted a skip', async () => {
      const samples = await scrape(`http://127.0.0.1:${port}/metrics`);
      return sample(samples, 'defi_sync_scheduler_runs_total', { job_name: job, outcome: 'skipped' })?.value === 1 ? true : undefined;
    });
    assert.deepEqual((await runsOf(job)).map((r) => r.status), ['skipped']);
    assert.ok(s.lines().some((l) => String(l.msg) === `${job} skipped: another run holds its lock`));
    s.child.kill('SIGTERM');
    assert.equal((await s.result).code, 143);
  } finally {
    await holder.one('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, job]);
    holder.done();
  }
});

test('SIGTERM reaches a running job: it rolls back and is recorded as cancelled, and the scheduler exits within the grace period', async () => {
  replica.setFault('/v2/chains', { kind: 'slow', delayMs: 60_000 });
  try {
    // Never ran, so --catch-up starts it at once.
    await tdb.db.none(`DELETE FROM sync_jobs WHERE job_name = 'sync-chains'`);
    const s = start(['--catch-up', '--grace-period', '15'], env(['sync-chains']));
    const run = await waitFor('a sync-chains run in progress', async () => (await runsOf('sync-chains')).find((x) => x.status === 'running'));
    const t0 = Date.now();
    s.child.kill('SIGTERM');
    const r = await s.result;
    const elapsed = Date.now() - t0;
    assert.equal(r.code, 143, r.stderr);
    assert.ok(elapsed < 15_000, `exited within the grace period (${elapsed} ms)`);
    const recorded = (await runsOf('sync-chains')).find((x) => x.id === run.id);
    assert.equal(recorded?.status, 'cancelled');
    assert.equal(alive(run.pid), false);
    const stop = s.lines().find((l) => l.msg === 'scheduler stopped');
    assert.deepEqual(stop?.stopped, ['sync-chains']);
    assert.deepEqual(stop?.killed, []);
  } finally {
    replica.setFault('/v2/chains', null);
  }
});

test('a scheduler that dies without its shutdown leaves no run behind: the run cancels itself', async () => {
  replica.setFault('/v2/chains', { kind: 'slow', delayMs: 60_000 });
  try {
    // Never ran, so --catch-up starts it at once.
    await tdb.db.none(`DELETE FROM sync_jobs WHERE job_name = 'sync-chains'`);
    const s = start(['--catch-up'], env(['sync-chains']));
    const run = await waitFor('a sync-chains run in progress', async () => (await runsOf('sync-chains')).find((x) => x.status === 'running'));
    s.child.kill('SIGKILL');
    await s.result;
    await waitFor('the orphaned run to stop', () => (alive(run.pid) ? undefined : true), 20_000);
    assert.equal((await runsOf('sync-chains')).find((x) => x.id === run.id)?.status, 'cancelled');
  } finally {
    replica.setFault('/v2/chains', null);
  }
});

test('with the embedded PostgreSQL the scheduler keeps one server up for its runs and stops it on exit', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'defi-sync-sched-pg-'));
  dirs.push(dataDir);
  const s = start(['--catch-up'], env(['sync-chains'], { DATABASE_URL: undefined, DEFI_SYNC_DATA_DIR: dataDir, PUSHGATEWAY_URL: undefined }));
  await waitFor('the catch-up run finished', () => s.lines().find((l) => l.msg === 'sync-chains succeeded' && l.component === 'scheduler'), 90_000);
  const started = s.lines().filter((l) => l.msg === 'embedded PostgreSQL started' || l.msg === 'attached to the running embedded PostgreSQL');
  assert.deepEqual(started.map((l) => [l.msg, l.pid]), [['embedded PostgreSQL started', s.child.pid]], 'only the scheduler starts the server; its run is handed DATABASE_URL');
  assert.ok(existsSync(join(dataDir, 'pg', 'postmaster.pid')));
  s.child.kill('SIGTERM');
  const r = await s.result;
  assert.equal(r.code, 143, r.stderr);
  assert.equal(existsSync(join(dataDir, 'pg', 'postmaster.pid')), false, 'the server was stopped');
});

test('configuration errors exit 2 with one clear line before anything starts', async () => {
  const check = async (r: CliResult, message: RegExp) => {
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  };
  await check(await runCli(['scheduler'], env([])), /^defi-sync: no job to schedule: every job is disabled/);
  await check(await runCli(['scheduler'], env(['sync-pools'], { SCHEDULE_SYNC_POOLS: 'hourly' })), /SCHEDULE_SYNC_POOLS must be a five-field cron expression/);
  await check(await runCli(['scheduler', '--grace-period', 'soon'], env(['sync-pools'])), /option '--grace-period <seconds>' argument 'soon' is invalid\. It must be a whole number from 0 to 3600\./);
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(0, r));
  try {
    const port = (busy.address() as { port: number }).port;
    await check(await runCli(['scheduler'], env(['sync-pools'], { METRICS_PORT: String(port) })), new RegExp(`port ${port} for /metrics and /healthz is already in use`));
  } finally {
    busy.close();
  }
  const help = await runCli(['scheduler', '--help'], env([]));
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--catch-up/);
});
