/**
 * cleanup-old-data through the CLI on hand-made old rows and partitions.
 * The tests run in file order on one database, each starting from the state the one before left.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { addDays, utcDate } from '../../src/history/dates.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { insertPools, lastRun, poolId } from '../history/fixtures.js';

const t = await useTestDatabase();

const monthStart = (daysAgo: number) => `${addDays(utcDate(new Date()), -daysAgo).slice(0, 7)}-01`;

before(async () => {
  const db = t.db;
  // sync_jobs: old finished rows go, old running rows and each job's latest success stay.
  await db.none(`
    INSERT INTO sync_jobs (job_name, status, trigger, started_at, finished_at) VALUES
      ('sync-pools',  'succeeded', 'schedule', now() - interval '200 days', now() - interval '200 days'),
      ('sync-pools',  'failed',    'schedule', now() - interval '120 days', now() - interval '120 days'),
      ('sync-pools',  'succeeded', 'schedule', now() - interval '2 days',   now() - interval '2 days'),
      ('sync-chains', 'succeeded', 'schedule', now() - interval '150 days', now() - interval '150 days'),
      ('sync-chains', 'cancelled', 'schedule', now() - interval '100 days', now() - interval '100 days'),
      ('map-contracts', 'running', 'schedule', now() - interval '95 days', NULL),
      ('map-contracts', 'skipped', 'manual',   now() - interval '91 days', now() - interval '91 days'),
      ('map-contracts', 'failed',  'manual',   now() - interval '89 days', now() - interval '89 days')`);
  // Pools: only the inactive one unseen for longer than INACTIVE_RETENTION_DAYS (180) goes.
  await insertPools(db, [
    { pool_id: poolId(1), is_active: false, last_seen_at: new Date(Date.now() - 200 * 86_400_000).toISOString() },
    { pool_id: poolId(2), is_active: false, last_seen_at: new Date(Date.now() - 10 * 86_400_000).toISOString() },
    { pool_id: poolId(3), is_active: true, last_seen_at: new Date(Date.now() - 400 * 86_400_000).toISOString() },
  ]);
  const mapping = (pool: number, address: string, active: boolean, daysAgo: number) =>
    db.none(
      `INSERT INTO contract_mappings (pool_id, chain, address, address_display, address_family, contract_type, confidence, is_active, last_seen_at)
       VALUES ($1, 'Ethereum', $2, $2, 'evm', 'pool', 0.9, $3, now() - make_interval(days => $4))`,
      [poolId(pool), address, active, daysAgo],
    );
  await mapping(1, '0x01', true, 1); // active, but its pool is purged
  await mapping(2, '0x02', false, 300); // inactive and unseen for long
  await mapping(2, '0x03', false, 5); // inactive recently: kept
  await mapping(3, '0x04', true, 1); // kept
  await db.none(`INSERT INTO history_backfill_passes (scope, started_at, finished_at) VALUES ('old', now() - interval '100 days', now() - interval '99 days'), ('recent', now() - interval '1 day', now())`);
  await db.none(`INSERT INTO history_backfill_items (item_kind, item_id, pass_id, run_id, status) VALUES ('pool', $1, 1, 1, 'done'), ('pool', $2, 1, 1, 'done')`, [poolId(1), poolId(3)]);

  // Snapshots: months wholly older than 60 days go when SNAPSHOT_RETENTION_DAYS=60.
  for (const [table, key] of [['pool_daily_snapshots', 'pool_id'], ['protocol_daily_snapshots', 'protocol_id']] as const) {
    for (const daysAgo of [400, 130, 0]) {
      const day = monthStart(daysAgo);
      await db.one(`SELECT ensure_snapshot_partitions($1::regclass, $2::date, $2::date)`, [table, day]);
      await db.none(`INSERT INTO $1:name ($2:name, snapshot_date, source) VALUES ('a', $3, 'live'), ('b', $3, 'live')`, [table, key, day]);
    }
  }
});

async function counts() {
  return t.db.one(`SELECT
    (SELECT count(*) FROM sync_jobs WHERE job_name <> 'cleanup-old-data') AS jobs,
    (SELECT count(*) FROM pools) AS pools,
    (SELECT count(*) FROM contract_mappings) AS mappings,
    (SELECT count(*) FROM history_backfill_passes) AS passes,
    (SELECT count(*) FROM history_backfill_items) AS items,
    (SELECT count(*) FROM pool_daily_snapshots) + (SELECT count(*) FROM protocol_daily_snapshots) AS snapshots,
    (SELECT count(*) FROM pg_inherits WHERE inhparent IN ('pool_daily_snapshots'::regclass, 'protocol_daily_snapshots'::regclass)) AS partitions`);
}

const partitionName = (table: string, daysAgo: number) => {
  const d = monthStart(daysAgo);
  return `${table}_y${d.slice(0, 4)}m${d.slice(5, 7)}`;
};

test('without SNAPSHOT_RETENTION_DAYS no partition is touched, and --dry-run removes nothing but reports it all', async () => {
  const before = await counts();
  const r = await runCli(['cleanup-old-data', '--dry-run'], cliEnv({ DATABASE_URL: t.url }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await counts(), before);
  const run = await lastRun(t.db, 'cleanup-old-data');
  assert.equal(run.details.dryRun, true);
  assert.equal(run.details.syncJobs.rows, 4); // the 200-day success, the 120-day failure, the 100-day cancel, the 91-day skip
  assert.equal(run.details.inactivePools.rows, 1);
  assert.equal(run.details.contractMappings.rows, 2);
  assert.equal(run.details.backfillPasses.rows, 1);
  assert.deepEqual(run.details.snapshotPartitions, { retention: 'forever', dropped: [] });
  assert.match(r.stdout, /cleanup would remove 4 sync_jobs rows, 1 inactive pools, 2 contract mappings and 0 snapshot partitions/);
});

test('--dry-run with SNAPSHOT_RETENTION_DAYS names the partitions wholly older than it', async () => {
  const before = await counts();
  const r = await runCli(['cleanup-old-data', '--dry-run'], cliEnv({ DATABASE_URL: t.url, SNAPSHOT_RETENTION_DAYS: '60' }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await counts(), before);
  const run = await lastRun(t.db, 'cleanup-old-data');
  const expected = [400, 130].flatMap((d) => [partitionName('pool_daily_snapshots', d), partitionName('protocol_daily_snapshots', d)]).sort();
  assert.deepEqual(run.details.snapshotPartitions.wouldDrop.map((p: { name: string }) => p.name).sort(), expected);
  assert.ok(run.details.snapshotPartitions.wouldDrop.every((p: { rows: number }) => p.rows === 2));
  assert.equal(run.details.snapshotPartitions.rows, 8);
});

test('the real run removes exactly what the dry run reported and says so', async () => {
  const r = await runCli(['cleanup-old-data'], cliEnv({ DATABASE_URL: t.url, SNAPSHOT_RETENTION_DAYS: '60' }));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /cleanup removed 4 sync_jobs rows, 1 inactive pools, 2 contract mappings and 4 snapshot partitions \(8 rows\)/);
  const run = await lastRun(t.db, 'cleanup-old-data');
  assert.equal(run.details.dryRun, false);
  assert.equal(run.details.snapshotPartitions.dropped.length, 4);

  const jobs = await t.db.many(`SELECT job_name, status, (now() - started_at) > interval '90 days' AS old FROM sync_jobs WHERE job_name <> 'cleanup-old-data' ORDER BY id`);
  assert.deepEqual(jobs, [
    { job_name: 'sync-pools', status: 'succeeded', old: false },
    { job_name: 'sync-chains', status: 'succeeded', old: true }, // its latest success
    { job_name: 'map-contracts', status: 'running', old: true }, // never deleted
    { job_name: 'map-contracts', status: 'failed', old: false },
  ]);
  assert.deepEqual((await t.db.many(`SELECT pool_id FROM pools ORDER BY 1`)).map((p) => p.pool_id), [poolId(2), poolId(3)]);
  assert.deepEqual((await t.db.many(`SELECT address FROM contract_mappings ORDER BY 1`)).map((m) => m.address), ['0x03', '0x04']);
  assert.deepEqual((await t.db.many(`SELECT item_id FROM history_backfill_items`)).map((m) => m.item_id), [poolId(3)]);
  assert.deepEqual((await t.db.many(`SELECT scope FROM history_backfill_passes`)).map((p) => p.scope), ['recent']);
  const parts = await t.db.many(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'pool_daily_snapshots'::regclass`);
  assert.deepEqual(parts.map((p) => p.name), [partitionName('pool_daily_snapshots', 0)]);

  const again = await runCli(['cleanup-old-data'], cliEnv({ DATABASE_URL: t.url, SNAPSHOT_RETENTION_DAYS: '60' }));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /cleanup removed 0 sync_jobs rows, 0 inactive pools, 0 contract mappings and 0 snapshot partitions/);
});

test('bad retention settings are refused with exit code 2', async () => {
  const r = await runCli(['cleanup-old-data', '--dry-run'], cliEnv({ DATABASE_URL: t.url, SNAPSHOT_RETENTION_DAYS: 'ten' }));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /SNAPSHOT_RETENTION_DAYS must be a whole number from 1 to 36500, or empty \(keep forever\), got "ten"/);
});

test('absurdly large retention settings are refused with exit code 2 and one sentence, the database untouched', async () => {
  const before = await t.db.one<{ n: number }>('SELECT count(*)::int AS n FROM sync_jobs');
  for (const [name, value] of [['SYNC_JOBS_RETENTION_DAYS', '99999999999'], ['INACTIVE_RETENTION_DAYS', '3000000'], ['SNAPSHOT_RETENTION_DAYS', '9999999999999']]) {
    const r = await runCli(['cleanup-old-data'], cliEnv({ DATABASE_URL: t.url, [name!]: value }));
    assert.equal(r.code, 2, `${name}: ${r.stderr}${r.stdout}`);
    assert.equal(r.stderr.trim(), `defi-sync: ${name} must be a whole number from 1 to 36500${name === 'SNAPSHOT_RETENTION_DAYS' ? ', or empty (keep forever)' : ''}, got "${value}"`);
  }
  assert.deepEqual(await t.db.one('SELECT count(*)::int AS n FROM sync_jobs'), before);
});
