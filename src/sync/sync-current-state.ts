/**
 * The shape shared by sync-chains, sync-protocols and sync-pools: fetch one list from DeFiLlama,
 * then write it with bulkSync in one transaction, validating each record as the write reads it,
 * and account for every record in the run's stats.
 */
import { bulkSync, type SyncTable } from '../db/bulk-sync.js';
import { createDefiLlamaClient, type CurrentStateRecords, type CurrentStateRoute } from '../defillama/client.js';
import type { JobContext } from '../jobs/types.js';

export async function syncCurrentState<K extends CurrentStateRoute>(ctx: JobContext, spec: SyncTable<CurrentStateRecords[K]>, route: K): Promise<void> {
  const { stats, log, signal } = ctx;
  const t0 = performance.now();
  const client = createDefiLlamaClient(ctx.config, { stats, log, signal });
  // A response that is unusable as a whole throws here, before the database is touched.
  const batch = await client.batch(route);
  const fetchMs = Math.round(performance.now() - t0);
  signal.throwIfAborted();

  const { rejected } = batch;
  const result = await bulkSync(ctx.db, spec, batch, {
    log,
    signal,
    force: ctx.options.force === true,
    maxDeactivateShare: ctx.config.maxDeactivateShare,
    keepKeys: () => rejected.flatMap((r) => (r.key === undefined ? [] : [r.key])),
  });
  client.reportRejected(batch);
  stats.failed += rejected.length;
  // processed = created + updated + unchanged + failed; superseded duplicates are counted apart.
  stats.processed += result.distinct + rejected.length;
  stats.created += result.created;
  stats.updated += result.updated;
  stats.unchanged += result.unchanged;
  stats.deactivated += result.deactivated;
  stats.details = {
    ...stats.details,
    received: result.received + rejected.length,
    duplicates: result.duplicates,
    keptRejected: result.kept,
    activeBefore: result.activeBefore,
    // Records sent in full; the others matched their row's digest (see bulk-sync.ts).
    sent: result.sent,
    path: result.path,
    ms: { fetch: fetchMs, ...result.timings },
  };
  if (result.duplicates > 0) log.warn({ duplicates: result.duplicates }, `${result.duplicates} record(s) appeared more than once in the response; the last of each was loaded`);
  // Peak memory of the whole process so far (kB on Linux), for the benchmark and capacity planning.
  log.debug({ maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), ...stats.details }, `${spec.job} stats`);
}
