/** Shards of sync-historical run side by side and together cover every item exactly once. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cliEnv, collect, runCli, spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

const t = await useTestDatabase();
let replica: TestReplica;
let env: NodeJS.ProcessEnv;

before(async () => {
  replica = await startTestReplica({ pools: 60, protocols: 30 });
  env = cliEnv({ DATABASE_URL: t.url, ...replica.env(), API_RATE_LIMIT_MS: '2' });
  for (const job of ['sync-protocols', 'sync-pools']) {
    const r = await runCli([job], env);
    assert.equal(r.code, 0, r.stderr);
  }
});
after(async () => {
  await replica.close();
});

test('two shards at once, one by --shard and one as an Indexed Job pod, cover every item exactly once', async () => {
  const { pools, protocols } = await t.db.one(`SELECT (SELECT count(*) FROM pools WHERE is_active) AS pools, (SELECT count(*) FROM protocols WHERE is_active) AS protocols`);
  replica.setFault('*', { kind: 'slow', delayMs: 15 }); // long enough for the two runs to overlap
  const [a, b] = await Promise.all([
    collect(spawnCli(['sync-historical', '--all', '--shard', '0/2'], env)),
    collect(spawnCli(['sync-historical', '--all'], { ...env, JOB_COMPLETION_INDEX: '1', JOB_COMPLETIONS: '2' })),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);

  // Every item was asked for once, by one shard or the other.
  assert.equal(replica.requests('/chart/*'), pools);
  assert.equal(replica.requests('/protocol/*'), protocols);
  const runs = await t.db.many(`SELECT id, args, details, records_processed, started_at, finished_at FROM sync_jobs WHERE job_name = 'sync-historical' ORDER BY args->>'instance'`);
  assert.deepEqual(runs.map((r) => r.args.instance), ['shard-0-of-2', 'shard-1-of-2']);
  assert.ok(runs[0].started_at < runs[1].finished_at && runs[1].started_at < runs[0].finished_at, 'the shards ran at the same time');
  for (const r of runs) assert.equal(r.details.rateLimitMs, 4, 'each shard takes half the request budget');

  const items = await t.db.many(`SELECT item_kind, item_id, run_id FROM history_backfill_items`);
  assert.equal(items.length, pools + protocols, 'every item was backfilled');
  for (const r of runs) {
    const mine = items.filter((i) => i.run_id === r.id).length;
    assert.equal(mine, r.records_processed);
    assert.equal(mine, r.details.items.inShard);
    assert.ok(mine > (pools + protocols) / 4, 'the split is not lopsided');
  }
  assert.equal(runs[0].records_processed + runs[1].records_processed, pools + protocols, 'no item was done by both shards');
  assert.equal(runs[0].details.items.selected, runs[1].details.items.selected);
});

test('the same shard twice at once: the second run is refused by that shard\'s lock', async () => {
  // The first run is held (by a table lock) after taking its shard's lock, whatever the machine's speed.
  const first = await startHeld(['--shard', '1/3']);
  // The running shard holds its own lock: the status view does not take it for dead.
  assert.equal((await t.db.one(`SELECT status FROM v_sync_status WHERE job_name = 'sync-historical'`)).status, 'running');
  const second = await runCli(['sync-historical', '--only', 'protocols', '--all', '--shard', '1/3'], env);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /another run of sync-historical holds its lock/);
  // Another shard takes its own lock meanwhile (then waits for the same table lock as the first).
  const other = collect(spawnCli(['sync-historical', '--only', 'protocols', '--all', '--shard', '2/3'], env));
  await waitFor('the other shard has started', async () => (await t.db.one(`SELECT count(*)::int AS n FROM sync_jobs WHERE job_name = 'sync-historical' AND status = 'running'`)).n === 2);
  assert.equal((await first()).code, 0);
  const done = await other;
  assert.equal(done.code, 0, done.stderr);
  assert.doesNotMatch(done.stderr, /holds its lock/, 'another shard is not blocked');
  assert.equal((await lastRow()).status, 'succeeded');
});

/** Starts a run held by a table lock, and resolves once it has taken its own lock and started. */
async function startHeld(args: readonly string[], extra: NodeJS.ProcessEnv = {}) {
  replica.clearFaults();
  const holder = await t.db.connect();
  await holder.none('BEGIN');
  await holder.none('LOCK TABLE history_backfill_passes IN ACCESS EXCLUSIVE MODE');
  const child = spawnCli(['sync-historical', '--only', 'protocols', '--all', ...args], { ...env, ...extra });
  const done = collect(child);
  await new Promise((resolve) => child.stdout!.on('data', (d) => String(d).includes('started') && resolve(undefined)));
  return async () => {
    await holder.none('ROLLBACK');
    holder.done();
    return done;
  };
}

const lastRow = () => t.db.one(`SELECT status, args, error_message FROM sync_jobs WHERE job_name = 'sync-historical' ORDER BY id DESC LIMIT 1`);

test('an unsharded run and the shards never overlap: whichever comes second is skipped', async () => {
  const shard = await startHeld([], { JOB_COMPLETION_INDEX: '0', JOB_COMPLETIONS: '2' });
  const whole = await runCli(['sync-historical', '--only', 'protocols', '--all'], env);
  assert.equal(whole.code, 0, whole.stderr);
  assert.match(whole.stderr, /another run of sync-historical holds its lock/);
  assert.equal((await lastRow()).status, 'skipped');
  assert.equal((await shard()).code, 0);

  const unsharded = await startHeld([]);
  const shards = await Promise.all(['0/2', '1/2'].map((s) => runCli(['sync-historical', '--only', 'protocols', '--all', '--shard', s], env)));
  for (const r of shards) {
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /another run of sync-historical holds its lock/);
  }
  const skipped = await t.db.many(`SELECT args FROM sync_jobs WHERE job_name = 'sync-historical' AND status = 'skipped' ORDER BY id DESC LIMIT 2`);
  assert.deepEqual(skipped.map((r) => r.args.shard).sort(), ['0/2', '1/2']);
  assert.equal((await unsharded()).code, 0);
});

test('the request budget is split across the shards that run at once (JOB_PARALLELISM), not all of them', async () => {
  replica.clearFaults();
  const r = await runCli(['sync-historical', '--only', 'protocols', '--all'], { ...env, JOB_COMPLETION_INDEX: '3', JOB_COMPLETIONS: '4', JOB_PARALLELISM: '2' });
  assert.equal(r.code, 0, r.stderr);
  const row = await t.db.one(`SELECT args, details FROM sync_jobs WHERE job_name = 'sync-historical' ORDER BY id DESC LIMIT 1`);
  assert.equal(row.args.instance, 'shard-3-of-4');
  assert.equal(row.details.rateLimitMs, 4, 'two pods at once share API_RATE_LIMIT_MS (2 ms)');
});

test("a shard's configuration error exits 2 (the chart fails that index only) and records nothing", async () => {
  const before = (await t.db.one(`SELECT count(*) AS n FROM sync_jobs`)).n;
  for (const [extra, message] of [
    [{ JOB_COMPLETION_INDEX: '4', JOB_COMPLETIONS: '4' }, /JOB_COMPLETION_INDEX must be below JOB_COMPLETIONS/],
    [{ JOB_COMPLETION_INDEX: '1', JOB_COMPLETIONS: '4', JOB_PARALLELISM: '0' }, /JOB_PARALLELISM must be a whole number from 1 to 1000, got "0"/],
  ] as const) {
    const r = await runCli(['sync-historical'], { ...env, ...extra });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
  assert.equal((await t.db.one(`SELECT count(*) AS n FROM sync_jobs`)).n, before);
});
