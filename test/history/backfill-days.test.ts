/**
 * Several simulated days against the replica, through the real CLI: the daily jobs and the live
 * snapshot each day, then sync-historical backfilling protocols and pools around the live rows.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiChartPointSchema, apiProtocolDetailSchema } from '../../src/defillama/schemas.js';
import { poolDays } from '../../src/history/pool-history.js';
import { protocolDays } from '../../src/history/protocol-history.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';
import { lastRun } from './fixtures.js';

const t = await useTestDatabase();
let replica: TestReplica;

before(async () => {
  replica = await startTestReplica({ pools: 120, protocols: 40 });
});
after(async () => {
  await replica.close();
});

async function cli(...args: string[]) {
  const r = await runCli(args, cliEnv({ DATABASE_URL: t.url, ...replica.env() }));
  assert.equal(r.code, 0, `${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout.slice(-3000)}`);
  return r;
}

/** The daily pipeline of one replica day, with the live snapshot dated that day. */
async function liveDay(): Promise<string> {
  await cli('sync-protocols');
  await cli('sync-pools');
  await cli('create-snapshots', '--date', replica.date!);
  return replica.date!;
}

const liveRows = () =>
  t.db.many(`
    SELECT 'pool' AS kind, pool_id AS id, snapshot_date::text AS d, to_jsonb(s) AS row FROM pool_daily_snapshots s WHERE source = 'live'
    UNION ALL
    SELECT 'protocol', protocol_id, snapshot_date::text, to_jsonb(s) FROM protocol_daily_snapshots s WHERE source = 'live'
    ORDER BY 1, 2, 3`);

const topIds = (kind: 'pool' | 'protocol', n: number) =>
  t.db
    .many(kind === 'pool' ? `SELECT pool_id AS id FROM pools WHERE is_active ORDER BY tvl_usd DESC NULLS LAST, pool_id LIMIT $1` : `SELECT id FROM protocols WHERE is_active ORDER BY tvl DESC NULLS LAST, id LIMIT $1`, [n])
    .then((rows) => rows.map((r) => r.id as string).sort());

async function expectPoolHistory(poolId: string, liveDates: readonly string[]) {
  const chart = await replica.get<{ data: unknown[] }>(`/chart/${poolId}`);
  const days = poolDays(chart.data.map((p) => apiChartPointSchema.parse(p)));
  const rows = await t.db.many(`SELECT snapshot_date::text AS d, source, tvl_usd, apy, apy_base, apy_reward, il7d, apy_base_7d FROM pool_daily_snapshots WHERE pool_id = $1 ORDER BY 2`, [poolId]);
  const byDate = new Map(rows.map((r) => [r.d, r]));
  // Rows of dates that slid out of the chart's window since an earlier backfill stay.
  for (const d of [...days.map((x) => x.snapshot_date), ...liveDates]) assert.ok(byDate.has(d), `pool ${poolId} has a row on ${d}`);
  for (const day of days) {
    const row = byDate.get(day.snapshot_date)!;
    if (liveDates.includes(day.snapshot_date)) {
      assert.equal(row.source, 'live', `${poolId} ${day.snapshot_date} stays live`);
      continue;
    }
    assert.equal(row.source, 'backfill');
    assert.deepEqual([row.tvl_usd, row.apy, row.apy_base, row.apy_reward, row.il7d, row.apy_base_7d], [day.tvl_usd, day.apy, day.apy_base, day.apy_reward, day.il7d, day.apy_base_7d]);
  }
}

async function expectProtocolHistory(protocolId: string, liveDates: readonly string[]) {
  const { slug } = await t.db.one(`SELECT slug FROM protocols WHERE id = $1`, [protocolId]);
  const days = protocolDays(apiProtocolDetailSchema.parse(await replica.get(`/protocol/${slug}`)));
  const rows = await t.db.many(`SELECT snapshot_date::text AS d, source, tvl, chain_tvls, section_tvls, mcap FROM protocol_daily_snapshots WHERE protocol_id = $1`, [protocolId]);
  const byDate = new Map(rows.map((r) => [r.d, r]));
  assert.ok(days.length > 1);
  for (const day of days) {
    const row = byDate.get(day.snapshot_date)!;
    assert.ok(row, `${slug} has a row on ${day.snapshot_date}`);
    if (liveDates.includes(day.snapshot_date)) {
      assert.equal(row.source, 'live');
      continue;
    }
    assert.equal(row.source, 'backfill');
    assert.equal(row.tvl, day.tvl);
    assert.deepEqual(row.chain_tvls, day.chain_tvls);
    assert.deepEqual(row.section_tvls, day.section_tvls);
    assert.equal(row.mcap, null);
  }
}

let d0 = '';
let d1 = '';

test('days 0 and 1 live, then a backfill of the top 10 pools and protocols writes their history around the live rows', async () => {
  d0 = await liveDay();
  replica.nextDay();
  d1 = await liveDay();
  const live = await liveRows();
  assert.ok(live.length > 150);

  const r = await cli('sync-historical', '--top', '10');
  assert.deepEqual(await liveRows(), live, 'live rows are untouched, captured_at included');

  const items = await t.db.many(`SELECT item_kind, item_id, status, run_id FROM history_backfill_items ORDER BY 1, 2`);
  assert.deepEqual(items.filter((i) => i.item_kind === 'pool').map((i) => i.item_id), await topIds('pool', 10));
  assert.deepEqual(items.filter((i) => i.item_kind === 'protocol').map((i) => i.item_id), await topIds('protocol', 10));
  assert.ok(items.every((i) => i.status === 'done'));

  for (const id of (await topIds('pool', 10)).slice(0, 3)) await expectPoolHistory(id, [d0, d1]);
  for (const id of (await topIds('protocol', 10)).slice(0, 3)) await expectProtocolHistory(id, [d0, d1]);

  const run = await lastRun(t.db, 'sync-historical');
  assert.equal(run.status, 'succeeded');
  assert.equal(run.records_processed, 20);
  assert.equal(run.records_failed, 0);
  const backfilled = await t.db.one(`SELECT (SELECT count(*) FROM pool_daily_snapshots WHERE source = 'backfill') + (SELECT count(*) FROM protocol_daily_snapshots WHERE source = 'backfill') AS n`);
  assert.equal(run.records_created, backfilled.n);
  const liveOfItems = await t.db.one(`SELECT count(*) AS n FROM pool_daily_snapshots WHERE source = 'live' AND pool_id IN (SELECT item_id FROM history_backfill_items WHERE item_kind = 'pool')`);
  assert.equal(run.details.pools.liveKept, liveOfItems.n);
  assert.equal(run.details.pass.resumed, false);

  // Months of history get their partitions on demand.
  const months = await t.db.many(`SELECT DISTINCT to_char(snapshot_date, '"pool_daily_snapshots_y"YYYY"m"MM') AS name FROM pool_daily_snapshots ORDER BY 1`);
  const parts = await t.db.many(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'pool_daily_snapshots'::regclass ORDER BY 1`);
  assert.deepEqual(parts, months);
  assert.ok(months.length >= 2, 'the history spans more than one month');
  assert.match(r.stdout, /sync-historical: 20\/20 items/);
});

test('a second backfill on the same day writes and duplicates nothing', async () => {
  const before = await t.db.one(`SELECT (SELECT count(*) FROM pool_daily_snapshots) AS pools, (SELECT count(*) FROM protocol_daily_snapshots) AS protocols`);
  await cli('sync-historical', '--top', '10');
  const run = await lastRun(t.db, 'sync-historical');
  assert.deepEqual([run.records_processed, run.records_created, run.records_updated], [20, 0, 0]);
  assert.equal(run.details.pass.resumed, false, 'the first pass finished, so this is a new one');
  assert.deepEqual(await t.db.one(`SELECT (SELECT count(*) FROM pool_daily_snapshots) AS pools, (SELECT count(*) FROM protocol_daily_snapshots) AS protocols`), before);
});

test('a day without a live snapshot is filled by the next backfill; the days around it stay live', async () => {
  replica.nextDay(); // day 2: the daily jobs did not run
  const missed = replica.date!;
  replica.nextDay();
  const d3 = await liveDay();
  const live = await liveRows();
  await cli('sync-historical', '--top', '10', '--only', 'pools');
  assert.deepEqual(await liveRows(), live);
  for (const id of await topIds('pool', 10)) {
    const rows = await t.db.many(`SELECT snapshot_date::text AS d, source FROM pool_daily_snapshots WHERE pool_id = $1 AND snapshot_date >= $2 ORDER BY 1`, [id, d0]);
    const sources = Object.fromEntries(rows.map((r) => [r.d, r.source]));
    assert.equal(sources[missed], 'backfill', `${id}: the missed day ${missed} was backfilled`);
    assert.equal(sources[d3], 'live');
  }
  await expectPoolHistory((await topIds('pool', 1))[0]!, [d0, d1, d3].filter(Boolean));
  const run = await lastRun(t.db, 'sync-historical');
  assert.equal(run.records_processed, 10);
  assert.ok(run.records_created >= 10, 'at least the missed day of each pool');
});
