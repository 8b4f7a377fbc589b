/** What `status` reports: one row per registered job, from sync_jobs and the schedules. */
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { installedAt } from '../db/migrator.js';
import { JOBS } from '../jobs/registry.js';
import { effectiveSchedule, intervalMs, nextRun } from '../jobs/schedule.js';

export interface JobStatus {
  job: string;
  enabled: boolean;
  schedule: string;
  priority: string;
  implemented: boolean;
  /** Last run's status, with dead `running` rows shown as `abandoned`; `never` when none. */
  lastStatus: string;
  lastStartedAt: string | null;
  lastFinishedAt: string | null;
  durationMs: number | null;
  recordsProcessed: number | null;
  recordsFailed: number | null;
  error: string | null;
  lastSuccessAt: string | null;
  nextRunAt: string | null;
  /** By staleAfterMs, counted from install when the job never succeeded. */
  stale: boolean;
  /** Why `status --check` flags this job, or null. */
  attention: string | null;
}

interface LastRunRow {
  job_name: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  records_processed: number;
  records_failed: number;
  error_message: string | null;
  last_success_at: Date | null;
}

const SHORT_ERROR = 160;

/** Stale: no success within twice the schedule interval; the chart's DefiSyncJobStale alert uses the same thresholds (tested). */
export function staleAfterMs(cron: string, now = new Date()): number {
  return 2 * intervalMs(cron, now);
}

export async function jobStatuses(db: Db, config: Config, now = new Date()): Promise<JobStatus[]> {
  const rows = await db.manyOrNone<LastRunRow>(
    `SELECT job_name, status, started_at, finished_at, duration_ms, records_processed, records_failed, error_message, last_success_at
     FROM v_sync_status`,
  );
  const byJob = new Map(rows.map((r) => [r.job_name, r]));
  const installed = (await installedAt(db)) ?? now;

  return JOBS.map((job) => {
    const schedule = effectiveSchedule(job, config);
    const last = byJob.get(job.name);
    const reference = last?.last_success_at ?? installed;
    const stale = schedule.enabled && now.getTime() - reference.getTime() > staleAfterMs(schedule.cron, now);
    const lastStatus = last?.status ?? 'never';
    let attention: string | null = null;
    if (schedule.enabled) {
      if (lastStatus === 'failed') attention = 'last run failed';
      else if (lastStatus === 'abandoned') attention = 'last run was abandoned (its process died)';
      else if (stale) attention = last?.last_success_at ? 'no success within twice its schedule interval' : 'never succeeded since install';
    }
    return {
      job: job.name,
      enabled: schedule.enabled,
      schedule: schedule.cron,
      priority: job.priority,
      implemented: Boolean(job.load),
      lastStatus,
      lastStartedAt: last?.started_at.toISOString() ?? null,
      lastFinishedAt: last?.finished_at?.toISOString() ?? null,
      durationMs: last?.duration_ms ?? null,
      recordsProcessed: last?.records_processed ?? null,
      recordsFailed: last?.records_failed ?? null,
      error: last?.error_message ? shortError(last.error_message) : null,
      lastSuccessAt: last?.last_success_at?.toISOString() ?? null,
      nextRunAt: schedule.enabled ? (nextRun(schedule.cron, now)?.toISOString() ?? null) : null,
      stale,
      attention,
    };
  });
}

function shortError(message: string): string {
  const line = message.split('\n')[0] ?? '';
  return line.length > SHORT_ERROR ? `${line.slice(0, SHORT_ERROR - 1)}…` : line;
}
