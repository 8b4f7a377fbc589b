/** `defi-sync trigger <job>`: start a job now in Kubernetes, from the release's CronJob. */
import { ConfigError, ExitCode } from '../errors.js';
import { findJob } from '../jobs/registry.js';
import { connectCluster } from '../kube/cluster.js';
import { findCronJob } from '../kube/cronjobs.js';
import { createJob, exitCodeForOutcome, logFollower, manualJobName, waitForJob } from '../kube/trigger.js';

/** Checked and defaulted by commander (src/cli.ts); --follow implies --wait. */
export interface TriggerOptions {
  namespace?: string;
  release?: string;
  wait?: boolean;
  follow?: boolean;
  timeout: number;
}

export async function cmdTrigger(jobName: string, options: TriggerOptions, io: { out(s: string): void; err(s: string): void }, signal: AbortSignal): Promise<number> {
  if (!findJob(jobName)) throw new ConfigError(`unknown job "${jobName}": see "defi-sync list"`);
  const cluster = connectCluster({ namespace: options.namespace });
  const cronJob = await findCronJob(cluster, jobName, options.release ?? (process.env.DEFI_SYNC_RELEASE || undefined));
  const job = await createJob(cluster, cronJob, manualJobName(cronJob.metadata!.name!));
  io.out(`job.batch/${job.metadata!.name!}`);
  if (!options.wait) return ExitCode.Success;

  const follow = options.follow ? logFollower(cluster, job.metadata!.name!, (t) => process.stdout.write(t)) : undefined;
  const outcome = await waitForJob(cluster, job.metadata!.name!, { timeoutMs: options.timeout * 1000, signal, onPoll: follow });
  if (outcome.state === 'failed') io.err(`Job ${job.metadata!.name!} failed: ${outcome.reason}${outcome.exitCode === undefined ? '' : ` (exit code ${outcome.exitCode})`}`);
  else io.out(`Job ${job.metadata!.name!} succeeded`);
  return exitCodeForOutcome(outcome);
}
