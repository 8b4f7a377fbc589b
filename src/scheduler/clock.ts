/** Time for the scheduler: the real one, or one that tests move by hand. */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): number;
  /** Calls fn once, after ms milliseconds or sooner: the scheduler re-checks what is due on each call. */
  setTimer(fn: () => void, ms: number): Timer;
}

/** Waking this often bounds how late a suspended machine or a clock step makes a run. */
const MAX_SLEEP_MS = 60_000;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const handle = setTimeout(fn, Math.max(0, Math.min(ms, MAX_SLEEP_MS)));
    return { cancel: () => clearTimeout(handle) };
  },
};
