/** sync-protocols: /protocols into `protocols`, in one transaction (see src/sync/sync-current-state.ts). */
import { PROTOCOLS_TABLE } from '../sync/protocol-rows.js';
import { syncCurrentState } from '../sync/sync-current-state.js';
import type { ForceOptions, JobContext } from './types.js';

export async function run(ctx: JobContext<ForceOptions>): Promise<void> {
  await syncCurrentState(ctx, PROTOCOLS_TABLE, 'protocols');
}
