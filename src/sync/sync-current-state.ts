/**
 * The shape shared by sync-chains, sync-protocols and sync-pools: fetch one list from DeFiLlama
 * (validated by the client), then write it with bulkSync in one transaction, and account for
 * every record in the run's stats.
 */
import { bulkSync, type SyncTable } from '../db/bulk-sync.js';
import { createDefiLlamaClient, type DefiLlamaClient, type Validated } from '../defillama/client.js';
import type { JobContext } from '../jobs/types.js';

export async function syncCurrentState<R>(ctx: JobContext, spec: SyncTable<R>, fetch: (client: DefiLlamaClient) => Promise<Validated<R>>): Promise<void> {
  const { stats, log, signal } = ctx;
  const t0 = performance.now();
  const client = createDefiLlamaClient(ctx.config, { stats, log, signal });
  // A response that is unusable as a whole throws here, before the database is touched.
  const { records, rejected } = await fetch(client);
  const fetchMs = Math.round(performance.now() - t0);
  stats.failed += rejected.length;
  signal.throwIfAborted();

  const result = await bulkSync(ctx.db, spec, records, {
    log,
    signal,
    force: ctx.options.force === true,
    maxDeactivateShare: ctx.config.maxDeactivateShare,
    keepKeys: rejected.flatMap((r) => (r.key === undefined ? [] : [r.key])),
  });
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
