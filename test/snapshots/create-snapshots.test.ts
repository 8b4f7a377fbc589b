/**
 * create-snapshots through the CLI on hand-made pools and protocols.
 * The tests run in file order on one database, each starting from the state the one before left.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { addDays, utcDate } from '../../src/history/dates.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { insertPools, insertProtocols, lastRun, poolId } from '../history/fixtures.js';

const t = await useTestDatabase();
let env: NodeJS.ProcessEnv;

before(async () => {
  env = cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'warn' });
  await insertPools(t.db, [
    { pool_id: poolId(1), tvl_usd: 1_000_000, apy: 4.2, apy_base: 3, apy_reward: 1.2, il7d: 0.1, apy_base_7d: 2.9, apy_mean_30d: 4, volume_usd_1d: 12_345 },
    { pool_id: poolId(2), tvl_usd: 500, apy: 12_000 },
    { pool_id: poolId(3), tvl_usd: 9_999, is_active: false },
  ]);
  await insertProtocols(t.db, [
    { id: '1', slug: 'alpha', tvl: 3e9, chain_tvls: { Ethereum: 2e9, 'zkSync Era': 1e9 }, section_tvls: { staking: { Ethereum: 5e6, total: 5e6 } }, mcap: 7e8 },
    { id: '2', slug: 'beta', tvl: 10 },
    { id: '3', slug: 'gone', tvl: 77, is_active: false },
  ]);
});

const snap = (args: string[] = []) => runCli(['create-snapshots', ...args], env);

test('writes one live row per active pool and protocol for the date, creating its monthly partitions', async () => {
  const r = await snap(['--date', '2024-03-15']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const pools = await t.db.many(`SELECT * FROM pool_daily_snapshots WHERE snapshot_date = '2024-03-15' ORDER BY pool_id`);
  assert.deepEqual(pools.map((p) => p.pool_id), [poolId(1), poolId(2)]);
  const p1 = pools[0]!;
  assert.equal(p1.source, 'live');
  assert.deepEqual(
    [p1.tvl_usd, p1.apy, p1.apy_base, p1.apy_reward, p1.il7d, p1.apy_base_7d, p1.apy_mean_30d, p1.volume_usd_1d],
    [1_000_000, 4.2, 3, 1.2, 0.1, 2.9, 4, 12_345],
  );
  const protocols = await t.db.many(`SELECT * FROM protocol_daily_snapshots WHERE snapshot_date = '2024-03-15' ORDER BY protocol_id`);
  assert.deepEqual(protocols.map((p) => p.protocol_id), ['1', '2']);
  assert.equal(protocols[0].tvl, 3e9);
  assert.deepEqual(protocols[0].chain_tvls, { Ethereum: 2e9, 'zkSync Era': 1e9 });
  assert.deepEqual(protocols[0].section_tvls, { staking: { Ethereum: 5e6, total: 5e6 } });
  assert.equal(protocols[0].mcap, 7e8);

  const parts = await t.db.many(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent IN ('pool_daily_snapshots'::regclass, 'protocol_daily_snapshots'::regclass) ORDER BY 1`);
  assert.deepEqual(parts.map((p) => p.name), ['pool_daily_snapshots_y2024m03', 'protocol_daily_snapshots_y2024m03']);

  const run = await lastRun(t.db, 'create-snapshots');
  assert.equal(run.status, 'succeeded');
  assert.deepEqual([run.records_processed, run.records_created, run.records_updated, run.records_unchanged], [4, 4, 0, 0]);
  assert.equal(run.details.date, '2024-03-15');
  assert.equal(run.details.partitionsCreated, 2);
});

test('a rerun on the same day updates changed rows and never duplicates', async () => {
  const again = await snap(['--date', '2024-03-15']);
  assert.equal(again.code, 0, again.stderr);
  let run = await lastRun(t.db, 'create-snapshots');
  assert.deepEqual([run.records_created, run.records_updated, run.records_unchanged], [0, 0, 4]);

  await t.db.none(`UPDATE pools SET tvl_usd = 2000000 WHERE pool_id = $1`, [poolId(1)]);
  await t.db.none(`UPDATE protocols SET chain_tvls = '{"Ethereum": 1}' WHERE id = '2'`);
  const third = await snap(['--date', '2024-03-15']);
  assert.equal(third.code, 0, third.stderr);
  run = await lastRun(t.db, 'create-snapshots');
  assert.deepEqual([run.records_created, run.records_updated, run.records_unchanged], [0, 2, 2]);

  const counts = await t.db.one(`SELECT (SELECT count(*) FROM pool_daily_snapshots) AS pools, (SELECT count(*) FROM protocol_daily_snapshots) AS protocols`);
  assert.deepEqual(counts, { pools: 2, protocols: 2 });
  const p1 = await t.db.one(`SELECT tvl_usd FROM pool_daily_snapshots WHERE pool_id = $1 AND snapshot_date = '2024-03-15'`, [poolId(1)]);
  assert.equal(p1.tvl_usd, 2_000_000);
});

test('a live snapshot replaces a backfilled row of the same day', async () => {
  await t.db.one(`SELECT ensure_snapshot_partitions('pool_daily_snapshots'::regclass, '2024-04-01', '2024-04-01')`);
  await t.db.none(`INSERT INTO pool_daily_snapshots (pool_id, snapshot_date, tvl_usd, apy, source) VALUES ($1, '2024-04-01', 1, 1, 'backfill')`, [poolId(2)]);
  const r = await snap(['--date', '2024-04-01']);
  assert.equal(r.code, 0, r.stderr);
  const row = await t.db.one(`SELECT tvl_usd, apy, source FROM pool_daily_snapshots WHERE pool_id = $1 AND snapshot_date = '2024-04-01'`, [poolId(2)]);
  assert.deepEqual(row, { tvl_usd: 500, apy: 12_000, source: 'live' });
  const run = await lastRun(t.db, 'create-snapshots');
  assert.equal(run.details.pools.updated, 1);
  assert.equal(run.details.pools.created, 1);
});

test('without --date it snapshots today (UTC), a day beside the earlier ones', async () => {
  const r = await snap();
  assert.equal(r.code, 0, r.stderr);
  const today = utcDate(new Date());
  const rows = await t.db.many(`SELECT snapshot_date::text AS d, count(*) AS n FROM pool_daily_snapshots GROUP BY 1 ORDER BY 1`);
  assert.deepEqual(rows, [
    { d: '2024-03-15', n: 2 },
    { d: '2024-04-01', n: 2 },
    { d: today, n: 2 },
  ]);
});

test('bad or future dates are refused with exit code 2 and write nothing', async () => {
  const before = await t.db.one(`SELECT count(*) AS n FROM pool_daily_snapshots`);
  for (const [date, message] of [
    ['2024-02-30', /option '--date <YYYY-MM-DD>' argument '2024-02-30' is invalid\. It must be a calendar date as YYYY-MM-DD\./],
    ['yesterday', /argument 'yesterday' is invalid\. It must be a calendar date/],
    [addDays(utcDate(new Date()), 2), /It must be a date that is not in the future/],
  ] as const) {
    const r = await snap(['--date', date]);
    assert.equal(r.code, 2, `${date}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.deepEqual(await t.db.one(`SELECT count(*) AS n FROM pool_daily_snapshots`), before);
});

test('reading one pool over a date range uses the primary key index', async () => {
  const plan = await t.db.tx(async (tx) => {
    await tx.none('SET LOCAL enable_seqscan = off');
    return tx.many(`EXPLAIN SELECT * FROM pool_daily_snapshots WHERE pool_id = $1 AND snapshot_date BETWEEN '2024-03-01' AND '2024-04-30'`, [poolId(1)]);
  });
  const text = plan.map((r) => r['QUERY PLAN']).join('\n');
  assert.match(text, /Index (Only )?Scan using pool_daily_snapshots_y2024m0[34]_pkey/);
  assert.doesNotMatch(text, /y\d{4}m(?!03|04)\d\d/, 'only the partitions of the range are read');
});
