/** Missing items are skipped and counted; too many failures fail the run; bad options exit 2. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';
import { insertPools, insertProtocols, lastRun } from './fixtures.js';

const t = await useTestDatabase();
let replica: TestReplica;
let env: NodeJS.ProcessEnv;
const GHOST_POOL = 'ffffffff-0000-4000-8000-00000000dead';

before(async () => {
  replica = await startTestReplica({ pools: 60, protocols: 30 });
  env = cliEnv({ DATABASE_URL: t.url, ...replica.env() });
  for (const job of ['sync-protocols', 'sync-pools']) {
    const r = await runCli([job], env);
    assert.equal(r.code, 0, r.stderr);
  }
  // Items the warehouse knows but DeFiLlama no longer has, large enough to be in the top 10.
  await insertProtocols(t.db, [{ id: '999999', slug: 'vanished-protocol', tvl: 1e15 }]);
  await insertPools(t.db, [{ pool_id: GHOST_POOL, tvl_usd: 1e15 }]);
  replica.setFault(`/chart/${GHOST_POOL}`, { kind: 'status', status: 400, body: '"invalid configID!"' });
});
after(async () => {
  await replica.close();
});

test('items missing upstream are skipped, recorded and counted; the run succeeds within the threshold', async () => {
  const r = await runCli(['sync-historical', '--top', '10'], env);
  assert.equal(r.code, 0, r.stderr);
  const run = await lastRun(t.db, 'sync-historical');
  assert.deepEqual([run.status, run.records_processed, run.records_failed], ['succeeded', 20, 2]);
  assert.deepEqual([run.details.items.done, run.details.items.notFound, run.details.items.failed], [18, 2, 0]);
  const missing = await t.db.many(`SELECT item_kind, item_id, status, error FROM history_backfill_items WHERE status <> 'done' ORDER BY 1`);
  assert.deepEqual(missing.map((m) => [m.item_kind, m.item_id, m.status]), [['pool', GHOST_POOL, 'not_found'], ['protocol', '999999', 'not_found']]);
  assert.match(missing[0].error, /pool ffffffff-0000-4000-8000-00000000dead not found upstream \(HTTP 400/);
  assert.match(missing[1].error, /protocol vanished-protocol not found upstream \(HTTP 400.*Protocol not found/);
  assert.deepEqual(run.details.failures.map((f: { id: string }) => f.id).sort(), [GHOST_POOL, '999999'].sort());
  assert.equal((await t.db.one(`SELECT count(*) AS n FROM pool_daily_snapshots WHERE pool_id = $1`, [GHOST_POOL])).n, 0);
});

test('past --max-failed-share the run stops early and fails; the rerun retries only what is not done', async () => {
  replica.setFault('/chart/*', { kind: 'status', status: 403 }); // refused, and not retried
  const r = await runCli(['sync-historical', '--only', 'pools', '--top', '10', '--max-failed-share', '0.3'], env);
  assert.equal(r.code, 1, r.stderr);
  // The 4th failure (more than 0.3 of 10) stops the run; the items already in flight still finish.
  const m = /defi-sync: (\d+) of 10 items failed or were not found \(\d+\.\d%\), more than --max-failed-share 0\.3 allows, so the run stopped early with (\d+) items not attempted; the pass stays open/.exec(r.stderr);
  assert.ok(m, r.stderr);
  const [failedCount, notAttempted] = [Number(m[1]), Number(m[2])];
  assert.ok(failedCount >= 4 && failedCount < 4 + 4 && notAttempted === 10 - failedCount, r.stderr);
  let run = await lastRun(t.db, 'sync-historical');
  assert.equal(run.status, 'failed');
  assert.deepEqual([run.records_processed, run.records_failed], [failedCount, failedCount]);
  // The ghost pool's own fault (400) wins over the 403 of every other chart.
  const failed = await t.db.many(`SELECT item_id, status, error FROM history_backfill_items WHERE run_id = (SELECT max(id) FROM sync_jobs) ORDER BY status`);
  assert.equal(failed.length, failedCount);
  assert.deepEqual(failed.filter((f) => f.status === 'not_found').map((f) => f.item_id), [GHOST_POOL]);
  assert.ok(failed.filter((f) => f.status === 'failed').every((f) => /HTTP 403/.test(f.error)), JSON.stringify(failed));

  replica.setFault('/chart/*', null);
  replica.resetRequests();
  const again = await runCli(['sync-historical', '--only', 'pools', '--top', '10', '--max-failed-share', '0.3'], env);
  assert.equal(again.code, 0, again.stderr);
  run = await lastRun(t.db, 'sync-historical');
  assert.equal(run.details.pass.resumed, true);
  // Not attempted and failed items are retried; the ghost pool, recorded as not found in this pass, is not.
  assert.deepEqual([run.details.items.alreadyDone, run.details.items.todo], [1, 9]);
  assert.equal(replica.requests('/chart/*'), 9);
  assert.deepEqual([run.details.items.done, run.details.items.notFound, run.details.items.failed], [9, 0, 0]);
  assert.deepEqual(await t.db.manyOrNone(`SELECT item_id FROM history_backfill_items WHERE status = 'failed'`), []);
});

test('the threshold 0 fails a run on a single missing item', async () => {
  const r = await runCli(['sync-historical', '--pool', GHOST_POOL, '--max-failed-share', '0'], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /1 of 1 items failed or were not found \(100\.0%\), more than --max-failed-share 0 allows/);
});

test('bad options exit 2 with one clear sentence, before any work (every rule: options.test.ts)', async () => {
  const before = await t.db.one(`SELECT (SELECT count(*) FROM history_backfill_items) AS items, (SELECT count(*) FROM history_backfill_passes) AS passes, (SELECT count(*) FROM sync_jobs) AS runs`);
  const cases: [string[], Record<string, string>, RegExp][] = [
    [['--top', '0'], {}, /option '--top <n>' argument '0' is invalid\. It must be a whole number from 1 to 1000000\./],
    [['--shard', '2/2'], {}, /option '--shard <i\/n>' argument '2\/2' is invalid\. It must be i\/n with 1 <= n <= 1000 and 0 <= i < n/],
    [['--all', '--pool', '747c1d2a-c668-4682-b9f9-296708a3dd90'], {}, /option '--pool <id>' cannot be used with option '--all'/],
    [[], { JOB_COMPLETION_INDEX: '1' }, /JOB_COMPLETION_INDEX is 1 but JOB_COMPLETIONS is not set/],
  ];
  const results = await Promise.all(cases.map(([args, extra]) => runCli(['sync-historical', ...args], { ...env, ...extra })));
  results.forEach((r, i) => {
    assert.equal(r.code, 2, `${cases[i]![0].join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, cases[i]![2]);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  });
  assert.deepEqual(
    await t.db.one(`SELECT (SELECT count(*) FROM history_backfill_items) AS items, (SELECT count(*) FROM history_backfill_passes) AS passes, (SELECT count(*) FROM sync_jobs) AS runs`),
    before,
    'not even a sync_jobs row: the options are checked before the run starts',
  );
  // A slug is checked against the warehouse, so inside the run: exit 2 and a failed row, no pass.
  const unknown = await runCli(['sync-historical', '--protocol', 'no-such-slug'], env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no protocol with slug or id "no-such-slug" in the warehouse: run sync-protocols first, or check the slug/);
  assert.equal((await t.db.one(`SELECT count(*) AS n FROM history_backfill_passes`)).n, before.passes);
});
