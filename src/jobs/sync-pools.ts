/** sync-pools: /pools into `pools`, in one transaction (see src/sync/sync-current-state.ts). */
import { POOLS_TABLE } from '../sync/pool-rows.js';
import { syncCurrentState } from '../sync/sync-current-state.js';
import type { ForceOptions, JobContext } from './types.js';

export async function run(ctx: JobContext<ForceOptions>): Promise<void> {
  await syncCurrentState(ctx, POOLS_TABLE, 'pools');
}
