/** sync-chains: /v2/chains into `chains`, in one transaction (see src/sync/sync-current-state.ts). */
import { CHAINS_TABLE } from '../sync/chain-rows.js';
import { syncCurrentState } from '../sync/sync-current-state.js';
import type { ForceOptions, JobContext } from './types.js';

export async function run(ctx: JobContext<ForceOptions>): Promise<void> {
  await syncCurrentState(ctx, CHAINS_TABLE, 'chains');
}
