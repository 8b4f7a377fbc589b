/** /protocols records as rows of `protocols`: typed columns, the per-chain TVL split, the raw record. */
import { defineSyncTable } from '../db/bulk-sync.js';
import { splitChainTvls, type SplitChainTvls } from '../defillama/chain-tvls.js';
import type { ApiProtocol } from '../defillama/schemas.js';
import { float, text, textArray, unixSeconds } from './values.js';

/** "-" is how /protocols says "no token". */
function tokenSymbol(value: unknown): string | null {
  const s = text(value);
  return s === '-' || s === '' ? null : s;
}

// Both TVL columns come from one split; rows are built a record at a time, so caching the last one halves the work.
let lastRecord: ApiProtocol | undefined;
let lastSplit: SplitChainTvls | undefined;
function split(p: ApiProtocol): SplitChainTvls {
  if (p !== lastRecord || !lastSplit) {
    lastRecord = p;
    lastSplit = splitChainTvls(p.chainTvls);
  }
  return lastSplit;
}

export const PROTOCOLS_TABLE = defineSyncTable<ApiProtocol>({
  table: 'protocols',
  job: 'sync-protocols',
  columns: [
    { name: 'id', type: 'text', value: (p) => p.id },
    { name: 'slug', type: 'text', value: (p) => p.slug },
    { name: 'name', type: 'text', value: (p) => p.name },
    { name: 'symbol', type: 'text', value: (p) => tokenSymbol(p.symbol) },
    { name: 'category', type: 'text', value: (p) => text(p.category) },
    { name: 'chain', type: 'text', value: (p) => text(p.chain) },
    { name: 'chains', type: 'text[]', value: (p) => textArray(p.chains) ?? [] },
    { name: 'tvl', type: 'float8', value: (p) => float(p.tvl) },
    { name: 'change_1h', type: 'float8', value: (p) => float(p.change_1h) },
    { name: 'change_1d', type: 'float8', value: (p) => float(p.change_1d) },
    { name: 'change_7d', type: 'float8', value: (p) => float(p.change_7d) },
    { name: 'mcap', type: 'float8', value: (p) => float(p.mcap) },
    { name: 'parent_protocol', type: 'text', value: (p) => text(p.parentProtocol) },
    { name: 'listed_at', type: 'timestamptz', value: (p) => unixSeconds(p.listedAt) },
    { name: 'address', type: 'text', value: (p) => text(p.address) },
    { name: 'gecko_id', type: 'text', value: (p) => text(p.gecko_id) },
    { name: 'cmc_id', type: 'text', value: (p) => text(p.cmcId) },
    { name: 'url', type: 'text', value: (p) => text(p.url) },
    { name: 'chain_tvls', type: 'jsonb', value: (p) => split(p).chainTvls },
    { name: 'section_tvls', type: 'jsonb', value: (p) => split(p).sectionTvls },
    { name: 'raw', type: 'jsonb', value: (p) => p },
  ],
  rejectedKeyColumn: 'slug',
});
