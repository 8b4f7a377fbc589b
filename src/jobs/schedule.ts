/** Cron schedules (UTC): validation, overrides from SCHEDULE_<JOB>, next run and interval. */
import { Cron } from 'croner';
import { scheduleVariable, type Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { JobDefinition } from './types.js';

const OFF = new Set(['off', 'disabled', 'none', 'false']);

export interface EffectiveSchedule {
  readonly cron: string;
  readonly enabled: boolean;
  /** Where the schedule comes from, for `list`. */
  readonly source: 'registry' | 'environment';
}

function parseCron(expression: string, what: string): Cron {
  try {
    // Five fields, as in a crontab and a Kubernetes CronJob: no seconds, no year.
    if (expression.trim().split(/\s+/).length !== 5) throw new Error('expected five fields');
    return new Cron(expression, { timezone: 'Etc/UTC', paused: true });
  } catch (error) {
    throw new ConfigError(`${what} must be a five-field cron expression (minute hour day month weekday), got ${JSON.stringify(expression)}`, { cause: error });
  }
}

export function effectiveSchedule(job: JobDefinition, config: Pick<Config, 'scheduleOverrides' | 'disabledJobs'>): EffectiveSchedule {
  const override = config.scheduleOverrides[job.name];
  const off = override !== undefined && OFF.has(override.toLowerCase());
  const enabled = !off && !config.disabledJobs.includes(job.name);
  if (override === undefined || off) return { cron: job.schedule, enabled, source: 'registry' };
  parseCron(override, scheduleVariable(job.name));
  return { cron: override, enabled, source: 'environment' };
}

export function nextRun(cron: string, from: Date): Date | undefined {
  return parseCron(cron, 'schedule').nextRun(from) ?? undefined;
}

/** The shortest gap between two consecutive runs over the next few, in milliseconds. */
export function intervalMs(cron: string, from: Date): number {
  const runs = parseCron(cron, 'schedule').nextRuns(8, from);
  const gaps = runs.slice(1).map((run, i) => run.getTime() - runs[i]!.getTime());
  return gaps.length > 0 ? Math.min(...gaps) : 7 * 24 * 3600_000;
}
