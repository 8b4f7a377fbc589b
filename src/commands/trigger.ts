/** `defi-sync trigger <job>`: start a job now in Kubernetes, from the release's CronJob. */
import type { Io } from '../cli.js';
import { ConfigError, ExitCode } from '../errors.js';
import { findJob } from '../jobs/registry.js';
import { connectCluster } from '../kube/cluster.js';
import { findCronJob } from '../kube/cronjobs.js';
import { createJob, logFollower, manualJobName, waitForJob } from '../kube/trigger.js';

/** Checked and defaulted by commander; --follow implies --wait. */
export interface TriggerOptions {
  namespace?: string;
  release?: string;
  wait?: boolean;
  follow?: boolean;
  timeout: number;
}

export async function cmdTrigger(jobName: string, options: TriggerOptions, io: Io, signal: AbortSignal): Promise<number> {
  if (!findJob(jobName)) throw new ConfigError(`unknown job "${jobName}": see "defi-sync list"`);
  const cluster = connectCluster({ namespace: options.namespace });
  const cronJob = await findCronJob(cluster, jobName, options.release ?? (process.env.DEFI_SYNC_RELEASE || undefined));
  const name = (await createJob(cluster, cronJob, manualJobName(cronJob.metadata!.name!))).metadata!.name!;
  io.out(`job.batch/${name}`);
  if (!options.wait) return ExitCode.Success;

  const follow = options.follow ? logFollower(cluster, name, (t) => process.stdout.write(t)) : undefined;
  const outcome = await waitForJob(cluster, name, { timeoutMs: options.timeout * 1000, signal, onPoll: follow });
  if (outcome.state === 'succeeded') {
    io.out(`Job ${name} succeeded`);
    return ExitCode.Success;
  }
  io.err(`Job ${name} failed: ${outcome.reason}${outcome.exitCode === undefined ? '' : ` (exit code ${outcome.exitCode})`}`);
  return outcome.exitCode && outcome.exitCode > 0 ? outcome.exitCode : ExitCode.Failure;
}
