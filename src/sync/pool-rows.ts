/** /pools records as rows of `pools`: typed columns for what users query, plus the raw record. */
import { defineSyncTable } from '../db/bulk-sync.js';
import type { ApiPool } from '../defillama/schemas.js';
import { bool, float, int4, object, text, textArray } from './values.js';

export const POOLS_TABLE = defineSyncTable<ApiPool>({
  table: 'pools',
  job: 'sync-pools',
  columns: [
    { name: 'pool_id', type: 'text', value: (p) => p.pool },
    { name: 'chain', type: 'text', value: (p) => text(p.chain) },
    { name: 'project', type: 'text', value: (p) => text(p.project) },
    { name: 'symbol', type: 'text', value: (p) => text(p.symbol) },
    { name: 'tvl_usd', type: 'float8', value: (p) => float(p.tvlUsd) },
    { name: 'apy', type: 'float8', value: (p) => float(p.apy) },
    { name: 'apy_base', type: 'float8', value: (p) => float(p.apyBase) },
    { name: 'apy_reward', type: 'float8', value: (p) => float(p.apyReward) },
    { name: 'apy_pct_1d', type: 'float8', value: (p) => float(p.apyPct1D) },
    { name: 'apy_pct_7d', type: 'float8', value: (p) => float(p.apyPct7D) },
    { name: 'apy_pct_30d', type: 'float8', value: (p) => float(p.apyPct30D) },
    { name: 'apy_mean_30d', type: 'float8', value: (p) => float(p.apyMean30d) },
    { name: 'apy_base_7d', type: 'float8', value: (p) => float(p.apyBase7d) },
    { name: 'apy_base_inception', type: 'float8', value: (p) => float(p.apyBaseInception) },
    { name: 'il7d', type: 'float8', value: (p) => float(p.il7d) },
    { name: 'stablecoin', type: 'bool', value: (p) => bool(p.stablecoin) },
    { name: 'il_risk', type: 'text', value: (p) => text(p.ilRisk) },
    { name: 'exposure', type: 'text', value: (p) => text(p.exposure) },
    { name: 'pool_meta', type: 'text', value: (p) => text(p.poolMeta) },
    { name: 'reward_tokens', type: 'text[]', value: (p) => textArray(p.rewardTokens) },
    { name: 'underlying_tokens', type: 'text[]', value: (p) => textArray(p.underlyingTokens) },
    { name: 'volume_usd_1d', type: 'float8', value: (p) => float(p.volumeUsd1d) },
    { name: 'volume_usd_7d', type: 'float8', value: (p) => float(p.volumeUsd7d) },
    { name: 'predictions', type: 'jsonb', value: (p) => object(p.predictions) },
    { name: 'mu', type: 'float8', value: (p) => float(p.mu) },
    { name: 'sigma', type: 'float8', value: (p) => float(p.sigma) },
    { name: 'count', type: 'int4', value: (p) => int4(p.count) },
    { name: 'outlier', type: 'bool', value: (p) => bool(p.outlier) },
    { name: 'raw', type: 'jsonb', value: (p) => p },
  ],
});
