/** Stale: no success within twice the schedule interval; the chart's DefiSyncJobStale alert uses the same thresholds (tested). */
import { intervalMs } from '../jobs/schedule.js';

const STALE_AFTER_INTERVALS = 2;

export function staleAfterMs(cron: string, now = new Date()): number {
  return STALE_AFTER_INTERVALS * intervalMs(cron, now);
}
