/**
 * map-contracts, create-snapshots, cleanup-old-data and one sync-historical item each write in one
 * transaction: a failure of the LAST statement they issue (or a SIGTERM while they write) leaves
 * every table as it was. Each test has its own database and can run alone.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import pg from 'pg';
import { addDays, utcDate } from '../../src/history/dates.js';
import { cliEnv, collect, runCli, spawnCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';
import { failWhen, lastRunId, snapshotTables } from '../helpers/tables.js';
import { insertPools, insertProtocols, poolId } from '../history/fixtures.js';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  await Promise.all(cleanups.map((c) => c()));
});

async function database(): Promise<TestDatabase> {
  const t = await createTestDatabase();
  cleanups.push(() => t.drop());
  return t;
}

async function replicaFor(options = {}): Promise<TestReplica> {
  const r = await startTestReplica(options);
  cleanups.push(() => r.close());
  return r;
}

async function ok(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const r = await runCli(args, env);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
}

async function lastRunOf(t: TestDatabase, job: string) {
  return t.db.one('SELECT * FROM sync_jobs WHERE job_name = $1 ORDER BY id DESC LIMIT 1', [job]);
}

/** Runs `args`, expecting it to fail on the injected failure with every table unchanged. */
async function failsChangingNothing(t: TestDatabase, args: string[], env: NodeJS.ProcessEnv, inject: () => Promise<() => Promise<void>>): Promise<void> {
  const runsBefore = await lastRunId(t.db);
  const before = await snapshotTables(t.db, runsBefore);
  const restore = await inject();
  const r = await runCli(args, env);
  await restore();
  assert.equal(r.code, 1, `${args.join(' ')} fails: ${r.stderr}`);
  assert.match(r.stderr, /injected failure/);
  assert.deepEqual(await snapshotTables(t.db, runsBefore), before, 'every table as before');
  assert.equal((await t.db.one('SELECT status FROM sync_jobs WHERE id > $1', [runsBefore])).status, 'failed');
}

/** A second session holding `lockSql` (e.g. SELECT ... FOR UPDATE) in an open transaction. */
async function holdLock(url: string, lockSql: string, params: unknown[] = []): Promise<() => Promise<void>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('BEGIN');
  await c.query(lockSql, params);
  return async () => {
    await c.query('ROLLBACK');
    await c.end();
  };
}

/** Resolves once a session of the CLI waits on a lock in this database. */
async function waitUntilBlocked(t: TestDatabase, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await t.db.one(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    if (r.n > 0) return;
    assert.ok(Date.now() < deadline, 'the job never reached the locked row');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** SIGTERM while the job waits on a lock held by the test: cancelled, exit 143, every table unchanged. */
async function sigtermChangesNothing(t: TestDatabase, args: string[], env: NodeJS.ProcessEnv, lockSql: string, params: unknown[] = []): Promise<void> {
  const runsBefore = await lastRunId(t.db);
  const before = await snapshotTables(t.db, runsBefore);
  const release = await holdLock(t.url, lockSql, params);
  try {
    const child = spawnCli(args, env);
    const done = collect(child, 60_000);
    await waitUntilBlocked(t);
    child.kill('SIGTERM');
    const r = await done;
    assert.equal(r.code, 143, r.stderr);
  } finally {
    await release();
  }
  assert.equal((await t.db.one('SELECT status FROM sync_jobs WHERE id > $1', [runsBefore])).status, 'cancelled');
  assert.deepEqual(await snapshotTables(t.db, runsBefore), before, 'every table as before');
}

test('map-contracts: a failure of its last statement (the mappings merge, after deactivating) changes nothing', async () => {
  const [t, replica] = await Promise.all([database(), replicaFor()]);
  const env = cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'warn', ...replica.env() });
  for (const job of ['sync-chains', 'sync-protocols', 'sync-pools', 'map-contracts']) await ok([job], env);
  // The next days: pools vanish (their mappings are deactivated) and appear (mappings created).
  replica.nextDay();
  replica.nextDay();
  for (const job of ['sync-protocols', 'sync-pools']) await ok([job], env);

  await failsChangingNothing(t, ['map-contracts'], env, () => failWhen(t.db, 'contract_mappings', 'INSERT', 'true'));

  await ok(['map-contracts'], env);
  const run = await lastRunOf(t, 'map-contracts');
  assert.ok(run.records_created >= 1 && run.records_deactivated >= 1, `the run deactivates before it merges: ${JSON.stringify(run)}`);
});

test('create-snapshots: a failure of its last statement (the protocol rows) keeps the pool rows and new partitions out', async () => {
  const t = await database();
  const env = cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'warn' });
  await insertPools(t.db, [{ pool_id: poolId(1) }, { pool_id: poolId(2) }]);
  await insertProtocols(t.db, [{ id: '1', slug: 'alpha' }]);
  await ok(['create-snapshots', '--date', '2024-03-15'], env);
  await t.db.none('UPDATE pools SET tvl_usd = tvl_usd + 1');

  // Same day (updates) and a new month (partitions created in the transaction).
  for (const date of ['2024-03-15', '2024-05-10']) {
    await failsChangingNothing(t, ['create-snapshots', '--date', date], env, () => failWhen(t.db, 'protocol_daily_snapshots', 'INSERT', 'true'));
  }
  await ok(['create-snapshots', '--date', '2024-03-15'], env);
  const run = await lastRunOf(t, 'create-snapshots');
  assert.deepEqual([run.records_updated, run.records_unchanged], [2, 1], 'the pool rows were the ones the failed run had written');
});

test('create-snapshots: SIGTERM while it writes rolls back and is recorded as cancelled', async () => {
  const t = await database();
  const env = cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'warn' });
  await insertPools(t.db, [{ pool_id: poolId(1) }, { pool_id: poolId(2) }]);
  await insertProtocols(t.db, [{ id: '1', slug: 'alpha' }]);
  await ok(['create-snapshots', '--date', '2024-03-15'], env);
  await t.db.none('UPDATE pools SET tvl_usd = tvl_usd + 1');
  await t.db.none('UPDATE protocols SET tvl = tvl + 1');
  // The pool rows are written, then the protocol row waits for the test's lock.
  await sigtermChangesNothing(t, ['create-snapshots', '--date', '2024-03-15'], env, `SELECT 1 FROM protocol_daily_snapshots WHERE protocol_id = '1' FOR UPDATE`);
});

/** Old rows of every kind cleanup-old-data removes, and one old snapshot partition. */
async function oldData(t: TestDatabase): Promise<void> {
  const db = t.db;
  await db.none(`INSERT INTO sync_jobs (job_name, status, trigger, started_at, finished_at) VALUES
    ('sync-pools', 'succeeded', 'schedule', now() - interval '200 days', now() - interval '200 days'),
    ('sync-pools', 'failed', 'schedule', now() - interval '120 days', now() - interval '120 days'),
    ('sync-pools', 'succeeded', 'schedule', now() - interval '2 days', now() - interval '2 days')`);
  const longAgo = new Date(Date.now() - 300 * 86_400_000).toISOString();
  await insertPools(db, [
    { pool_id: poolId(1), is_active: false, last_seen_at: longAgo },
    { pool_id: poolId(2), is_active: false, last_seen_at: longAgo },
    { pool_id: poolId(3) },
  ]);
  await db.none(
    `INSERT INTO contract_mappings (pool_id, chain, address, address_display, address_family, contract_type, confidence, is_active, last_seen_at)
     VALUES ($1, 'Ethereum', '0x01', '0x01', 'evm', 'pool', 0.9, false, now() - interval '300 days')`,
    [poolId(3)],
  );
  await db.none(`INSERT INTO history_backfill_passes (scope, started_at, finished_at) VALUES ('old', now() - interval '100 days', now() - interval '99 days')`);
  const month = `${addDays(utcDate(new Date()), -400).slice(0, 7)}-01`;
  await db.one(`SELECT ensure_snapshot_partitions('pool_daily_snapshots'::regclass, $1::date, $1::date)`, [month]);
  await db.none(`INSERT INTO pool_daily_snapshots (pool_id, snapshot_date, source) VALUES ('a', $1, 'live')`, [month]);
}

test('cleanup-old-data: a failure of its last statement (dropping an old partition) keeps every deleted row', async () => {
  const t = await database();
  const env = cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'warn', SNAPSHOT_RETENTION_DAYS: '60' });
  await oldData(t);
  await failsChangingNothing(t, ['cleanup-old-data'], env, async () => {
    await t.db.none(`CREATE FUNCTION fail_drop() RETURNS event_trigger LANGUAGE plpgsql AS $f$ BEGIN RAISE EXCEPTION 'injected failure on DROP'; END $f$`);
    await t.db.none(`CREATE EVENT TRIGGER fail_drop ON ddl_command_start WHEN TAG IN ('DROP TABLE') EXECUTE FUNCTION fail_drop()`);
    return async () => {
      await t.db.none('DROP EVENT TRIGGER fail_drop');
      await t.db.none('DROP FUNCTION fail_drop()');
    };
  });
  await ok(['cleanup-old-data'], env);
  const run = await lastRunOf(t, 'cleanup-old-data');
  const d = run.details;
  assert.deepEqual(
    [d.syncJobs.rows, d.backfillPasses.rows, d.contractMappings.rows, d.inactivePools.rows, d.snapshotPartitions.dropped.length],
    [2, 1, 1, 2, 1],
    'every removal precedes the drop that failed',
  );
});

test('cleanup-old-data: SIGTERM while it deletes rolls back and is recorded as cancelled', async () => {
  const t = await database();
  const env = cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'warn', SNAPSHOT_RETENTION_DAYS: '60' });
  await oldData(t);
  // The old runs, passes and mappings are deleted, then the pools wait for the test's lock.
  await sigtermChangesNothing(t, ['cleanup-old-data'], env, 'SELECT 1 FROM pools WHERE pool_id = $1 FOR UPDATE', [poolId(2)]);
});

test('sync-historical: a failure of one item\'s last statement (marking it done) leaves its rows as they were; the others load', async () => {
  const [t, replica] = await Promise.all([database(), replicaFor({ pools: 20, protocols: 5 })]);
  const env = cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'warn', ...replica.env() });
  await ok(['sync-pools'], env);
  const top = await t.db.map(`SELECT pool_id FROM pools ORDER BY tvl_usd DESC NULLS LAST, pool_id LIMIT 5`, [], (r: { pool_id: string }) => r.pool_id);
  const victim = top[0]!;
  // A backfilled row the run would update, so "unchanged" is tested on a row that exists.
  const chart = await replica.get<{ data: { timestamp: string }[] }>(`/chart/${victim}`);
  const day = chart.data[0]!.timestamp.slice(0, 10);
  await t.db.one(`SELECT ensure_snapshot_partitions('pool_daily_snapshots'::regclass, $1::date, $1::date)`, [day]);
  await t.db.none(`INSERT INTO pool_daily_snapshots (pool_id, snapshot_date, tvl_usd, source) VALUES ($1, $2, -1, 'backfill')`, [victim, day]);
  const rowsOf = () => t.db.manyOrNone(`SELECT xmin::text, * FROM pool_daily_snapshots WHERE pool_id = $1 ORDER BY snapshot_date`, [victim]);
  const before = await rowsOf();

  const restore = await failWhen(t.db, 'history_backfill_items', 'INSERT OR UPDATE', `NEW.status = 'done' AND NEW.item_id = '${victim}'`);
  const r = await runCli(['sync-historical', '--only', 'pools', '--top', '5', '--max-failed-share', '0.5'], env);
  await restore();
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await rowsOf(), before, 'the failed item\'s rows as before');
  const items = await t.db.many(`SELECT item_id, status, error, days, (SELECT count(*)::int FROM pool_daily_snapshots s WHERE s.pool_id = h.item_id) AS rows FROM history_backfill_items h ORDER BY item_id`);
  assert.equal(items.length, 5);
  for (const item of items) {
    if (item.item_id === victim) {
      assert.equal(item.status, 'failed');
      assert.match(item.error, /injected failure/);
    } else {
      assert.equal(item.status, 'done');
      assert.ok(item.days > 0 && item.rows === item.days, JSON.stringify(item));
    }
  }
});
