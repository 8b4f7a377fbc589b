/** `defi-sync list`: the registered jobs with their effective schedules. */
import type { Config } from '../config.js';
import { JOBS } from '../jobs/registry.js';
import { effectiveSchedule } from '../jobs/schedule.js';
import { renderTable } from '../status/table.js';

export function cmdList(config: Config, options: { json?: boolean }, out: (s: string) => void): void {
  const rows = JOBS.map((job) => {
    const s = effectiveSchedule(job, config);
    return { job: job.name, schedule: s.cron, scheduleSource: s.source, enabled: s.enabled, priority: job.priority, implemented: Boolean(job.load), description: job.description };
  });
  if (options.json) {
    out(JSON.stringify({ jobs: rows }, null, 2));
    return;
  }
  out(
    renderTable(
      ['JOB', 'SCHEDULE (UTC)', 'PRIORITY', 'ENABLED', 'DESCRIPTION'],
      rows.map((r) => [r.job, r.schedule + (r.scheduleSource === 'environment' ? ' (env)' : ''), r.priority, r.enabled ? 'yes' : 'no', r.implemented ? r.description : `${r.description} (not implemented)`]),
    ),
  );
}
