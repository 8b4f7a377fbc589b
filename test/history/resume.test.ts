/** A backfill killed with SIGKILL mid-run leaves whole items only; the rerun finishes the rest. */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { cliEnv, collect, runCli, spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';
import { lastRun } from './fixtures.js';

const t = await useTestDatabase();
let replica: TestReplica;
let env: NodeJS.ProcessEnv;

before(async () => {
  replica = await startTestReplica({ pools: 140, protocols: 10 });
  env = cliEnv({ DATABASE_URL: t.url, ...replica.env() });
  const r = await runCli(['sync-pools'], env);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await replica.close();
});

const doneItems = () => t.db.one<{ n: number }>(`SELECT count(*) AS n FROM history_backfill_items WHERE status = 'done'`).then((r) => r.n);

test('SIGKILL mid-run, then a rerun completes without duplicates and without redoing finished items', async () => {
  const pools = (await t.db.one(`SELECT count(*) AS n FROM pools WHERE is_active`)).n as number;
  // Slow answers keep the run going long enough to be killed in the middle.
  replica.setFault('/chart/*', { kind: 'slow', delayMs: 120 });
  const child = spawnCli(['sync-historical', '--only', 'pools', '--all'], env);
  const exited = collect(child);
  const deadline = Date.now() + 60_000;
  while ((await doneItems()) < 30) {
    assert.ok(Date.now() < deadline, 'the run made no progress');
    await sleep(50);
  }
  child.kill('SIGKILL');
  const killed = await exited;
  assert.equal(killed.signal, 'SIGKILL');

  const finished = await doneItems();
  assert.ok(finished >= 30 && finished < pools, `killed in the middle (${finished} of ${pools} done)`);
  const firstRun = await t.db.one(`SELECT id, status FROM sync_jobs WHERE job_name = 'sync-historical'`);
  assert.equal(firstRun.status, 'running', 'the killed run could not record an outcome');
  // Whole items only: a pool has rows if and only if it is marked done, and then all its days.
  const partial = await t.db.manyOrNone(`
    SELECT p.pool_id, h.days, (SELECT count(*) FROM pool_daily_snapshots s WHERE s.pool_id = p.pool_id) AS rows
    FROM pools p LEFT JOIN history_backfill_items h ON h.item_kind = 'pool' AND h.item_id = p.pool_id
    WHERE (SELECT count(*) FROM pool_daily_snapshots s WHERE s.pool_id = p.pool_id) <> coalesce(h.days, 0)`);
  assert.deepEqual(partial, []);

  replica.clearFaults();
  replica.resetRequests();
  const rerun = await runCli(['sync-historical', '--only', 'pools', '--all'], env);
  assert.equal(rerun.code, 0, rerun.stderr);
  assert.match(rerun.stdout, new RegExp(`resuming backfill pass \\d+: ${finished} items already done, ${pools - finished} to go`));
  assert.equal(replica.requests('/chart/*'), pools - finished, 'only the unfinished pools are fetched again');

  const run = await lastRun(t.db, 'sync-historical');
  assert.equal(run.status, 'succeeded');
  assert.equal(run.details.pass.resumed, true);
  assert.deepEqual([run.details.items.alreadyDone, run.details.items.todo, run.records_processed], [finished, pools - finished, pools - finished]);
  assert.equal((await t.db.one(`SELECT status FROM sync_jobs WHERE id = $1`, [firstRun.id])).status, 'abandoned');

  const byRun = await t.db.many(`SELECT run_id, count(*) AS n FROM history_backfill_items GROUP BY 1 ORDER BY 1`);
  assert.deepEqual(byRun, [
    { run_id: firstRun.id, n: finished },
    { run_id: (await t.db.one(`SELECT max(id) AS id FROM sync_jobs WHERE job_name = 'sync-historical'`)).id, n: pools - finished },
  ]);
  const mismatched = await t.db.manyOrNone(`
    SELECT h.item_id FROM history_backfill_items h
    WHERE h.status <> 'done' OR h.days <> (SELECT count(*) FROM pool_daily_snapshots s WHERE s.pool_id = h.item_id)`);
  assert.deepEqual(mismatched, [], 'every pool is done with exactly one row per day of its history');
  const passes = await t.db.many(`SELECT runs, finished_at IS NOT NULL AS finished FROM history_backfill_passes`);
  assert.deepEqual(passes, [{ runs: 2, finished: true }]);
});

test('SIGTERM mid-run: the run is recorded as cancelled, exits 143, and the next run resumes the pass', async () => {
  await t.db.none('TRUNCATE history_backfill_items, history_backfill_passes, pool_daily_snapshots');
  replica.setFault('/chart/*', { kind: 'slow', delayMs: 120 });
  const child = spawnCli(['sync-historical', '--only', 'pools', '--top', '80'], env);
  const exited = collect(child);
  const deadline = Date.now() + 60_000;
  while ((await doneItems()) < 15) {
    assert.ok(Date.now() < deadline, 'the run made no progress');
    await sleep(50);
  }
  child.kill('SIGTERM');
  const stopped = await exited;
  assert.equal(stopped.code, 143, stopped.stderr);
  const run = await lastRun(t.db, 'sync-historical');
  assert.equal(run.status, 'cancelled');
  const finished = await doneItems();
  assert.ok(finished < 80);
  assert.equal(run.details.items.done, finished, 'the recorded counts match what was committed');
  const partial = await t.db.manyOrNone(`
    SELECT h.item_id FROM history_backfill_items h
    WHERE h.days <> (SELECT count(*) FROM pool_daily_snapshots s WHERE s.pool_id = h.item_id)`);
  assert.deepEqual(partial, []);
  assert.equal((await t.db.one(`SELECT count(DISTINCT pool_id) AS n FROM pool_daily_snapshots`)).n, finished, 'no rows of unfinished pools');

  replica.clearFaults();
  const rerun = await runCli(['sync-historical', '--only', 'pools', '--top', '80'], env);
  assert.equal(rerun.code, 0, rerun.stderr);
  const resumed = await lastRun(t.db, 'sync-historical');
  assert.deepEqual([resumed.details.pass.resumed, resumed.details.items.alreadyDone, resumed.records_processed], [true, finished, 80 - finished]);
});
