/** CronJob state per job for `status --kubernetes`. */
import { connectCluster } from './cluster.js';
import { JOB_LABEL, listReleaseCronJobs } from './cronjobs.js';

export interface CronJobState {
  cronJob: string;
  suspended: boolean;
  schedule: string | null;
  timeZone: string | null;
  lastScheduleTime: string | null;
  lastSuccessfulTime: string | null;
  activeJobs: number;
}

export async function cronJobStates(options: { namespace?: string; release?: string }): Promise<Map<string, CronJobState>> {
  const cluster = connectCluster({ namespace: options.namespace });
  const cronJobs = await listReleaseCronJobs(cluster, options.release ?? (process.env.DEFI_SYNC_RELEASE || undefined));
  const states = new Map<string, CronJobState>();
  for (const c of cronJobs) {
    const job = c.metadata?.labels?.[JOB_LABEL];
    if (!job) continue;
    states.set(job, {
      cronJob: c.metadata!.name!,
      suspended: c.spec?.suspend === true,
      schedule: c.spec?.schedule ?? null,
      timeZone: c.spec?.timeZone ?? null,
      lastScheduleTime: iso(c.status?.lastScheduleTime),
      lastSuccessfulTime: iso(c.status?.lastSuccessfulTime),
      activeJobs: c.status?.active?.length ?? 0,
    });
  }
  return states;
}

function iso(value: Date | string | undefined): string | null {
  if (!value) return null;
  return new Date(value).toISOString();
}
