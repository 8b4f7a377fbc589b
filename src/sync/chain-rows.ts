/** /v2/chains records as rows of `chains`, with DeFiLlama's chain key and EVM chain id. */
import { chainKeyForLabel, evmChainIdForKey } from '../chains/chain-reference.js';
import { defineSyncTable } from '../db/bulk-sync.js';
import type { ApiChain } from '../defillama/schemas.js';
import { float, positiveId, text } from './values.js';

/** The API's own EVM chain id, else the reference's for the chain key. The API's 0 (seen in real data) counts as absent. */
export function chainIdOf(chain: Pick<ApiChain, 'name' | 'chainId'>): number | null {
  const own = positiveId(chain.chainId);
  if (own !== null) return own;
  const key = chainKeyForLabel(chain.name);
  return (key !== undefined ? evmChainIdForKey(key) : undefined) ?? null;
}

export const CHAINS_TABLE = defineSyncTable<ApiChain>({
  table: 'chains',
  job: 'sync-chains',
  columns: [
    { name: 'name', type: 'text', value: (c) => c.name },
    { name: 'chain_key', type: 'text', value: (c) => chainKeyForLabel(c.name) ?? null },
    { name: 'chain_id', type: 'int8', value: (c) => chainIdOf(c) },
    { name: 'gecko_id', type: 'text', value: (c) => text(c.gecko_id) },
    { name: 'token_symbol', type: 'text', value: (c) => text(c.tokenSymbol) },
    { name: 'cmc_id', type: 'text', value: (c) => text(c.cmcId) },
    { name: 'tvl', type: 'float8', value: (c) => float(c.tvl) },
    { name: 'raw', type: 'jsonb', value: (c) => c },
  ],
});
