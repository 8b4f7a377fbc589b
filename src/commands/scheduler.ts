/** `defi-sync scheduler`: runs every enabled job on its schedule until SIGTERM/SIGINT, and serves /metrics and /healthz. */
import type { Config } from '../config.js';
import { openWarehouse } from '../db/warehouse.js';
import { CancelledError, ConfigError, errorMessage, ExitCode } from '../errors.js';
import { logger } from '../logger.js';
import { schedulerMetrics } from '../metrics/scheduler-metrics.js';
import { startMetricsServer, type MetricsServer } from '../metrics/server.js';
import { childProcessLauncher, selfCommand } from '../scheduler/child-run.js';
import { readHistory } from '../scheduler/history.js';
import { missedRuns, schedulePlan } from '../scheduler/plan.js';
import { Scheduler, type SchedulerSnapshot } from '../scheduler/scheduler.js';

export interface SchedulerCliOptions {
  readonly catchUp?: boolean;
  readonly metricsPort?: number | 'off';
  readonly gracePeriod?: number;
}

/** Extra time the process may take after the grace period: killing, recording, closing. */
export const SHUTDOWN_MARGIN_MS = 10_000;

/** `port` undefined: no metrics server. */
export function schedulerSettings(config: Pick<Config, 'schedulerGraceSeconds' | 'metricsPort' | 'schedulerCatchUp'>, options: SchedulerCliOptions) {
  return {
    graceMs: (options.gracePeriod ?? config.schedulerGraceSeconds) * 1000,
    port: options.metricsPort === 'off' ? undefined : (options.metricsPort ?? config.metricsPort),
    catchUp: options.catchUp ?? config.schedulerCatchUp,
  };
}

/** Runs until `signal` aborts, then throws CancelledError (exit 143); `allowShutdownMs` tells bin.ts how long shutdown may take. */
export async function cmdScheduler(config: Config, options: SchedulerCliOptions, signal: AbortSignal, allowShutdownMs: (ms: number) => void): Promise<void> {
  const log = logger().child({ component: 'scheduler' });
  const { graceMs, port, catchUp } = schedulerSettings(config, options);
  // signal.reason is bin.ts's CancelledError naming the signal.
  const cancelled = () => new CancelledError(`scheduler stopped (${errorMessage(signal.reason)})`);
  allowShutdownMs(graceMs + SHUTDOWN_MARGIN_MS);

  const plan = schedulePlan(config);
  for (const { job, why } of plan.left) log.info({ job }, `${job} is not scheduled: ${why}`);
  if (plan.scheduled.length === 0) {
    throw new ConfigError('no job to schedule: every job is disabled (DISABLED_JOBS, SCHEDULE_<JOB>=off) or not implemented');
  }

  let scheduler: Scheduler | undefined;
  const snapshot = (): SchedulerSnapshot => scheduler?.snapshot() ?? { state: 'created', running: [], queued: [], next: [] };
  const metrics = schedulerMetrics(plan.scheduled, snapshot);
  let server: MetricsServer | undefined;
  if (port !== undefined) {
    // Before the database: a port clash is reported at once, not after starting PostgreSQL.
    server = await startMetricsServer({ port, registry: metrics.registry, health: () => health(snapshot(), signal.aborted) });
    log.info({ port: server.port }, `serving /metrics and /healthz on port ${server.port}`);
  }

  try {
    const warehouse = await openWarehouse(config, `defi-sync:scheduler:${process.pid}`, 'require-current');
    try {
      if (signal.aborted) throw cancelled();
      const history = await readHistory(warehouse.db);
      metrics.seed(history);
      const catchUpJobs = catchUp ? missedRuns(plan.scheduled, history.lastStarts, new Date()) : [];
      if (catchUp) log.info({ jobs: catchUpJobs }, catchUpJobs.length ? 'catching up missed runs' : 'no missed runs to catch up');

      // A run skipped for the lock exits 75, so the scheduler can tell a skip from a success.
      const env: NodeJS.ProcessEnv = { ...process.env, DEFI_SYNC_TRIGGER: 'scheduler', SKIPPED_EXIT_CODE: String(ExitCode.LockHeld) };
      // Runs use the server this process keeps up instead of each starting and stopping it.
      if (warehouse.embedded) env.DATABASE_URL = warehouse.embedded.url;

      const launch = childProcessLauncher(selfCommand(), env);
      scheduler = new Scheduler({ jobs: plan.scheduled, maxConcurrent: config.maxConcurrentJobs, launch, log, hooks: metrics.hooks });
      scheduler.start(catchUpJobs);
      const jobs = plan.scheduled.map((j) => `${j.name} (${j.cron}, ${j.priority})`);
      log.info({ jobs, maxConcurrentJobs: config.maxConcurrentJobs, graceSeconds: graceMs / 1000 }, 'scheduler started');

      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      const result = await scheduler.stop(graceMs);
      log.info({ stopped: result.stopped, killed: result.killed, dropped: result.dropped }, 'scheduler stopped');
      throw cancelled();
    } finally {
      await warehouse.close();
    }
  } finally {
    await server?.close();
  }
}

function health(s: SchedulerSnapshot, stopping: boolean) {
  const status = stopping || s.state === 'stopping' || s.state === 'stopped' ? 'stopping' : s.state === 'created' ? 'starting' : 'ok';
  return {
    ok: status === 'ok',
    body: {
      status,
      running: s.running.map((r) => ({ job: r.job, pid: r.pid, startedAt: new Date(r.startedAt).toISOString() })),
      waiting: s.queued.map((r) => r.job),
      next: s.next.map((n) => ({ job: n.job, at: n.at === undefined ? null : new Date(n.at).toISOString() })),
    },
  };
}
