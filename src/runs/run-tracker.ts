/** The sync_jobs row of a run: inserted at start, completed at the end whatever the outcome. */
import type { Trigger } from '../config.js';
import type { Queryable } from '../db/connection.js';
import type { RunStats } from './stats.js';
import { hostName } from '../logger.js';
import { redact } from '../redact.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'skipped' | 'abandoned';

const MAX_ERROR_LENGTH = 2000;

export async function startRun(db: Queryable, job: string, trigger: Trigger, args: Record<string, unknown>): Promise<number> {
  const row = await db.one<{ id: number }>(
    `INSERT INTO sync_jobs (job_name, status, trigger, host, pid, args)
     VALUES ($1, 'running', $2, $3, $4, $5) RETURNING id`,
    [job, trigger, hostName(), process.pid, redactJson(args)],
  );
  return row.id;
}

export async function finishRun(db: Queryable, id: number, status: Exclude<RunStatus, 'running'>, stats: RunStats, error?: string): Promise<void> {
  await db.none(
    `UPDATE sync_jobs SET
       status = $2, finished_at = clock_timestamp(),
       duration_ms = round(extract(epoch FROM clock_timestamp() - started_at) * 1000),
       records_processed = $3, records_created = $4, records_updated = $5, records_unchanged = $6,
       records_deactivated = $7, records_failed = $8, api_calls = $9, rate_limit_hits = $10, retries = $11,
       error_message = $12, details = $13
     WHERE id = $1`,
    [
      id, status, stats.processed, stats.created, stats.updated, stats.unchanged, stats.deactivated, stats.failed,
      stats.apiCalls, stats.rateLimitHits, stats.retries,
      error === undefined ? null : redact(error).slice(0, MAX_ERROR_LENGTH),
      redactJson(stats.details),
    ],
  );
}

/** A run that could not take the lock: one finished row, so the skip is visible. */
export async function recordSkipped(db: Queryable, job: string, trigger: Trigger, args: Record<string, unknown>, reason: string): Promise<void> {
  await db.none(
    `INSERT INTO sync_jobs (job_name, status, trigger, host, pid, args, finished_at, duration_ms, error_message)
     VALUES ($1, 'skipped', $2, $3, $4, $5, clock_timestamp(), 0, $6)`,
    [job, trigger, hostName(), process.pid, redactJson(args), redact(reason)],
  );
}

/** Holding the lock proves earlier `running` rows (of this instance, if any) belong to dead processes. */
export async function markAbandoned(db: Queryable, job: string, instance?: string): Promise<number> {
  const result = await db.result(
    `UPDATE sync_jobs SET status = 'abandoned', finished_at = coalesce(finished_at, clock_timestamp()),
            error_message = coalesce(error_message, 'the process running this job stopped without recording an outcome')
     WHERE job_name = $1 AND status = 'running' AND (args ->> 'instance') IS NOT DISTINCT FROM $2`,
    [job, instance ?? null],
  );
  return result.rowCount;
}

/** For a helpful "lock held" message. */
export async function currentRun(db: Queryable, job: string): Promise<{ id: number; started_at: Date; host: string | null } | null> {
  return db.oneOrNone(
    `SELECT id, started_at, host FROM sync_jobs WHERE job_name = $1 AND status = 'running' ORDER BY started_at DESC LIMIT 1`,
    [job],
  );
}

function redactJson(value: Record<string, unknown>): string {
  return redact(JSON.stringify(value ?? {}));
}
