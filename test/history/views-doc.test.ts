/**
 * The example queries of README.md and docs/ (views, contract mapping, history) run on the schema
 * and answer what the text says they answer. Keep the two in step. (test/docs/ runs them again on
 * a warehouse filled by run-all against the replica.)
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { useTestDatabase } from '../helpers/db.js';
import { insertPools, insertProtocols, poolId } from './fixtures.js';

const t = await useTestDatabase();
const DOCS_WITH_SQL = ['README.md', 'docs/warehouse.md', 'docs/contract-mapping.md', 'docs/history-and-retention.md'];

before(async () => {
  const db = t.db;
  await insertProtocols(db, [
    { id: '1', slug: 'aave-v3', name: 'Aave V3', tvl: 2e10, chain_tvls: { Ethereum: 1.5e10, Arbitrum: 5e9 } },
    { id: '2', slug: 'lido', name: 'Lido', tvl: 3e10, chain_tvls: { Ethereum: 3e10 } },
  ]);
  await insertPools(db, [
    { pool_id: poolId(1), project: 'aave-v3', chain: 'Ethereum', symbol: 'USDC', tvl_usd: 3e9, apy: 4 },
    { pool_id: poolId(2), project: 'aave-v3', chain: 'Arbitrum', symbol: 'WETH', tvl_usd: 1e9, apy: 2 },
    { pool_id: poolId(3), project: 'lido', chain: 'Ethereum', symbol: 'STETH', tvl_usd: 2.5e10, apy: 3 },
    { pool_id: poolId(4), project: 'no-protocol-row', chain: 'Base', symbol: 'X', tvl_usd: 10, apy: 100 },
  ]);
  await db.none(`
    INSERT INTO contract_mappings (pool_id, chain, address, address_display, address_family, contract_type, confidence, is_contract)
    VALUES ($1, 'Ethereum', '0x98c23e9d8f34fefb1b7bd6a91b7ff122f4e16f5c', '0x98C23E9d8f34FEFb1B7BD6a91B7FF122F4e16F5c', 'evm', 'pool', 0.95, true),
           ($1, 'Ethereum', '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48', '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48', 'evm', 'underlying_token', 0.9, true)`, [poolId(1)]);
  await db.none(`
    INSERT INTO sync_jobs (job_name, status, trigger, started_at, finished_at, duration_ms, records_processed, error_message) VALUES
      ('sync-pools', 'succeeded', 'schedule', now() - interval '1 day', now() - interval '1 day', 1900, 17000, NULL),
      ('sync-pools', 'failed', 'schedule', now() - interval '1 hour', now() - interval '1 hour', 800, 0, 'DeFiLlama answered HTTP 503'),
      ('sync-chains', 'succeeded', 'schedule', now() - interval '2 hours', now() - interval '2 hours', 400, 400, NULL)`);
  await db.one(`SELECT ensure_snapshot_partitions('pool_daily_snapshots'::regclass, current_date - 100, current_date)`);
  await db.one(`SELECT ensure_snapshot_partitions('protocol_daily_snapshots'::regclass, current_date - 100, current_date)`);
  await db.none(`
    INSERT INTO pool_daily_snapshots (pool_id, snapshot_date, tvl_usd, apy, source)
    SELECT $1, d::date, 1e9 + extract(day FROM d) * 1e6, 4, CASE WHEN d < current_date - 3 THEN 'backfill' ELSE 'live' END
    FROM generate_series(current_date - 100, current_date, interval '1 day') d
    WHERE d <> current_date - 10`, [poolId(1)]);
  await db.none(`
    INSERT INTO protocol_daily_snapshots (protocol_id, snapshot_date, tvl, chain_tvls, source)
    SELECT '1', d::date, 2e10, '{"Ethereum": 1.5e10, "Arbitrum": 5e9}', 'live' FROM generate_series(current_date - 2, current_date, interval '1 day') d`);
});

test('v_sync_status: the last run of each job, with its last success and recent failures', async () => {
  const rows = await t.db.many(`
    SELECT job_name, status, started_at, duration_ms, records_processed, last_success_at, failures_7d, error_message
    FROM v_sync_status ORDER BY job_name`);
  assert.deepEqual(rows.map((r) => [r.job_name, r.status, r.failures_7d]), [['sync-chains', 'succeeded', 0], ['sync-pools', 'failed', 1]]);
  assert.ok(rows[1].last_success_at < rows[1].started_at);
  const attention = await t.db.many(`SELECT job_name, status, error_message FROM v_sync_status WHERE status IN ('failed', 'abandoned')`);
  assert.deepEqual(attention, [{ job_name: 'sync-pools', status: 'failed', error_message: 'DeFiLlama answered HTTP 503' }]);
});

test('v_top_pools_with_contracts: the largest pools with their contracts, best confidence first', async () => {
  const top = await t.db.many(`
    SELECT pool_id, project, chain, symbol, tvl_usd, apy, contract_count, best_confidence,
           contracts -> 0 ->> 'address' AS best_address
    FROM v_top_pools_with_contracts LIMIT 20`);
  assert.deepEqual(top.map((r) => r.symbol), ['STETH', 'USDC', 'WETH', 'X']);
  assert.deepEqual([top[1].contract_count, top[1].best_confidence, top[1].best_address], [2, 0.95, '0x98C23E9d8f34FEFb1B7BD6a91B7FF122F4e16F5c']);
  const mapped = await t.db.many(`
    SELECT symbol, tvl_usd, best_confidence FROM v_top_pools_with_contracts
    WHERE chain = 'Ethereum' AND best_confidence >= 0.8 LIMIT 10`);
  assert.deepEqual(mapped.map((r) => r.symbol), ['USDC']);
  const each = await t.db.many(`
    SELECT c ->> 'address' AS address, c ->> 'type' AS type, (c ->> 'confidence')::numeric AS confidence
    FROM v_top_pools_with_contracts, jsonb_array_elements(contracts) AS c
    WHERE pool_id = $1`, [poolId(1)]);
  assert.deepEqual(each.map((r) => r.type), ['pool', 'underlying_token']);
});

test('v_protocol_summary: protocols with pool count, pool TVL and average APY; pools without a protocol row too', async () => {
  const rows = await t.db.many(`
    SELECT slug, name, pool_count, pool_tvl_usd, round(avg_apy::numeric, 2) AS avg_apy, round(tvl_weighted_apy::numeric, 2) AS weighted_apy
    FROM v_protocol_summary WHERE pool_count > 0 ORDER BY pool_tvl_usd DESC LIMIT 20`);
  assert.deepEqual(rows.map((r) => [r.slug, r.pool_count, r.avg_apy]), [['lido', 1, 3], ['aave-v3', 2, 3], ['no-protocol-row', 1, 100]]);
  assert.equal(rows[1].pool_tvl_usd, 4e9);
  assert.equal(rows[1].weighted_apy, 3.5);
  const orphans = await t.db.many(`SELECT slug, pool_count, pool_tvl_usd FROM v_protocol_summary WHERE protocol_id IS NULL`);
  assert.deepEqual(orphans.map((r) => r.slug), ['no-protocol-row']);
});

test('history queries: a pool over a date range, a protocol per chain, missing days, backfill progress', async () => {
  const series = await t.db.many(`
    SELECT snapshot_date, tvl_usd, apy, source FROM pool_daily_snapshots
    WHERE pool_id = $1 AND snapshot_date >= current_date - 30
    ORDER BY snapshot_date`, [poolId(1)]);
  assert.equal(series.length, 30); // 31 days, one missing
  const perChain = await t.db.many(`
    SELECT s.snapshot_date, c.key AS chain, c.value::float8 AS tvl
    FROM protocol_daily_snapshots s
    JOIN protocols p ON p.id = s.protocol_id
    CROSS JOIN LATERAL jsonb_each(s.chain_tvls) AS c
    WHERE p.slug = 'aave-v3' AND s.snapshot_date >= current_date - 7
    ORDER BY s.snapshot_date, chain`);
  assert.equal(perChain.length, 6);
  const missing = await t.db.many(`
    SELECT p.pool_id, d::date AS missing_day
    FROM (SELECT pool_id FROM pools WHERE is_active ORDER BY tvl_usd DESC NULLS LAST LIMIT 100) p
    CROSS JOIN generate_series(current_date - 30, current_date - 1, interval '1 day') AS d
    WHERE NOT EXISTS (SELECT 1 FROM pool_daily_snapshots s WHERE s.pool_id = p.pool_id AND s.snapshot_date = d::date)
    ORDER BY 1, 2`);
  assert.deepEqual(missing.filter((m) => m.pool_id === poolId(1)).length, 1);
  const sources = await t.db.many(`SELECT source, count(*) AS days FROM pool_daily_snapshots WHERE pool_id = $1 GROUP BY source ORDER BY source`, [poolId(1)]);
  assert.deepEqual(sources, [{ source: 'backfill', days: 96 }, { source: 'live', days: 4 }]);
  await t.db.manyOrNone(`SELECT item_kind, status, count(*) AS items, max(processed_at) AS last FROM history_backfill_items GROUP BY 1, 2 ORDER BY 1, 2`);
  await t.db.manyOrNone(`SELECT id, scope, started_at, runs FROM history_backfill_passes WHERE finished_at IS NULL`);
  await t.db.manyOrNone(`SELECT item_kind, item_id, failures, error FROM history_backfill_items WHERE status <> 'done' ORDER BY failures DESC`);
  const parts = await t.db.many(`
    SELECT c.relname AS partition, pg_get_expr(c.relpartbound, c.oid) AS range, pg_size_pretty(pg_total_relation_size(c.oid)) AS size
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'pool_daily_snapshots'::regclass ORDER BY 1`);
  assert.ok(parts.length >= 4 && parts.every((p) => /^pool_daily_snapshots_y\d{4}m\d{2}$/.test(p.partition)));
});

test('every SQL example in README.md and docs/ runs as written', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = DOCS_WITH_SQL.map((f) => readFileSync(f, 'utf8')).join('\n');
  const blocks = [...readme.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const statements = blocks.flatMap((b) => b.split(/;\s*\n/)).map((s) => s.replace(/^--.*$/gm, '').trim()).filter(Boolean);
  assert.ok(statements.length >= 15, `found only ${statements.length} statements`);
  for (const sql of statements) {
    await t.db.any(sql).catch((error: Error) => assert.fail(`documented query failed: ${error.message}\n${sql}`));
  }
});
