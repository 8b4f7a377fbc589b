/**
 * runJob in-process with small test jobs against a real PostgreSQL: what the sync_jobs row says
 * when a run is stopped before its job starts, fails, or is stopped as its job returns, and which
 * dead runs a run marks abandoned.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/connection.js';
import { CancelledError, LockHeldError } from '../../src/errors.js';
import { tryJobLock } from '../../src/db/locks.js';
import type { JobContext, JobDefinition } from '../../src/jobs/types.js';
import { registerSecret } from '../../src/redact.js';
import { runJob } from '../../src/runs/job-runner.js';
import { useTestDatabase } from '../helpers/db.js';

const SECRET = 'runner-secret-Qw7zK2p';

const t = await useTestDatabase();
let database: Database;

before(async () => {
  database = openDatabase(t.url, 'job-runner-test');
  registerSecret(SECRET);
});
after(async () => {
  await database?.close();
});

function testJob(name: string, run: (ctx: JobContext) => Promise<void>, instance?: string): JobDefinition {
  return { name, schedule: '0 1 * * *', priority: 'high', description: 'test job', load: async () => ({ run }), ...(instance ? { instance: () => instance } : {}) };
}

const run = (job: JobDefinition, signal = new AbortController().signal, options: Record<string, unknown> = {}) =>
  runJob({ job, config: loadConfig({}), db: database.db, options, signal });

const rows = (job: string) => t.db.manyOrNone(`SELECT * FROM sync_jobs WHERE job_name = $1 ORDER BY id`, [job]);
const lockHeld = async (job: string) => (await t.db.one<{ held: boolean }>('SELECT job_lock_held($1) AS held', [job])).held;

test('a run that finds the lock held records a skipped row naming the run that holds it, and does nothing', async () => {
  let ran = false;
  const job = testJob('probe-held', async () => void (ran = true));
  const holder = await tryJobLock(database.db, 'probe-held');
  assert.ok(holder);
  try {
    await assert.rejects(run(job, undefined, { token: SECRET }), (e: unknown) => e instanceof LockHeldError && e.message === 'another run of probe-held holds its lock; this run was skipped');
    const { id } = await t.db.one(`INSERT INTO sync_jobs (job_name, status, trigger, host, started_at) VALUES ('probe-held', 'running', 'manual', 'pod-7', '2026-01-02T03:04:05Z') RETURNING id`);
    await assert.rejects(run(job), (e: unknown) => e instanceof LockHeldError && e.message === `another run of probe-held holds its lock (run ${id} started 2026-01-02T03:04:05.000Z on pod-7); this run was skipped`);
    await t.db.none(`UPDATE sync_jobs SET host = NULL WHERE id = $1`, [id]);
    await assert.rejects(run(job), /\(run \d+ started 2026-01-02T03:04:05.000Z on an unknown host\)/);
  } finally {
    await holder.release();
  }
  assert.equal(ran, false);
  const skipped = (await rows('probe-held')).filter((r) => r.status === 'skipped');
  assert.equal(skipped.length, 3);
  assert.match(skipped[1]!.error_message, /^another run of probe-held holds its lock \(run \d+ started/);
  assert.deepEqual(skipped[0]!.args, { token: '***' });
  assert.ok(skipped.every((r) => r.finished_at && r.duration_ms === 0 && r.pid === process.pid && r.trigger === 'manual'));
});

test('a successful run records its counts, host, pid and trigger', async () => {
  const outcome = await runJob({
    job: testJob('probe-ok', async (ctx) => {
      ctx.stats.processed = 5;
      ctx.stats.created = 4;
      ctx.stats.unchanged = 1;
      ctx.stats.details = { pages: 2 };
    }),
    config: loadConfig({}), db: database.db, options: { force: true }, signal: new AbortController().signal, trigger: 'schedule',
  });
  assert.equal(outcome.status, 'succeeded');
  assert.equal(outcome.stats.processed, 5);
  const [row] = await rows('probe-ok');
  assert.equal(row.id, outcome.runId);
  assert.deepEqual([row.status, row.trigger, row.pid, row.error_message], ['succeeded', 'schedule', process.pid, null]);
  assert.deepEqual([row.records_processed, row.records_created, row.records_unchanged, row.records_failed], [5, 4, 1, 0]);
  assert.deepEqual([row.args, row.details], [{ force: true }, { pages: 2 }]);
  assert.ok(row.host && row.finished_at >= row.started_at && row.duration_ms >= 0);
  assert.equal(await lockHeld('probe-ok'), false);
});

test('a run stopped before its job starts is recorded cancelled, and the job does nothing', async () => {
  let ran = false;
  const controller = new AbortController();
  controller.abort(new CancelledError('received SIGTERM'));
  await assert.rejects(run(testJob('probe-early', async () => void (ran = true)), controller.signal), CancelledError);
  assert.equal(ran, false);
  const [row] = await rows('probe-early');
  assert.equal(row.status, 'cancelled');
  assert.equal(row.error_message, 'cancelled before it started');
  assert.ok(row.finished_at);
  assert.equal(await lockHeld('probe-early'), false);
});

test('a failed run keeps its counts so far; its message and details are masked and the message cut to 2000 characters', async () => {
  const job = testJob('probe-fails', async (ctx) => {
    ctx.stats.processed = 7;
    ctx.stats.failed = 2;
    ctx.stats.apiCalls = 3;
    ctx.stats.details = { source: `https://api.example/${SECRET}/v2` };
    throw new Error(`upstream said ${SECRET}: ${'x'.repeat(2100)}`);
  });
  await assert.rejects(run(job, undefined, { token: SECRET }), /upstream said/);
  const [row] = await rows('probe-fails');
  assert.equal(row.status, 'failed');
  assert.deepEqual([row.records_processed, row.records_failed, row.api_calls, row.records_created], [7, 2, 3, 0]);
  assert.equal(row.error_message.length, 2000);
  assert.ok(row.error_message.startsWith('upstream said ***: xxx'), row.error_message.slice(0, 40));
  assert.deepEqual(row.details, { source: 'https://api.example/***/v2' });
  assert.deepEqual(row.args, { token: '***' });
  assert.equal(await lockHeld('probe-fails'), false);
});

test('a run whose job returns after SIGTERM is recorded cancelled with its counts', async () => {
  const controller = new AbortController();
  const job = testJob('probe-late', async (ctx) => {
    ctx.stats.processed = 1;
    controller.abort(new CancelledError('received SIGTERM'));
  });
  await assert.rejects(run(job, controller.signal), (e: unknown) => e instanceof CancelledError && e.message === 'probe-late was cancelled');
  const [row] = await rows('probe-late');
  assert.equal(row.status, 'cancelled');
  assert.equal(row.records_processed, 1);
});

test('a shard marks abandoned only the dead running rows of its own instance', async () => {
  const job = 'probe-shard';
  for (const args of [{ instance: '0/2' }, { instance: '1/2' }, {}]) {
    await t.db.none(`INSERT INTO sync_jobs (job_name, status, trigger, args) VALUES ($1, 'running', 'manual', $2)`, [job, args]);
  }
  const outcome = await run(testJob(job, async () => undefined, '0/2'), undefined, { shard: '0/2' });
  assert.equal(outcome.status, 'succeeded');
  const after = await rows(job);
  assert.deepEqual(after.map((r) => [r.args, r.status]), [
    [{ instance: '0/2' }, 'abandoned'],
    [{ instance: '1/2' }, 'running'],
    [{}, 'running'],
    [{ shard: '0/2', instance: '0/2' }, 'succeeded'],
  ]);
  assert.match(after[0]!.error_message, /stopped without recording an outcome/);
  assert.ok(after[0]!.finished_at);
  assert.equal(after[1]!.finished_at, null);
  assert.equal(await lockHeld(`${job}/0/2`), false);
  // A run of the whole job holds the lock of the whole job: the unsharded dead row is its own.
  await run(testJob(job, async () => undefined));
  assert.deepEqual((await rows(job)).map((r) => r.status), ['abandoned', 'running', 'abandoned', 'succeeded', 'succeeded']);
});
