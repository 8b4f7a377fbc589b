/** `defi-sync <job>` and `defi-sync run-all`. */
import type { Config } from '../config.js';
import { LockHeldError, PipelineIncompleteError } from '../errors.js';
import { withWarehouse } from '../db/warehouse.js';
import { DAILY_PIPELINE, findJob } from '../jobs/registry.js';
import type { JobDefinition } from '../jobs/types.js';
import { logger } from '../logger.js';
import { runJob } from '../runs/job-runner.js';

export function applicationName(job: string): string {
  // Shows the run in pg_stat_activity. Not unique (in a container the pid is 1): cancellation
  // goes by the backend pids of this process's own connections instead.
  return `defi-sync:${job}:${process.pid}`;
}

export async function cmdRunJob(config: Config, job: JobDefinition, options: Record<string, unknown>, signal: AbortSignal): Promise<void> {
  // The job's modules compile while the warehouse connects (or an embedded server starts);
  // runJob awaits the same import and records a failed one as a failed run.
  job.load?.().catch(() => undefined);
  await withWarehouse(config, applicationName(job.name), 'require-current', async ({ db }) => {
    await runJob({ job, config, db, options, signal });
  });
}

export async function cmdRunAll(config: Config, options: Record<string, unknown>, signal: AbortSignal): Promise<void> {
  await withWarehouse(config, applicationName('run-all'), 'require-current', async ({ db }) => {
    const t0 = performance.now();
    for (const [i, name] of DAILY_PIPELINE.entries()) {
      const job = findJob(name)!;
      // A failed step stops the pipeline: later steps would build on missing data.
      try {
        await runJob({ job, config, db, options: jobOptions(job, options), signal });
      } catch (error) {
        const rest = DAILY_PIPELINE.slice(i + 1);
        if (!(error instanceof LockHeldError) || rest.length === 0) throw error;
        throw new PipelineIncompleteError(`run-all stopped: ${name} was skipped because another run holds its lock, so ${rest.join(', ')} did not run`);
      }
    }
    logger().info({ jobs: DAILY_PIPELINE, durationMs: Math.round(performance.now() - t0) }, 'run-all finished');
  });
}

/** Passes run-all's options only to the jobs that declare them (e.g. --force). */
function jobOptions(job: JobDefinition, options: Record<string, unknown>): Record<string, unknown> {
  const known = new Set((job.options ?? []).map((o) => camel(o.flags)));
  return Object.fromEntries(Object.entries(options).filter(([k]) => known.has(k)));
}

function camel(flags: string): string {
  const long = /--([a-z0-9-]+)/.exec(flags)?.[1] ?? '';
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
