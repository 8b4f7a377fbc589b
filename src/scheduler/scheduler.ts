/** Starts runs on their cron schedules, at most maxConcurrent at once, waiting ones by priority; a run is whatever `launch` starts. */
import { Cron } from 'croner';
import { errorMessage } from '../errors.js';
import type { Priority } from '../jobs/types.js';
import type { Logger } from '../logger.js';
import type { Launcher, RunHandle, RunResult } from './child-run.js';
import { systemClock, type Clock, type Timer } from './clock.js';
import { RunQueue, type QueuedRun, type RunReason } from './queue.js';

export interface ScheduledJob {
  readonly name: string;
  readonly priority: Priority;
  /** UTC; tests may use six fields (seconds). */
  readonly cron: string;
}

export interface StartedRun extends QueuedRun {
  readonly pid: number | undefined;
  readonly startedAt: number;
}

export type MissedReason = 'still running' | 'already waiting';

export interface SchedulerHooks {
  started?(run: StartedRun): void;
  finished?(run: StartedRun, result: RunResult, finishedAt: number): void;
  missed?(job: string, dueAt: number, why: MissedReason): void;
}

export interface SchedulerOptions {
  readonly jobs: readonly ScheduledJob[];
  readonly maxConcurrent: number;
  readonly launch: Launcher;
  readonly log: Logger;
  readonly hooks?: SchedulerHooks;
  readonly clock?: Clock;
}

export interface SchedulerSnapshot {
  readonly state: 'created' | 'running' | 'stopping' | 'stopped';
  readonly running: readonly StartedRun[];
  readonly queued: readonly QueuedRun[];
  readonly next: readonly { job: string; at: number | undefined }[];
}

export interface StopResult {
  readonly dropped: readonly string[];
  readonly stopped: readonly string[];
  readonly killed: readonly string[];
}

interface Entry {
  readonly job: ScheduledJob;
  readonly cron: Cron;
  next: number | undefined;
}

/** After SIGKILL, how long to wait for the kernel to report the exit. */
const KILL_WAIT_MS = 5_000;

export class Scheduler {
  private readonly entries: Entry[];
  private readonly queue = new RunQueue();
  private readonly active = new Map<string, { run: StartedRun; handle: RunHandle }>();
  private readonly clock: Clock;
  private readonly hooks: SchedulerHooks;
  private readonly log: Logger;
  private state: SchedulerSnapshot['state'] = 'created';
  private timer: Timer | undefined;

  constructor(private readonly options: SchedulerOptions) {
    this.entries = options.jobs.map((job) => ({ job, cron: new Cron(job.cron, { timezone: 'Etc/UTC', paused: true }), next: undefined }));
    this.clock = options.clock ?? systemClock;
    this.hooks = options.hooks ?? {};
    this.log = options.log;
  }

  /** Starts the timers; `catchUp` jobs are queued at once, as if due now. */
  start(catchUp: readonly string[] = []): void {
    this.state = 'running';
    const now = this.clock.now();
    for (const e of this.entries) e.next = nextAfter(e, now);
    for (const name of catchUp) this.due(this.entries.find((e) => e.job.name === name)!, now, 'catch-up');
    this.dispatch();
    this.arm();
  }

  /** SIGTERM the running runs (each rolls back and records itself cancelled), wait up to graceMs, then kill what is left. */
  async stop(graceMs: number): Promise<StopResult> {
    this.state = 'stopping';
    this.arm();
    const dropped = this.queue.drain().map((r) => r.job);
    if (dropped.length) this.log.info({ jobs: dropped }, 'shutting down: waiting runs will not start');
    const running = [...this.active.values()];
    if (running.length) this.log.info({ jobs: running.map((a) => a.run.job), graceMs }, 'shutting down: sending SIGTERM to running jobs');
    for (const a of running) a.handle.signal('SIGTERM');

    const exited = new Set<string>();
    await within(Promise.all(running.map((a) => a.handle.done.then(() => exited.add(a.run.job)))), graceMs);
    const stopped = [...exited]; // before the killed ones exit too
    const killed = running.filter((a) => !exited.has(a.run.job));
    if (killed.length) {
      this.log.error({ jobs: killed.map((a) => a.run.job), graceMs }, 'shutting down: jobs still running after the grace period were killed');
      for (const a of killed) a.handle.signal('SIGKILL');
      await within(Promise.all(killed.map((a) => a.handle.done)), KILL_WAIT_MS);
    }
    this.state = 'stopped';
    return { dropped, stopped, killed: killed.map((a) => a.run.job) };
  }

  snapshot(): SchedulerSnapshot {
    return {
      state: this.state,
      running: [...this.active.values()].map((a) => a.run),
      queued: this.queue.list(),
      next: this.entries.map((e) => ({ job: e.job.name, at: e.next })),
    };
  }

  private tick(): void {
    this.timer = undefined;
    if (this.state !== 'running') return;
    const now = this.clock.now();
    for (const e of this.entries) {
      if (e.next === undefined || e.next > now) continue;
      this.due(e, e.next, 'schedule');
      // Occurrences missed while the process slept are not replayed: the next one is after now.
      e.next = nextAfter(e, Math.max(now, e.next));
    }
    this.dispatch();
    this.arm();
  }

  private due(e: Entry, dueAt: number, reason: RunReason): void {
    const job = e.job.name;
    if (this.active.has(job)) {
      this.log.warn({ job, dueAt: new Date(dueAt).toISOString() }, `${job} is due but its previous run is still running: this run is skipped`);
      this.safely(() => this.hooks.missed?.(job, dueAt, 'still running'));
      return;
    }
    if (!this.queue.enqueue({ job, priority: e.job.priority, dueAt, reason })) {
      this.log.warn({ job }, `${job} is due but already waiting for a free slot: runs once`);
      this.safely(() => this.hooks.missed?.(job, dueAt, 'already waiting'));
    }
  }

  private dispatch(): void {
    while (this.state === 'running' && this.active.size < this.options.maxConcurrent) {
      const run = this.queue.take();
      if (!run) break;
      this.launch(run);
    }
    if (!this.queue.length) return;
    this.log.debug({ waiting: this.queue.list().map((r) => r.job), running: [...this.active.keys()] }, 'all slots busy: jobs are waiting');
  }

  private launch(queued: QueuedRun): void {
    const startedAt = this.clock.now();
    let handle: RunHandle;
    try {
      handle = this.options.launch(queued.job);
    } catch (error) {
      const detail = `could not start: ${errorMessage(error)}`;
      handle = { pid: undefined, done: Promise.resolve({ outcome: 'failed', code: null, signal: null, detail }), signal: () => undefined };
    }
    const run: StartedRun = { ...queued, pid: handle.pid, startedAt };
    this.active.set(run.job, { run, handle });
    this.log.info({ job: run.job, pid: run.pid, reason: run.reason, waitedMs: Math.max(0, startedAt - run.dueAt) }, `${run.job} started`);
    this.safely(() => this.hooks.started?.(run));
    void handle.done.then((result) => this.finished(run, result));
  }

  private finished(run: StartedRun, result: RunResult): void {
    this.active.delete(run.job);
    const finishedAt = this.clock.now();
    const fields = { job: run.job, pid: run.pid, outcome: result.outcome, exitCode: result.code, signal: result.signal ?? undefined, durationMs: finishedAt - run.startedAt };
    // A skip is no error: the run holding the lock (started by hand, on another host) does the work.
    if (result.outcome === 'succeeded') this.log.info(fields, `${run.job} succeeded`);
    else if (result.outcome === 'skipped') this.log.info(fields, `${run.job} skipped: another run holds its lock`);
    else if (result.outcome === 'cancelled') this.log.warn(fields, `${run.job} cancelled`);
    else this.log.error(fields, `${run.job} failed (${result.detail ?? 'unknown reason'}); the next runs are scheduled as usual`);
    this.safely(() => this.hooks.finished?.(run, result, finishedAt));
    this.dispatch();
  }

  /** An observer's bug must not stop the scheduling. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.warn({ error: errorMessage(error) }, 'a scheduler hook failed');
    }
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.state !== 'running') return;
    const next = Math.min(...this.entries.map((e) => e.next ?? Infinity));
    if (next === Infinity) return;
    this.timer = this.clock.setTimer(() => this.tick(), Math.max(0, next - this.clock.now()));
  }
}

function nextAfter(e: Entry, ms: number): number | undefined {
  return e.cron.nextRun(new Date(ms))?.getTime();
}

/** Waits for p (which never rejects), or at most ms milliseconds (real time: it bounds how long processes get). */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
