/** `defi-sync status`: the last run of every job, what is next, and what needs attention. */
import type { Config } from '../config.js';
import { withWarehouse } from '../db/warehouse.js';
import type { CronJobState } from '../kube/cronjob-status.js';
import { jobStatuses, type JobStatus } from '../status/job-status.js';
import { formatDuration, formatTime, renderTable } from '../status/table.js';

export interface StatusOptions {
  json?: boolean;
  check?: boolean;
  kubernetes?: boolean;
  namespace?: string;
  release?: string;
}

type Row = JobStatus & { kubernetes?: CronJobState | null };

/** Non-zero only with --check and a job that needs attention. */
export async function cmdStatus(config: Config, options: StatusOptions, out: (s: string) => void): Promise<number> {
  const rows: Row[] = await withWarehouse(config, 'defi-sync:status', 'require-current', ({ db }) => jobStatuses(db, config));
  if (options.kubernetes) {
    // Loaded on demand: the Kubernetes client is large and plain status never needs it.
    const { cronJobStates } = await import('../kube/cronjob-status.js');
    const states = await cronJobStates({ namespace: options.namespace, release: options.release });
    for (const row of rows) row.kubernetes = states.get(row.job) ?? null;
  }
  if (options.json) out(JSON.stringify({ jobs: rows }, null, 2));
  else out(renderStatus(rows) + (options.kubernetes ? `\n\n${renderKubernetes(rows)}` : ''));
  const flagged = rows.filter((r) => r.attention);
  if (options.check && flagged.length) {
    if (!options.json) out(`\nneeds attention: ${flagged.map((r) => `${r.job} (${r.attention})`).join('; ')}`);
    return 1;
  }
  return 0;
}

function renderStatus(rows: readonly JobStatus[]): string {
  return renderTable(
    ['JOB', 'LAST', 'STARTED', 'DURATION', 'RECORDS', 'FAILED', 'NEXT', 'STALE', 'ERROR'],
    rows.map((r) => [
      r.enabled ? r.job : `${r.job} (disabled)`,
      r.lastStatus,
      formatTime(r.lastStartedAt),
      formatDuration(r.durationMs),
      r.recordsProcessed === null ? '-' : String(r.recordsProcessed),
      r.recordsFailed === null ? '-' : String(r.recordsFailed),
      formatTime(r.nextRunAt),
      r.stale ? 'yes' : 'no',
      r.error ?? '',
    ]),
  );
}

function renderKubernetes(rows: readonly Row[]): string {
  return renderTable(
    ['JOB', 'CRONJOB', 'SUSPENDED', 'SCHEDULE', 'LAST SCHEDULE', 'LAST SUCCESS', 'ACTIVE', 'LAST JOB'],
    rows.map((r) => {
      const k = r.kubernetes;
      if (!k) return [r.job, '(no CronJob)', '-', '-', '-', '-', '-', '-'];
      const lastJob = k.lastJob ? `${k.lastJob.name} ${k.lastJob.state}` : '-';
      return [r.job, k.cronJob, k.suspended ? 'yes' : 'no', k.schedule ?? '-', formatTime(k.lastScheduleTime), formatTime(k.lastSuccessfulTime), String(k.activeJobs), lastJob];
    }),
  );
}
