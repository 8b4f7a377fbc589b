// DeFiLlama publishes no limit: every DeFiLlama client of the process (retries too) spaces its request starts
// API_RATE_LIMIT_MS apart through sharedSpacer.
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError } from '../errors.js';

export class RequestSpacer {
  private next = 0;

  /** Resolves when this caller may start a request; callers are served in call order. */
  async acquire(intervalMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new CancelledError('request cancelled');
    const now = performance.now();
    const start = Math.max(now, this.next);
    this.next = start + Math.max(0, intervalMs);
    const wait = start - now;
    if (wait < 1) return;
    await sleep(wait, undefined, { signal }).catch(() => {
      throw new CancelledError('request cancelled');
    });
  }

  /** For tests: forget earlier reservations. */
  reset(): void {
    this.next = 0;
  }
}

export const sharedSpacer = new RequestSpacer();
