/**
 * The one staleness rule: a job is stale when it has not succeeded within twice its schedule
 * interval. `status` applies it; the chart's DefiSyncJobStale alert uses the same thresholds
 * (jobs.<job>.staleAfterSeconds, kept equal to this by a test).
 */
import { intervalMs } from '../jobs/schedule.js';

const STALE_AFTER_INTERVALS = 2;

export function staleAfterMs(cron: string, now = new Date()): number {
  return STALE_AFTER_INTERVALS * intervalMs(cron, now);
}
