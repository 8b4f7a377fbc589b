/** The scheduler's waiting line: pure data, no timers or processes, so the ordering is tested on its own. */
import { PRIORITIES, type Priority } from '../jobs/types.js';

export type RunReason = 'schedule' | 'catch-up';

export interface QueuedRun {
  readonly job: string;
  readonly priority: Priority;
  /** ms since the epoch */
  readonly dueAt: number;
  readonly reason: RunReason;
}

export class RunQueue {
  private readonly waiting: QueuedRun[] = [];

  /** Adds a run unless the job is already waiting: a late job runs once, not once per missed tick. */
  enqueue(run: QueuedRun): boolean {
    if (this.waiting.some((r) => r.job === run.job)) return false;
    this.waiting.push(run);
    // Priority first (immediate > high > medium > low), then the earlier due time; the sort is stable, so then arrival.
    this.waiting.sort((a, b) => PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority) || a.dueAt - b.dueAt);
    return true;
  }

  take(): QueuedRun | undefined {
    return this.waiting.shift();
  }

  drain(): QueuedRun[] {
    return this.waiting.splice(0);
  }

  get length(): number {
    return this.waiting.length;
  }

  list(): QueuedRun[] {
    return [...this.waiting];
  }
}
