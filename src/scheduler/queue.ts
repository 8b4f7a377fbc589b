/**
 * The waiting line of the local scheduler: which due run starts next when a slot frees up.
 * Pure data, no timers or processes, so the ordering rules are tested on their own.
 */
import { PRIORITIES, type Priority } from '../jobs/types.js';

export type RunReason = 'schedule' | 'catch-up';

export interface QueuedRun {
  readonly job: string;
  readonly priority: Priority;
  /** When the run was due (ms since the epoch). */
  readonly dueAt: number;
  readonly reason: RunReason;
}

const RANK: Readonly<Record<Priority, number>> = Object.fromEntries(PRIORITIES.map((p, i) => [p, i])) as Record<Priority, number>;

/** Priority first (immediate > high > medium > low), then the earlier due time, then arrival. */
export function compareRuns(a: QueuedRun & { seq: number }, b: QueuedRun & { seq: number }): number {
  return RANK[a.priority] - RANK[b.priority] || a.dueAt - b.dueAt || a.seq - b.seq;
}

export class RunQueue {
  private readonly waiting: (QueuedRun & { seq: number })[] = [];
  private seq = 0;

  /** Adds a run unless the job is already waiting: a late job runs once, not once per missed tick. */
  enqueue(run: QueuedRun): boolean {
    if (this.has(run.job)) return false;
    this.waiting.push({ ...run, seq: this.seq++ });
    this.waiting.sort(compareRuns);
    return true;
  }

  has(job: string): boolean {
    return this.waiting.some((r) => r.job === job);
  }

  /** Removes and returns the run that should start next, or undefined when none waits. */
  take(): QueuedRun | undefined {
    const next = this.waiting.shift();
    if (!next) return undefined;
    const { seq: _seq, ...run } = next;
    return run;
  }

  /** Empties the queue (on shutdown) and returns what was waiting, in start order. */
  drain(): QueuedRun[] {
    const all: QueuedRun[] = [];
    for (let r = this.take(); r; r = this.take()) all.push(r);
    return all;
  }

  get length(): number {
    return this.waiting.length;
  }

  /** The waiting runs in start order (a copy). */
  list(): QueuedRun[] {
    return this.waiting.map(({ seq: _seq, ...run }) => run);
  }
}
