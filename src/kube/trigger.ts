/** `defi-sync trigger`: creates a Job from the release's CronJob, then optionally waits for it and follows its logs. */
import { PassThrough } from 'node:stream';
import { Log, type V1CronJob, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { DefiSyncError } from '../errors.js';
import { kubeCall, kubeError, type Cluster } from './cluster.js';
import { trueCondition } from './cronjob-status.js';

const MAX_NAME = 63;

export function manualJobName(cronJobName: string, now = new Date()): string {
  const suffix = `-manual-${Math.floor(now.getTime() / 1000)}`;
  return `${cronJobName.slice(0, MAX_NAME - suffix.length).replace(/-+$/, '')}${suffix}`;
}

export function createJob(cluster: Cluster, cronJob: V1CronJob, name: string): Promise<V1Job> {
  const template = cronJob.spec?.jobTemplate;
  // The Job `kubectl create job --from=cronjob/<name>` would create.
  const body: V1Job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      annotations: { 'cronjob.kubernetes.io/instantiate': 'manual', ...template?.metadata?.annotations },
      labels: template?.metadata?.labels,
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cronJob.metadata!.name!, uid: cronJob.metadata!.uid!, controller: true }],
    },
    spec: template?.spec,
  };
  const action = `create Job "${name}" from CronJob "${cronJob.metadata?.name}"`;
  return kubeCall(cluster, action, () => cluster.batch.createNamespacedJob({ namespace: cluster.namespace, body }));
}

export type JobOutcome = { state: 'succeeded' } | { state: 'failed'; reason: string; exitCode: number | undefined };

/** Reads the Job until it has a terminal condition; polling keeps the RBAC need at get/list. */
export async function waitForJob(cluster: Cluster, name: string, options: { timeoutMs: number; signal?: AbortSignal; onPoll?: () => Promise<void> }): Promise<JobOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const job = await kubeCall(cluster, `read Job "${name}"`, () => cluster.batch.readNamespacedJob({ name, namespace: cluster.namespace }));
    if (trueCondition(job, 'Complete')) return { state: 'succeeded' };
    const failed = trueCondition(job, 'Failed');
    if (failed) return { state: 'failed', reason: failed.message || failed.reason || 'the Job failed', exitCode: await lastExitCode(cluster, name) };
    await options.onPoll?.();
    if (Date.now() > deadline) throw new DefiSyncError(`Job "${name}" did not finish within ${Math.round(options.timeoutMs / 1000)} s; it keeps running in the cluster`);
    if (options.signal?.aborted) throw new DefiSyncError(`stopped waiting for Job "${name}"; it keeps running in the cluster`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

export async function jobPods(cluster: Cluster, jobName: string): Promise<V1Pod[]> {
  const pods = await kubeCall(cluster, `list the pods of Job "${jobName}"`, () => cluster.core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: `job-name=${jobName}` }));
  return pods.items;
}

/** The exit code of the Job's most recently terminated container, so --wait can pass it on. */
async function lastExitCode(cluster: Cluster, jobName: string): Promise<number | undefined> {
  const pods = await jobPods(cluster, jobName).catch(() => []);
  const terminated = pods
    .flatMap((p) => p.status?.containerStatuses ?? [])
    .flatMap((s) => s.state?.terminated ?? s.lastState?.terminated ?? [])
    .sort((a, b) => new Date(String(b.finishedAt ?? 0)).getTime() - new Date(String(a.finishedAt ?? 0)).getTime());
  return terminated[0]?.exitCode;
}

/** Streams each pod's logs once it runs; returns a function that follows newly started pods. */
export function logFollower(cluster: Cluster, jobName: string, write: (text: string) => void): () => Promise<void> {
  const following = new Set<string>();
  const log = new Log(cluster.kc);
  return async () => {
    for (const pod of await jobPods(cluster, jobName)) {
      const podName = pod.metadata?.name;
      const phase = pod.status?.phase;
      if (!podName || following.has(podName) || phase === 'Pending' || phase === undefined) continue;
      following.add(podName);
      const stream = new PassThrough();
      stream.on('data', (chunk: Buffer) => write(chunk.toString('utf8')));
      const container = pod.spec?.containers[0]?.name ?? '';
      await log.log(cluster.namespace, podName, container, stream, { follow: true }).catch((error: unknown) => {
        write(`(could not follow the logs of pod ${podName}: ${kubeError('read logs', error, cluster).message})\n`);
      });
    }
  };
}
