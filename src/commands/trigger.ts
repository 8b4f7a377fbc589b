/** `defi-sync trigger <job>`: start a job now in Kubernetes, from the release's CronJob. */
import { ConfigError, ExitCode } from '../errors.js';
import { findJob } from '../jobs/registry.js';
import { connectCluster } from '../kube/cluster.js';
import { findCronJob } from '../kube/cronjobs.js';
import { createJob, exitCodeForOutcome, logFollower, manualJobName, waitForJob } from '../kube/trigger.js';

const MAX_TIMEOUT_SECONDS = 7 * 86_400;

export interface TriggerOptions {
  namespace?: string;
  release?: string;
  wait?: boolean;
  follow?: boolean;
  timeout?: string;
}

export async function cmdTrigger(jobName: string, options: TriggerOptions, io: { out(s: string): void; err(s: string): void }, signal: AbortSignal): Promise<number> {
  if (!findJob(jobName)) throw new ConfigError(`unknown job "${jobName}": see "defi-sync list"`);
  const timeoutSeconds = options.timeout === undefined ? 6 * 3600 : Number(options.timeout);
  // Bounded: a week is longer than any job runs, and a timer past 2^31 ms would fire at once.
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > MAX_TIMEOUT_SECONDS) {
    throw new ConfigError(`--timeout must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}, got "${options.timeout}"`);
  }

  const cluster = connectCluster({ namespace: options.namespace });
  const cronJob = await findCronJob(cluster, jobName, options.release ?? (process.env.DEFI_SYNC_RELEASE || undefined));
  const job = await createJob(cluster, cronJob, manualJobName(cronJob.metadata!.name!));
  io.out(`job.batch/${job.metadata!.name!}`);
  if (!options.wait && !options.follow) return ExitCode.Success;

  const follow = options.follow ? logFollower(cluster, job.metadata!.name!, (t) => process.stdout.write(t)) : undefined;
  const outcome = await waitForJob(cluster, job.metadata!.name!, { timeoutMs: timeoutSeconds * 1000, signal, onPoll: follow });
  if (outcome.state === 'failed') io.err(`Job ${job.metadata!.name!} failed: ${outcome.reason}${outcome.exitCode === undefined ? '' : ` (exit code ${outcome.exitCode})`}`);
  else io.out(`Job ${job.metadata!.name!} succeeded`);
  return exitCodeForOutcome(outcome);
}
