/**
 * Run tracking end to end, with sync-chains as the job: the sync_jobs row of a success, a failure,
 * a SIGTERM, a SIGKILL and a run that finds the lock held. The real CLI against the replica.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { cliEnv, collect, runCli, spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

const KEY = 'tracking-secret-key-8c1f2e';

const t = await useTestDatabase();
let replica: TestReplica;

before(async () => {
  replica = await startTestReplica();
});
after(async () => {
  await replica.close();
});

const env = (extra: Record<string, string> = {}) => cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'info', ...replica.env(), ...extra });

async function runs() {
  return t.db.manyOrNone(`SELECT * FROM sync_jobs WHERE job_name = 'sync-chains' ORDER BY id`);
}
const lastRun = async () => (await runs()).at(-1)!;

async function statusOf(job: string): Promise<{ lastStatus: string; error: string | null }> {
  const r = await runCli(['status', '--json'], env());
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { jobs: { job: string; lastStatus: string; error: string | null }[] }).jobs.find((j) => j.job === job)!;
}

/** Starts sync-chains with its API call held by the replica, and waits until the call is in flight. */
async function startHeld() {
  replica.setFault('/v2/chains', { kind: 'slow', delayMs: 60_000 });
  const calls = replica.requests('/v2/chains');
  const child = spawnCli(['sync-chains'], env());
  const result = collect(child, 30_000);
  for (let i = 0; i < 600 && replica.requests('/v2/chains') === calls; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(replica.requests('/v2/chains') > calls, 'the run reached its API call');
  return { child, result };
}

test('a successful run leaves a succeeded row with its counts, host, pid and trigger', async () => {
  const child = spawnCli(['sync-chains'], env());
  const r = await collect(child);
  assert.equal(r.code, 0, r.stderr);
  const row = await lastRun();
  assert.equal(row.status, 'succeeded');
  assert.equal(row.trigger, 'manual');
  assert.equal(row.pid, child.pid);
  assert.ok(row.host);
  assert.ok(row.finished_at >= row.started_at);
  assert.ok(row.duration_ms >= 0);
  assert.ok(row.records_processed > 0);
  assert.equal(row.records_created, row.records_processed);
  assert.equal(row.api_calls, 1);
  assert.equal(row.error_message, null);
  assert.equal((await runCli(['status', '--check'], env())).code, 0);
});

test('a failing API (HTML page, then 500s after retries) exits 1 with a failed row whose message is redacted', async () => {
  for (const fault of [{ kind: 'html' as const }, { kind: 'status' as const, status: 500, retryAfter: 0 }]) {
    replica.setFault('/v2/chains', fault);
    try {
      const r = await runCli(['sync-chains'], env({ DEFILLAMA_API_KEY: KEY }));
      assert.equal(r.code, 1, r.stderr);
      const row = await lastRun();
      assert.equal(row.status, 'failed');
      assert.match(row.error_message, fault.kind === 'html' ? /HTML page instead of JSON/ : /HTTP 500/);
      assert.match(row.error_message, /\/v2\/chains/);
      assert.match(row.error_message, /\*\*\*/, 'the key in the URL is masked');
      for (const text of [row.error_message, JSON.stringify(row), r.stdout, r.stderr]) assert.ok(!text.includes(KEY), 'the key appears nowhere');
      if (fault.kind === 'status') assert.equal(row.retries, 3);
    } finally {
      replica.setFault('/v2/chains', null);
    }
  }
  assert.equal((await runCli(['status', '--check'], env())).code, 1, 'a failed last run needs attention');
});

test('SIGTERM mid-run exits 143 within a few seconds and records cancelled; another client with the same application_name is left alone', async () => {
  const { child, result } = await startHeld();
  // Another client named as this run is (in containers every run's pid is 1).
  const other = new pg.Client({ connectionString: t.url, application_name: `defi-sync:sync-chains:${child.pid}` });
  await other.connect();
  const sleeping = other.query('SELECT pg_sleep(60)');
  let otherSettled = false;
  sleeping.then(() => (otherSettled = true), () => (otherSettled = true));
  try {
    for (let i = 0; i < 400 && !(await t.db.oneOrNone(`SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'`)); i++) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGTERM');
    const r = await result;
    assert.equal(r.code, 143, r.stderr);
    const row = await lastRun();
    assert.equal(row.status, 'cancelled');
    assert.equal(row.pid, child.pid);
    assert.match(row.error_message, /cancel/i);
    assert.ok(row.finished_at);
    assert.equal(otherSettled, false, "the other client's statement was not cancelled");
    assert.ok(await t.db.oneOrNone(`SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'`));
  } finally {
    replica.setFault('/v2/chains', null);
    await t.db.any(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'`);
    await sleeping.catch(() => undefined);
    await other.end();
  }
});

test('a second concurrent run exits 0 at once with a skipped row; the first is not disturbed; a distinct code on request', async () => {
  const { child, result } = await startHeld();
  try {
    const second = await runCli(['sync-chains'], env(), { timeoutMs: 20_000 });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /another run of sync-chains holds its lock/);
    const rows = await runs();
    const skipped = rows.at(-1)!;
    assert.equal(skipped.status, 'skipped');
    assert.match(skipped.error_message, new RegExp(`run ${rows.at(-2)!.id} started`));
    assert.equal(rows.at(-2)!.status, 'running');
    // Scripts that must tell a skip from a success ask for a code of their own.
    const byOption = await runCli(['--skipped-exit-code', '75', 'sync-chains'], env({ SKIPPED_EXIT_CODE: '3' }), { timeoutMs: 20_000 });
    assert.equal(byOption.code, 75, byOption.stderr);
    const byEnv = await runCli(['sync-chains'], env({ SKIPPED_EXIT_CODE: '3' }), { timeoutMs: 20_000 });
    assert.equal(byEnv.code, 3, byEnv.stderr);
    assert.deepEqual((await runs()).slice(-3).map((r) => r.status), ['skipped', 'skipped', 'skipped']);
    // run-all cannot go on without the skipped step: an incomplete pipeline is a failure.
    const all = await runCli(['run-all'], env(), { timeoutMs: 20_000 });
    assert.equal(all.code, 1, all.stderr);
    assert.match(all.stderr, /run-all stopped: sync-chains was skipped because another run holds its lock, so sync-protocols, .*create-snapshots did not run/);
    assert.equal((await runs()).at(-1)!.status, 'skipped');
    const bad = await runCli(['sync-chains', '--skipped-exit-code', '300'], env(), { timeoutMs: 20_000 });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim(), "error: option '--skipped-exit-code <code>' argument '300' is invalid. It must be an exit code from 0 to 255.");
  } finally {
    replica.setFault('/v2/chains', null);
    child.kill('SIGTERM');
    await result;
  }
  const status = await statusOf('sync-chains');
  assert.equal(status.lastStatus, 'cancelled', 'a skipped run does not hide the last real one');
  assert.equal((await runCli(['status', '--check'], env())).code, 0, 'nor is a skip a reason for attention');
});

test('run-all frees each step\'s lock when the step ends: while a later step runs, the finished one runs on its own', async () => {
  // run-all runs its steps in one process with one pool, so a lock not given back would outlive
  // its step (the connection returns to the pool still holding it) until run-all exits.
  replica.setFault('/protocols', { kind: 'slow', delayMs: 60_000 });
  const calls = replica.requests('/protocols');
  const all = spawnCli(['run-all'], env());
  const result = collect(all, 60_000);
  try {
    for (let i = 0; i < 600 && replica.requests('/protocols') === calls; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(replica.requests('/protocols') > calls, 'run-all reached sync-protocols');
    const held = async (job: string) => (await t.db.one<{ held: boolean }>('SELECT job_lock_held($1) AS held', [job])).held;
    assert.equal(await held('sync-protocols'), true, 'the running step holds its lock');
    assert.equal(await held('sync-chains'), false, 'the finished step gave its lock back');
    const own = spawnCli(['sync-chains'], env());
    const ownResult = await collect(own, 30_000);
    assert.equal(ownResult.code, 0, ownResult.stderr);
    assert.doesNotMatch(ownResult.stderr, /holds its lock/);
    assert.deepEqual((await runs()).slice(-2).map((r) => [r.status, r.pid]), [['succeeded', all.pid], ['succeeded', own.pid]]);
  } finally {
    replica.setFault('/protocols', null);
    all.kill('SIGTERM');
  }
  const r = await result;
  assert.equal(r.code, 143, r.stderr);
});

test('SIGKILL leaves a running row that status reports as abandoned, and status --check exits 1', async () => {
  assert.equal((await runCli(['sync-chains'], env())).code, 0);
  assert.equal((await runCli(['status', '--check'], env())).code, 0);
  const { child, result } = await startHeld();
  try {
    child.kill('SIGKILL');
    const r = await result;
    assert.equal(r.signal, 'SIGKILL');
  } finally {
    replica.setFault('/v2/chains', null);
  }
  assert.equal((await lastRun()).status, 'running', 'nobody could record an outcome');
  assert.equal((await statusOf('sync-chains')).lastStatus, 'abandoned');
  const check = await runCli(['status', '--check'], env());
  assert.equal(check.code, 1);
  assert.match(check.stdout, /sync-chains \(last run was abandoned/);
  // The next run takes the lock, marks the dead row abandoned and succeeds.
  assert.equal((await runCli(['sync-chains'], env())).code, 0);
  const rows = await runs();
  assert.deepEqual(rows.slice(-2).map((x) => x.status), ['abandoned', 'succeeded']);
});
