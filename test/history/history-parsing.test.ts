import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiChartPointSchema, apiProtocolDetailSchema } from '../../src/defillama/schemas.js';
import { validateRecords } from '../../src/defillama/validate.js';
import { poolDays } from '../../src/history/pool-history.js';
import { protocolDays } from '../../src/history/protocol-history.js';
import { readFixture } from '../helpers/fixtures.js';

const sample = (name: string): any => readFixture(name);

test('a real /chart response becomes one row per UTC date with every history field', () => {
  const { records, rejected } = validateRecords(sample('chart-10-points.json').data, apiChartPointSchema, () => undefined);
  assert.equal(rejected.length, 0);
  const days = poolDays(records);
  assert.equal(days.length, 10);
  assert.deepEqual(days[0], { snapshot_date: '2022-05-03', tvl_usd: 11074372760, apy: 3.6, apy_base: 3.6, apy_reward: null, il7d: null, apy_base_7d: null });
  assert.equal(days.at(-1)!.snapshot_date, '2022-05-12');
});

test('several points on one UTC date keep the last one in time (the intra-day sample)', () => {
  const days = poolDays([
    { timestamp: '2024-01-02T23:29:18.000Z', tvlUsd: 3, apy: 3 },
    { timestamp: '2024-01-01T00:00:00.000Z', tvlUsd: 1, apy: 1 },
    { timestamp: '2024-01-02T00:00:00.000Z', tvlUsd: 2, apy: 2, il7d: -0.5, apyBase7d: 1.5 },
  ]);
  assert.deepEqual(days.map((d) => [d.snapshot_date, d.tvl_usd]), [['2024-01-01', 1], ['2024-01-02', 3]]);
});

test('a real /protocol body becomes daily total, per-chain and per-section TVL', () => {
  const parsed = apiProtocolDetailSchema.safeParse(sample('protocol-peppercoin.json'));
  assert.ok(parsed.success);
  const days = protocolDays(parsed.data);
  // 1739750400 = 2025-02-17, 1739836800 = 2025-02-18, 1740003011 = 2025-02-19 (intra-day)
  assert.deepEqual(days, [
    { snapshot_date: '2025-02-17', tvl: 0, chain_tvls: { Chiliz: 0 }, section_tvls: { staking: { Chiliz: 1481522.92399, total: 1481522.92399 } } },
    { snapshot_date: '2025-02-18', tvl: 0, chain_tvls: { Chiliz: 0 }, section_tvls: { staking: { Chiliz: 1511553.22643, total: 1511553.22643 } } },
    { snapshot_date: '2025-02-19', tvl: 0, chain_tvls: { Chiliz: 0 }, section_tvls: { staking: { Chiliz: 1742574.37318, total: 1742574.37318 } } },
  ]);
});

test('chain labels with spaces and dashes stay chains; a date present only on one chain still gets a row', () => {
  const days = protocolDays({
    id: '1',
    name: 'x',
    tvl: [{ date: 1704067200, totalLiquidityUSD: 10 }],
    chainTvls: {
      'zkSync Era': { tvl: [{ date: 1704067200, totalLiquidityUSD: 6 }] },
      'terra-classic': { tvl: [{ date: 1704067200, totalLiquidityUSD: 4 }, { date: 1704153600, totalLiquidityUSD: 5 }] },
      'zkSync Era-borrowed': { tvl: [{ date: 1704067200, totalLiquidityUSD: 2 }] },
    },
  } as never);
  assert.deepEqual(days, [
    { snapshot_date: '2024-01-01', tvl: 10, chain_tvls: { 'zkSync Era': 6, 'terra-classic': 4 }, section_tvls: { borrowed: { 'zkSync Era': 2 } } },
    { snapshot_date: '2024-01-02', tvl: null, chain_tvls: { 'terra-classic': 5 }, section_tvls: {} },
  ]);
});
