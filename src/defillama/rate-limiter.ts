// DeFiLlama publishes no limit: every request start in the process (retries too) is spaced API_RATE_LIMIT_MS apart.
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
