/** What the local scheduler runs (effective schedules), and which jobs missed a run while it was down. */
import { Cron } from 'croner';
import type { Config } from '../config.js';
import { JOBS } from '../jobs/registry.js';
import { effectiveSchedule } from '../jobs/schedule.js';
import type { JobDefinition } from '../jobs/types.js';
import type { ScheduledJob } from './scheduler.js';

export interface SchedulePlan {
  readonly scheduled: readonly ScheduledJob[];
  readonly left: readonly { job: string; why: string }[];
}

/** Throws ConfigError (exit 2) for an invalid SCHEDULE_<JOB> override. */
export function schedulePlan(config: Pick<Config, 'scheduleOverrides' | 'disabledJobs'>, jobs: readonly JobDefinition[] = JOBS): SchedulePlan {
  const scheduled: ScheduledJob[] = [];
  const left: { job: string; why: string }[] = [];
  for (const job of jobs) {
    const s = effectiveSchedule(job, config);
    if (!s.enabled) left.push({ job: job.name, why: 'disabled' });
    else if (!job.load) left.push({ job: job.name, why: 'not implemented in this version' });
    else scheduled.push({ name: job.name, priority: job.priority, cron: s.cron });
  }
  return { scheduled, left };
}

/** Jobs scheduled since their last run started (or never run): one catch-up run each, however many were missed. */
export function missedRuns(jobs: readonly ScheduledJob[], lastStarts: ReadonlyMap<string, Date>, now: Date): string[] {
  return jobs
    .filter((job) => {
      const last = lastStarts.get(job.name);
      if (!last) return true;
      const next = new Cron(job.cron, { timezone: 'Etc/UTC', paused: true }).nextRun(last);
      return next !== null && next.getTime() <= now.getTime();
    })
    .map((job) => job.name);
}
