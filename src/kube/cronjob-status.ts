/** CronJob state per job for `status --kubernetes`. */
import type { V1CronJob, V1Job, V1JobCondition } from '@kubernetes/client-node';
import { connectCluster, kubeCall } from './cluster.js';
import { JOB_LABEL, listReleaseCronJobs } from './cronjobs.js';

export type KubeJobState = 'succeeded' | 'failed' | 'running' | 'pending';

/** The newest Job of a CronJob, scheduled or started by hand (both carry its owner reference). */
export interface LastJob {
  name: string;
  state: KubeJobState;
  createdAt: string | null;
  finishedAt: string | null;
}

export interface CronJobState {
  cronJob: string;
  suspended: boolean;
  schedule: string | null;
  timeZone: string | null;
  lastScheduleTime: string | null;
  lastSuccessfulTime: string | null;
  activeJobs: number;
  lastJob: LastJob | null;
}

export async function cronJobStates(options: { namespace?: string; release?: string }): Promise<Map<string, CronJobState>> {
  const cluster = connectCluster({ namespace: options.namespace });
  const cronJobs = await listReleaseCronJobs(cluster, options.release ?? (process.env.DEFI_SYNC_RELEASE || undefined));
  const jobs = cronJobs.length
    ? (await kubeCall(cluster, `list the Jobs in namespace "${cluster.namespace}"`, () => cluster.batch.listNamespacedJob({ namespace: cluster.namespace, labelSelector: JOB_LABEL }))).items
    : [];
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
      lastJob: lastJobOf(c, jobs),
    });
  }
  return states;
}

export function lastJobOf(cronJob: V1CronJob, jobs: readonly V1Job[]): LastJob | null {
  const uid = cronJob.metadata?.uid;
  const owned = jobs.filter((j) => j.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob' && o.uid === uid));
  const created = (j: V1Job) => new Date(j.metadata?.creationTimestamp ?? 0).getTime();
  // Newest first; equal timestamps (one-second resolution) fall back to the name.
  const newest = owned.sort((a, b) => created(b) - created(a) || (b.metadata!.name! < a.metadata!.name! ? -1 : 1))[0];
  if (!newest) return null;
  const finished = newest.status?.completionTime ?? trueCondition(newest, 'Failed')?.lastTransitionTime;
  return { name: newest.metadata!.name!, state: jobState(newest), createdAt: iso(newest.metadata?.creationTimestamp), finishedAt: iso(finished) };
}

export function jobState(job: V1Job): KubeJobState {
  if (trueCondition(job, 'Complete')) return 'succeeded';
  if (trueCondition(job, 'Failed')) return 'failed';
  return (job.status?.active ?? 0) > 0 ? 'running' : 'pending';
}

/** A condition that is not (yet) true decides nothing. */
export function trueCondition(job: V1Job, type: 'Complete' | 'Failed'): V1JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

function iso(value: Date | string | undefined): string | null {
  return value ? new Date(value).toISOString() : null;
}
