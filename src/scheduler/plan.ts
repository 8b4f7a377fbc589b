/**
 * What the local scheduler runs: the registry's jobs with their effective schedules (SCHEDULE_<JOB>
 * overrides, DISABLED_JOBS), and which of them missed their last run while it was down.
 */
import { Cron } from 'croner';
import type { Config } from '../config.js';
import { JOBS } from '../jobs/registry.js';
import { effectiveSchedule } from '../jobs/schedule.js';
import type { JobDefinition } from '../jobs/types.js';
import type { ScheduledJob } from './scheduler.js';

export interface SchedulePlan {
  readonly scheduled: readonly ScheduledJob[];
  /** Registered jobs that are not scheduled, and why. */
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

/**
 * The jobs whose most recent scheduled time passed after their last run started: each gets one
 * catch-up run, however many times it was missed. A job that never ran counts as missed.
 */
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
