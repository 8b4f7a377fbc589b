/** Finds the release's CronJob for a job by the labels the Helm chart sets. */
import type { V1CronJob } from '@kubernetes/client-node';
import { kubeCall, KubeRefusedError, type Cluster } from './cluster.js';

/** Set on every CronJob by helm/defi-sync/templates/_helpers.tpl. */
export const JOB_LABEL = 'defi-sync/job';
const INSTANCE_LABEL = 'app.kubernetes.io/instance';

export async function listReleaseCronJobs(cluster: Cluster, release: string | undefined): Promise<V1CronJob[]> {
  const labelSelector = release ? `${JOB_LABEL},${INSTANCE_LABEL}=${release}` : JOB_LABEL;
  const list = await kubeCall(cluster, `list the CronJobs in namespace "${cluster.namespace}"`, () => cluster.batch.listNamespacedCronJob({ namespace: cluster.namespace, labelSelector }));
  return list.items;
}

/** The one CronJob of `job` (in `release` when given); a clear error when none or several. */
export async function findCronJob(cluster: Cluster, job: string, release: string | undefined): Promise<V1CronJob> {
  const all = await listReleaseCronJobs(cluster, release);
  const matches = all.filter((c) => c.metadata?.labels?.[JOB_LABEL] === job);
  const where = `namespace "${cluster.namespace}"${release ? ` for release "${release}"` : ''}`;
  if (matches.length === 0) {
    throw new KubeRefusedError(`no CronJob for job "${job}" in ${where} (is the chart installed there, with the job enabled?)`);
  }
  if (matches.length > 1) {
    const releases = matches.map((c) => c.metadata?.labels?.[INSTANCE_LABEL] ?? '?').join(', ');
    throw new KubeRefusedError(`several releases have a CronJob for "${job}" in ${where} (${releases}): choose one with --release`);
  }
  return matches[0]!;
}
