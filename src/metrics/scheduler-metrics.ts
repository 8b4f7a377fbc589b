/** The scheduler's /metrics; it shares gauges with the pushed metrics so the chart's alerts work without a Pushgateway. */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { RUN_OUTCOMES } from '../scheduler/child-run.js';
import type { JobHistory } from '../scheduler/history.js';
import type { ScheduledJob, SchedulerHooks, SchedulerSnapshot } from '../scheduler/scheduler.js';
import { RUN_STATUS_VALUE, SHARED_GAUGES } from './run-metrics.js';

export interface SchedulerMetrics {
  readonly registry: Registry;
  readonly hooks: SchedulerHooks;
  /** Sets the last outcomes from sync_jobs, so a restart does not make the jobs look as if they never ran. */
  seed(history: JobHistory): void;
}

export function schedulerMetrics(jobs: readonly ScheduledJob[], snapshot: () => SchedulerSnapshot): SchedulerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const runs = new Counter({ name: 'defi_sync_scheduler_runs_total', help: 'Runs started by the scheduler that have finished, by outcome.', labelNames: ['job_name', 'outcome'], registers });
  const missed = new Counter({ name: 'defi_sync_scheduler_missed_runs_total', help: 'Scheduled times at which a job was still running or already waiting, so no run was added.', labelNames: ['job_name'], registers });
  const lastStatus = new Gauge({ ...SHARED_GAUGES.lastRunStatus, labelNames: ['job_name'], registers });
  const lastSuccess = new Gauge({ ...SHARED_GAUGES.lastSuccess, labelNames: ['job_name'], registers });
  const duration = new Gauge({ ...SHARED_GAUGES.duration, labelNames: ['job_name'], registers });

  new Gauge({
    name: 'defi_sync_scheduler_running_jobs', help: 'Runs in progress.', registers,
    collect() { this.set(snapshot().running.length); },
  });
  new Gauge({
    name: 'defi_sync_scheduler_waiting_jobs', help: 'Due runs waiting for a free slot (MAX_CONCURRENT_JOBS).', registers,
    collect() { this.set(snapshot().queued.length); },
  });
  new Gauge({
    name: 'defi_sync_scheduler_next_run_timestamp_seconds', help: 'Next scheduled time of each job, in seconds since the epoch.', labelNames: ['job_name'], registers,
    collect() {
      this.reset();
      for (const n of snapshot().next) if (n.at !== undefined) this.set({ job_name: n.job }, n.at / 1000);
    },
  });

  for (const job of jobs) {
    for (const outcome of RUN_OUTCOMES) runs.inc({ job_name: job.name, outcome }, 0);
    missed.inc({ job_name: job.name }, 0);
  }

  const seed = (history: JobHistory) => {
    for (const job of jobs) {
      const failed = history.lastFailed.get(job.name);
      if (failed !== undefined) lastStatus.set({ job_name: job.name }, failed ? RUN_STATUS_VALUE.failed : RUN_STATUS_VALUE.succeeded);
      const success = history.lastSuccesses.get(job.name);
      if (success) lastSuccess.set({ job_name: job.name }, success.getTime() / 1000);
    }
  };

  const hooks: SchedulerHooks = {
    finished(run, result, finishedAt) {
      runs.inc({ job_name: run.job, outcome: result.outcome });
      if (result.outcome === 'skipped') return;
      duration.set({ job_name: run.job }, (finishedAt - run.startedAt) / 1000);
      // As in the pushed metrics, a cancelled run leaves the last outcome as it was.
      if (result.outcome === 'cancelled') return;
      lastStatus.set({ job_name: run.job }, RUN_STATUS_VALUE[result.outcome]);
      if (result.outcome === 'succeeded') lastSuccess.set({ job_name: run.job }, finishedAt / 1000);
    },
    missed(job) {
      missed.inc({ job_name: job });
    },
  };
  return { registry, hooks, seed };
}
