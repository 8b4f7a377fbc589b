/** Pushes every finished run's metrics to PUSHGATEWAY_URL; monitoring must never break the job, so a failed push is only logged. */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pushgateway } from 'prom-client';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { errorMessage } from '../errors.js';
import type { RunStats } from '../runs/stats.js';
import type { Logger } from '../logger.js';
import { redact } from '../redact.js';
import { runMetricsRegistry, type FinishedStatus } from './run-metrics.js';

/** A run must not hang on an unreachable gateway (SIGTERM gives a run 10 s in all). */
const PUSH_TIMEOUT_MS = 5_000;

export function pushJobName(job: string): string {
  return `defi-sync-${job}`;
}

export interface PushRequest {
  readonly config: Pick<Config, 'pushgatewayUrl'> & Partial<Pick<Config, 'podNamespace' | 'release'>>;
  readonly log: Logger;
  readonly job: string;
  /** Side-by-side instances of a job (shards) push to groups of their own, or they would overwrite each other. */
  readonly instance?: string;
  readonly status: FinishedStatus;
  readonly stats: RunStats;
  readonly durationMs: number;
  /** Used to report the last success when this run did not succeed. */
  readonly db?: Db;
}

/** Returns whether the metrics were pushed; never throws. */
export async function pushRunMetrics(req: PushRequest): Promise<boolean> {
  const url = req.config.pushgatewayUrl;
  if (!url) return false;
  try {
    const lastSuccessAt = req.status === 'succeeded' || !req.db ? undefined : await lastSuccess(req.db, req.job);
    const registry = runMetricsRegistry({ job: req.job, status: req.status, stats: req.stats, durationMs: req.durationMs, finishedAt: new Date(), lastSuccessAt });
    // POST, not PUT: metrics this push leaves out (status after a cancel, success after a failure) keep the gateway's values.
    const groupings = groupingKey(req);
    await new Pushgateway(url, { timeout: PUSH_TIMEOUT_MS }, registry).pushAdd({ jobName: pushJobName(req.job), groupings });
    req.log.debug({ pushgateway: redact(url), group: pushJobName(req.job), ...groupings }, 'metrics pushed');
    return true;
  } catch (error) {
    req.log.warn({ pushgateway: redact(url), error: redact(errorMessage(error)) }, 'could not push metrics to the Pushgateway; the run itself is unaffected');
    return false;
  }
}

/** Beyond `job`: namespace and release keep installations sharing a gateway apart (the key's labels go on every metric). */
function groupingKey(req: Pick<PushRequest, 'config' | 'instance'>): Record<string, string> {
  const key: Record<string, string> = {};
  if (req.config.podNamespace) key.namespace = req.config.podNamespace;
  if (req.config.release) key.release = req.config.release;
  if (req.instance) key.instance = req.instance;
  return key;
}

/** How long to look for the last success: the run may have failed because the database is down. */
const LOOKUP_TIMEOUT_MS = 3_000;

/** The gateway may have restarted and lost it; undefined (the gateway's value stays) when the database does not answer. */
function lastSuccess(db: Db, job: string): Promise<Date | null | undefined> {
  const query = db
    .one<{ at: Date | null }>(`SELECT max(finished_at) AS at FROM sync_jobs WHERE job_name = $1 AND status = 'succeeded'`, [job])
    .then((row) => row.at, () => undefined);
  // Unreferenced: the timeout must not keep a finished run's process alive.
  return Promise.race([query, sleep(LOOKUP_TIMEOUT_MS, undefined, { ref: false })]);
}
