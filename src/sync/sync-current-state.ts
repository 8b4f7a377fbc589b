// Shared by sync-chains, sync-protocols and sync-pools.
import { bulkSync, type SyncTable } from '../db/bulk-sync.js';
import { createDefiLlamaClient, type CurrentStateRecords, type CurrentStateRoute } from '../defillama/client.js';
import { GuardError } from '../errors.js';
import type { ForceOptions, JobContext } from '../jobs/types.js';

/** Rejected records named in the run's details (with their reasons). */
const REJECTED_SAMPLES = 5;

export async function syncCurrentState<K extends CurrentStateRoute>(ctx: JobContext<ForceOptions>, spec: SyncTable<CurrentStateRecords[K]>, route: K): Promise<void> {
  const { stats, log, signal } = ctx;
  const t0 = performance.now();
  const client = createDefiLlamaClient(ctx.config, { stats, log, signal });
  // A response that is unusable as a whole throws here, before the database is touched.
  const batch = await client.batch(route);
  const fetchMs = Math.round(performance.now() - t0);
  signal.throwIfAborted();

  const { rejected } = batch;
  const rejectedDetails = () => ({ rejected: rejected.length, rejectedSample: [...rejected].sort((a, b) => a.index - b.index).slice(0, REJECTED_SAMPLES) });
  const result = await bulkSync(ctx.db, spec, batch, {
    log,
    signal,
    force: ctx.options.force ?? false,
    maxDeactivateShare: ctx.config.maxDeactivateShare,
    keepKeys: () => rejected.flatMap((r) => (r.key === undefined ? [] : [r.key])),
    afterRead: () => {
      // One bad record is rejected and the rest load; many mean the source itself is broken.
      const max = ctx.config.maxRejectedShare;
      if (rejected.length === 0 || rejected.length <= max * batch.length) return;
      client.reportRejected(batch);
      stats.failed += rejected.length;
      const details = rejectedDetails();
      stats.details = { ...stats.details, received: batch.length, ...details };
      // The records are read from the last to the first: name the first in the response.
      const first = details.rejectedSample[0]!;
      throw new GuardError(
        `${spec.job} rejected ${rejected.length} of ${batch.length} records as malformed (${((rejected.length / batch.length) * 100).toFixed(1)}%), more than MAX_REJECTED_SHARE=${max}; nothing was changed (first: ${first.key ?? `record ${first.index}`}: ${first.reason})`,
      );
    },
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
    ...(rejected.length > 0 ? rejectedDetails() : {}),
    duplicates: result.duplicates,
    keptRejected: result.kept,
    activeBefore: result.activeBefore,
    ms: { fetch: fetchMs, ...result.timings },
  };
  if (result.duplicates > 0) log.warn({ duplicates: result.duplicates }, `${result.duplicates} record(s) appeared more than once in the response; the last of each was loaded`);
  // Peak memory of the whole process so far (kB on Linux), for the benchmark and capacity planning.
  log.debug({ maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), ...stats.details }, `${spec.job} stats`);
}
