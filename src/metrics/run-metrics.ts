/** One finished run's metrics, to push (a run is too short to scrape). The chart's PrometheusRule queries these names. */
import { Gauge, Registry } from 'prom-client';
import type { RunStats } from '../runs/stats.js';

export type FinishedStatus = 'succeeded' | 'failed' | 'cancelled';

export interface FinishedRun {
  readonly job: string;
  readonly status: FinishedStatus;
  readonly stats: RunStats;
  readonly durationMs: number;
  readonly finishedAt: Date;
  /** When the job last succeeded before this run, if known (reported when this run did not succeed). */
  readonly lastSuccessAt?: Date | null;
}

/** Exported as defi_sync_records{outcome=...}. */
const RECORD_OUTCOMES = ['processed', 'created', 'updated', 'unchanged', 'deactivated', 'failed'] as const;

/** Gauges that the scheduler's /metrics exports too, with the same name and help. */
export const SHARED_GAUGES = Object.freeze({
  lastRunStatus: { name: 'defi_sync_last_run_status', help: 'Outcome of the last completed run: 0 succeeded, 1 failed (a cancelled run leaves it unchanged).' },
  lastSuccess: { name: 'defi_sync_last_success_timestamp_seconds', help: 'When the job last finished successfully, in seconds since the epoch.' },
  duration: { name: 'defi_sync_run_duration_seconds', help: 'Duration of the last run in seconds.' },
});

/** Value of defi_sync_last_run_status: the alert fires on 1. */
export const RUN_STATUS_VALUE = Object.freeze({ succeeded: 0, failed: 1 });

const seconds = (d: Date): number => d.getTime() / 1000;

export function runMetricsRegistry(run: FinishedRun): Registry {
  const registry = new Registry();
  const job_name = run.job;
  const gauge = ({ name, help }: { name: string; help: string }, labelNames = ['job_name']) => new Gauge({ name, help, labelNames, registers: [registry] });

  gauge(SHARED_GAUGES.duration).set({ job_name }, run.durationMs / 1000);
  gauge({ name: 'defi_sync_last_run_timestamp_seconds', help: 'When the last run finished, whatever its outcome, in seconds since the epoch.' }).set({ job_name }, seconds(run.finishedAt));
  const records = gauge({ name: 'defi_sync_records', help: 'Records handled by the last run, by outcome.' }, ['job_name', 'outcome']);
  for (const outcome of RECORD_OUTCOMES) records.set({ job_name, outcome }, run.stats[outcome]);
  gauge({ name: 'defi_sync_api_calls', help: 'API requests made by the last run.' }).set({ job_name }, run.stats.apiCalls);
  gauge({ name: 'defi_sync_retries', help: 'Retried API requests in the last run.' }).set({ job_name }, run.stats.retries);
  gauge({ name: 'defi_sync_rate_limit_hits', help: 'HTTP 429 responses received by the last run.' }).set({ job_name }, run.stats.rateLimitHits);

  // A cancelled run (a deployment, a shutdown) says nothing about the job's health.
  if (run.status !== 'cancelled') gauge(SHARED_GAUGES.lastRunStatus).set({ job_name }, RUN_STATUS_VALUE[run.status]);
  const lastSuccess = run.status === 'succeeded' ? run.finishedAt : run.lastSuccessAt;
  if (lastSuccess) gauge(SHARED_GAUGES.lastSuccess).set({ job_name }, seconds(lastSuccess));
  return registry;
}
