/** What sync_jobs says about earlier runs, read once when the scheduler starts. */
import type { Db } from '../db/connection.js';

export interface JobHistory {
  /** Skips excluded: they did not run the job. */
  readonly lastStarts: ReadonlyMap<string, Date>;
  readonly lastSuccesses: ReadonlyMap<string, Date>;
  /** Whether the last succeeded-or-failed run failed. */
  readonly lastFailed: ReadonlyMap<string, boolean>;
}

type At = { job_name: string; at: Date };

export async function readHistory(db: Db): Promise<JobHistory> {
  const starts = await db.manyOrNone<At>(`SELECT job_name, max(started_at) AS at FROM sync_jobs WHERE status <> 'skipped' GROUP BY job_name`);
  const successes = await db.manyOrNone<At>(`SELECT job_name, max(finished_at) AS at FROM sync_jobs WHERE status = 'succeeded' GROUP BY job_name`);
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
