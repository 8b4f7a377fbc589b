/** `defi-sync <job>` and `defi-sync run-all`. */
import { Command } from 'commander';
import type { Config } from '../config.js';
import { LockHeldError, PipelineIncompleteError } from '../errors.js';
import { withWarehouse } from '../db/warehouse.js';
import { DAILY_PIPELINE, findJob } from '../jobs/registry.js';
import type { ForceOptions, JobDefinition } from '../jobs/types.js';
import { logger } from '../logger.js';
import { runJob } from '../runs/job-runner.js';

export function applicationName(job: string): string {
  // For pg_stat_activity only: not unique (a container's pid is 1), so cancellation goes by backend pids instead.
  return `defi-sync:${job}:${process.pid}`;
}

export async function cmdRunJob(config: Config, job: JobDefinition, options: object, signal: AbortSignal): Promise<void> {
  // Compile the job's modules while the warehouse connects; runJob awaits the import and records a failure.
  job.load?.().catch(() => undefined);
  await withWarehouse(config, applicationName(job.name), 'require-current', ({ db }) => runJob({ job, config, db, options, signal }));
}

export async function cmdRunAll(config: Config, options: ForceOptions, signal: AbortSignal): Promise<void> {
  await withWarehouse(config, applicationName('run-all'), 'require-current', async ({ db }) => {
    const t0 = performance.now();
    for (const [i, name] of DAILY_PIPELINE.entries()) {
      const job = findJob(name)!;
      // A failed step stops the pipeline: later steps would build on missing data.
      try {
        await runJob({ job, config, db, options: stepOptions(job, options), signal });
      } catch (error) {
        const rest = DAILY_PIPELINE.slice(i + 1);
        if (!(error instanceof LockHeldError) || rest.length === 0) throw error;
        throw new PipelineIncompleteError(`run-all stopped: ${name} was skipped because another run holds its lock, so ${rest.join(', ')} did not run`);
      }
    }
    logger().info({ jobs: DAILY_PIPELINE, durationMs: Math.round(performance.now() - t0) }, 'run-all finished');
  });
}

/** A step's options: its defaults, as commander sets them, and run-all's own for the steps that declare them (--force). */
export function stepOptions(job: JobDefinition, options: ForceOptions): object {
  const command = new Command();
  for (const option of job.options ?? []) command.addOption(option);
  const declared = new Set(command.options.map((o) => o.attributeName()));
  return { ...command.opts(), ...Object.fromEntries(Object.entries(options).filter(([key]) => declared.has(key))) };
}
