/** Runs one job under its advisory lock with a sync_jobs row; SIGTERM becomes a rollback and a `cancelled` row within seconds. */
import type { Config, Trigger } from '../config.js';
import { backendPids, type Db } from '../db/connection.js';
import { tryJobLock } from '../db/locks.js';
import { CancelledError, DefiSyncError, errorMessage, LockHeldError, NotImplementedError } from '../errors.js';
import type { JobContext, JobDefinition } from '../jobs/types.js';
import { logger } from '../logger.js';
import { pushRunMetrics } from '../metrics/push.js';
import type { FinishedStatus } from '../metrics/run-metrics.js';
import { redact } from '../redact.js';
import { currentRun, finishRun, markAbandoned, recordSkipped, startRun } from './run-tracker.js';
import { emptyStats, type RunStats } from './stats.js';

/** How often a cancelled run looks again for statements to cancel. */
const CANCEL_INTERVAL_MS = 100;

export interface RunRequest {
  readonly job: JobDefinition;
  readonly config: Config;
  readonly db: Db;
  /** Parsed by commander from the job's `options`. */
  readonly options: object;
  readonly signal: AbortSignal;
  readonly trigger?: Trigger;
}

export interface RunOutcome {
  readonly runId: number;
  readonly status: 'succeeded';
  readonly stats: RunStats;
  readonly durationMs: number;
}

export async function runJob(req: RunRequest): Promise<RunOutcome> {
  const { job, config, db, options, signal } = req;
  const trigger = req.trigger ?? config.trigger;
  if (!job.load) throw new NotImplementedError(`the job "${job.name}" is registered but not implemented in this version of defi-sync`);
  const instance = job.instance?.(options, config);
  const log = logger().child(instance ? { job: job.name, instance } : { job: job.name });

  // Compile the job's modules during the lock and bookkeeping round trips; a failed import is still recorded as a failed run.
  const loading = job.load();
  loading.catch(() => undefined);
  const lock = await tryJobLock(db, job.name, instance);
  if (!lock) {
    const holder = await currentRun(db, job.name);
    const who = holder ? ` (run ${holder.id} started ${holder.started_at.toISOString()} on ${holder.host ?? 'an unknown host'})` : '';
    const message = `another run of ${job.name} holds its lock${who}; this run was skipped`;
    await recordSkipped(db, job.name, trigger, { ...options }, message);
    throw new LockHeldError(message);
  }

  // Bookkeeping uses the lock's connection, which cancellation spares: recording `cancelled` cannot be cancelled itself.
  const book = lock.conn;
  const stats = emptyStats();
  let runId = 0;
  let outcome: FinishedStatus = 'failed';
  const t0 = performance.now();
  // On abort, keep cancelling this process's own statements (a queued lock starts late) until the job settles and all are idle.
  let settled = false;
  let cancelling: Promise<void> | undefined;
  const cancelOwnStatements = async () => {
    for (;;) {
      const { busy } = await book
        .one<{ busy: number }>(
          `SELECT count(*) FILTER (WHERE state <> 'idle') AS busy, count(pg_cancel_backend(pid)) FILTER (WHERE state = 'active') AS cancelled
           FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND pid <> pg_backend_pid()`,
          [backendPids(db)],
        )
        .catch((error: unknown) => {
          log.warn({ error: errorMessage(error) }, 'could not cancel running statements');
          return { busy: 0 };
        });
      if (settled && busy === 0) return;
      await new Promise((resolve) => setTimeout(resolve, CANCEL_INTERVAL_MS));
    }
  };
  const onAbort = () => {
    log.warn('cancellation requested: rolling back');
    cancelling = cancelOwnStatements();
  };
  const settle = async () => {
    settled = true;
    await cancelling;
  };
  try {
    const abandoned = await markAbandoned(book, job.name, instance);
    if (abandoned) log.warn({ abandoned }, 'earlier runs of this job died without recording an outcome; marked abandoned');
    runId = await startRun(book, job.name, trigger, instance ? { ...options, instance } : { ...options });
    log.info({ runId, trigger }, `${job.name} started`);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) throw new CancelledError('cancelled before it started');

    const mod = await loading;
    const ctx: JobContext = { runId, config, db, log, signal, options, stats };
    await mod.run(ctx);
    await settle();
    if (signal.aborted) throw new CancelledError(`${job.name} was cancelled`);

    await finishRun(book, runId, 'succeeded', stats);
    outcome = 'succeeded';
    const durationMs = Math.round(performance.now() - t0);
    log.info({ runId, durationMs, ...summary(stats) }, `${job.name} succeeded`);
    return { runId, status: 'succeeded', stats, durationMs };
  } catch (raw) {
    const error = signal.aborted && !(raw instanceof CancelledError) ? new CancelledError(`${job.name} was cancelled by ${reasonOf(signal)}`, { cause: raw }) : raw;
    outcome = error instanceof CancelledError ? 'cancelled' : 'failed';
    const message = redact(errorMessage(error));
    await settle();
    if (runId) {
      await finishRun(book, runId, outcome, stats, message).catch((e: unknown) => log.error({ error: errorMessage(e) }, 'could not record the outcome of the run'));
    }
    const durationMs = Math.round(performance.now() - t0);
    if (outcome === 'cancelled') log.warn({ runId, durationMs, ...summary(stats) }, `${job.name} cancelled: ${message}`);
    else log.error({ runId, durationMs, ...summary(stats), error: message, ...(error instanceof DefiSyncError ? {} : { stack: redact((error as Error)?.stack ?? '') }) }, `${job.name} failed: ${message}`);
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    await settle();
    await lock.release().catch(() => undefined);
    await pushRunMetrics({ config, db, log, job: job.name, instance, status: outcome, stats, durationMs: Math.round(performance.now() - t0) });
  }
}

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message.replace(/^received /, '') : 'a signal';
}

function summary(stats: RunStats) {
  const { details: _details, ...counts } = stats;
  return counts;
}
