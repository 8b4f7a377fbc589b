import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CancelledError } from '../../src/errors.js';
import { RequestSpacer } from '../../src/defillama/rate-limiter.js';

test('concurrent callers get start times at least the interval apart, in call order', async () => {
  const spacer = new RequestSpacer();
  const t0 = performance.now();
  const order: number[] = [];
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      spacer.acquire(40).then(() => {
        order.push(i);
        times.push(performance.now() - t0);
      }),
    ),
  );
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
  // Timers may fire late under load, never (more than rounding) early.
  times.forEach((t, k) => assert.ok(t >= k * 40 - 2, `caller ${k} started at ${t.toFixed(1)} ms`));
});

test('an interval of 0 does not wait: every caller starts before any timer could fire', async () => {
  const spacer = new RequestSpacer();
  // setImmediate runs after the pending promise jobs; a caller that waited on a timer loses the race.
  const immediate = () => new Promise<'timer'>((resolve) => setImmediate(() => resolve('timer')));
  for (let i = 0; i < 100; i++) assert.equal(await Promise.race([spacer.acquire(0).then(() => 'started' as const), immediate()]), 'started', `caller ${i}`);
  // Control: a caller that must wait does lose the race, so the check above can fail.
  await spacer.acquire(50);
  assert.equal(await Promise.race([spacer.acquire(50).then(() => 'started' as const), immediate()]), 'timer');
});

test('a caller waiting for its slot can be cancelled', async () => {
  const spacer = new RequestSpacer();
  await spacer.acquire(10_000);
  const controller = new AbortController();
  const waiting = spacer.acquire(10_000, controller.signal);
  controller.abort();
  await assert.rejects(waiting, CancelledError);
});
