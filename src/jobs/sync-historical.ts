/** sync-historical: a resumable, shardable backfill of daily pool and protocol history (see src/history/). */
import { createDefiLlamaClient } from '../defillama/client.js';
import { runBackfill } from '../history/backfill.js';
import { historyOptions, type SyncHistoricalOptions } from '../history/selection.js';
import type { JobContext } from './types.js';

export async function run(ctx: JobContext<SyncHistoricalOptions>): Promise<void> {
  const options = historyOptions(ctx.options, ctx.config);
  // API_RATE_LIMIT_MS is shared by the shards running at once (JOB_PARALLELISM, else all of them).
  const rateLimitMs = ctx.config.apiRateLimitMs * Math.min(options.shard.count, ctx.config.jobParallelism ?? options.shard.count);
  const client = createDefiLlamaClient(ctx.config, { stats: ctx.stats, log: ctx.log, signal: ctx.signal, rateLimitMs });
  await runBackfill({ ...ctx, client }, options);
  ctx.stats.details.rateLimitMs = rateLimitMs;
}
