/** What sync_jobs says about earlier runs, read once when the scheduler starts. */
import type { Db } from '../db/connection.js';

export interface JobHistory {
  /** When each job's last run started (any outcome except a skip: a skip did not run it). */
  readonly lastStarts: ReadonlyMap<string, Date>;
  readonly lastSuccesses: ReadonlyMap<string, Date>;
  /** Whether each job's last completed run (succeeded or failed) failed. */
  readonly lastFailed: ReadonlyMap<string, boolean>;
}

export async function readHistory(db: Db): Promise<JobHistory> {
  const starts = await db.manyOrNone<{ job_name: string; at: Date }>(
    `SELECT job_name, max(started_at) AS at FROM sync_jobs WHERE status <> 'skipped' GROUP BY job_name`,
  );
  const successes = await db.manyOrNone<{ job_name: string; at: Date }>(
    `SELECT job_name, max(finished_at) AS at FROM sync_jobs WHERE status = 'succeeded' GROUP BY job_name`,
  );
  const outcomes = await db.manyOrNone<{ job_name: string; status: string }>(
    `SELECT DISTINCT ON (job_name) job_name, status FROM sync_jobs
     WHERE status IN ('succeeded', 'failed') ORDER BY job_name, started_at DESC`,
  );
  return {
    lastStarts: new Map(starts.map((r) => [r.job_name, r.at])),
    lastSuccesses: new Map(successes.filter((r) => r.at).map((r) => [r.job_name, r.at])),
    lastFailed: new Map(outcomes.map((r) => [r.job_name, r.status === 'failed'])),
  };
}
