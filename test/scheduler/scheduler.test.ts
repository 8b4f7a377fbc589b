/**
 * The scheduling rules with a hand-moved clock and runs the test finishes itself: hours of
 * schedule in milliseconds. Real child processes are in processes.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { Launcher, RunResult } from '../../src/scheduler/child-run.js';
import type { Clock } from '../../src/scheduler/clock.js';
import { Scheduler, type MissedReason, type ScheduledJob } from '../../src/scheduler/scheduler.js';

const silent = pino({ level: 'silent' });
const at = (iso: string) => Date.parse(iso);

class FakeClock implements Clock {
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number) {
    const timer = { at: this.t + ms, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }
  /** Moves time forward to `target`, firing each timer at its own time. */
  async advanceTo(target: number): Promise<void> {
    await settle();
    for (;;) {
      this.timers = this.timers.filter((x) => !x.cancelled);
      const next = this.timers.filter((x) => x.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      this.t = next.at;
      next.fn();
      await settle();
    }
    this.t = target;
  }
  /** Time jumps (a suspended machine): overdue timers fire late, all at `target`. */
  async jump(target: number): Promise<void> {
    await settle();
    this.t = target;
    const due = this.timers.filter((x) => !x.cancelled && x.at <= target);
    this.timers = this.timers.filter((x) => !due.includes(x));
    for (const x of due) {
      x.fn();
      await settle();
    }
  }
}

/** Lets promise callbacks (a finished run) run. */
const settle = () => new Promise((r) => setImmediate(r));

/** Runs that last until the test finishes them. */
function fakeRuns(clock: FakeClock) {
  const started: { job: string; at: number }[] = [];
  const signals: [string, NodeJS.Signals][] = [];
  const open = new Map<string, (r: RunResult) => void>();
  const launch: Launcher = (job) => {
    started.push({ job, at: clock.now() });
    let resolve!: (r: RunResult) => void;
    const done = new Promise<RunResult>((r) => (resolve = r));
    open.set(job, resolve);
    return {
      pid: 1000 + started.length,
      done,
      signal(sig) {
        signals.push([job, sig]);
        if (sig === 'SIGKILL') finish(job, { outcome: 'failed', code: null, signal: 'SIGKILL' });
      },
    };
  };
  const finish = (job: string, result: RunResult = { outcome: 'succeeded', code: 0, signal: null }) => {
    const resolve = open.get(job);
    assert.ok(resolve, `${job} is not running`);
    open.delete(job);
    resolve(result);
  };
  return { launch, started, signals, finish, names: () => started.map((s) => s.job) };
}

function scheduler(clock: FakeClock, jobs: ScheduledJob[], maxConcurrent: number) {
  const runs = fakeRuns(clock);
  const missed: [string, MissedReason][] = [];
  let peak = 0;
  const s = new Scheduler({
    jobs, maxConcurrent, launch: runs.launch, log: silent, clock,
    hooks: {
      started: () => void (peak = Math.max(peak, s.snapshot().running.length)),
      missed: (job, _dueAt, why) => void missed.push([job, why]),
    },
  });
  return { s, runs, missed, peak: () => peak };
}

test('several jobs due at once: at most MAX_CONCURRENT_JOBS run, the others start by priority as slots free', async () => {
  const clock = new FakeClock(at('2026-03-01T02:59:00Z'));
  const daily = '0 3 * * *';
  const { s, runs, peak } = scheduler(clock, [
    { name: 'cleanup-old-data', priority: 'low', cron: daily },
    { name: 'map-contracts', priority: 'medium', cron: daily },
    { name: 'sync-pools', priority: 'high', cron: daily },
    { name: 'sync-chains', priority: 'high', cron: daily },
    { name: 'urgent', priority: 'immediate', cron: daily },
  ], 2);
  s.start();
  await clock.advanceTo(at('2026-03-01T02:59:59Z'));
  assert.deepEqual(runs.names(), [], 'nothing before 03:00');

  await clock.advanceTo(at('2026-03-01T03:00:00Z'));
  assert.deepEqual(runs.names(), ['urgent', 'sync-pools']);
  assert.equal(runs.started[0]!.at, at('2026-03-01T03:00:00Z'));
  assert.deepEqual(s.snapshot().queued.map((r) => r.job), ['sync-chains', 'map-contracts', 'cleanup-old-data']);

  await clock.advanceTo(at('2026-03-01T03:10:00Z'));
  runs.finish('sync-pools');
  await settle();
  assert.deepEqual(runs.names(), ['urgent', 'sync-pools', 'sync-chains']);
  runs.finish('urgent');
  await settle();
  runs.finish('sync-chains');
  await settle();
  assert.deepEqual(runs.names(), ['urgent', 'sync-pools', 'sync-chains', 'map-contracts', 'cleanup-old-data']);
  assert.equal(peak(), 2);
  runs.finish('map-contracts');
  runs.finish('cleanup-old-data');
  await settle();
  assert.deepEqual(s.snapshot().running, []);
  await s.stop(0);
});

test('priority beats due time; among equal priorities the earlier due time goes first', async () => {
  const clock = new FakeClock(at('2026-03-01T02:59:00Z'));
  const { s, runs } = scheduler(clock, [
    { name: 'long', priority: 'high', cron: '0 3 * * *' },
    { name: 'low-early', priority: 'low', cron: '1 3 * * *' },
    { name: 'medium-late', priority: 'medium', cron: '3 3 * * *' },
    { name: 'medium-early', priority: 'medium', cron: '2 3 * * *' },
  ], 1);
  s.start();
  await clock.advanceTo(at('2026-03-01T03:05:00Z'));
  assert.deepEqual(runs.names(), ['long']);
  assert.deepEqual(s.snapshot().queued.map((r) => r.job), ['medium-early', 'medium-late', 'low-early']);
  for (const job of ['long', 'medium-early', 'medium-late']) {
    runs.finish(job);
    await settle();
  }
  assert.deepEqual(runs.names(), ['long', 'medium-early', 'medium-late', 'low-early']);
  assert.equal(s.snapshot().queued[0], undefined);
  await s.stop(0);
});

test('a job still running at its next time is not started twice; one waiting for a slot waits once', async () => {
  const clock = new FakeClock(at('2026-03-01T00:00:30Z'));
  const { s, runs, missed } = scheduler(clock, [
    { name: 'minutely', priority: 'high', cron: '* * * * *' },
    { name: 'blocked', priority: 'low', cron: '* * * * *' },
  ], 1);
  s.start();
  await clock.advanceTo(at('2026-03-01T00:03:30Z'));
  assert.deepEqual(runs.names(), ['minutely'], 'one run in three minutes: it never finished');
  assert.deepEqual(missed, [
    ['minutely', 'still running'], ['blocked', 'already waiting'],
    ['minutely', 'still running'], ['blocked', 'already waiting'],
  ]);
  assert.deepEqual(s.snapshot().queued.map((r) => r.job), ['blocked']);
  runs.finish('minutely');
  await settle();
  assert.deepEqual(runs.names(), ['minutely', 'blocked']);
  await clock.advanceTo(at('2026-03-01T00:04:00Z'));
  assert.deepEqual(runs.names(), ['minutely', 'blocked'], 'minutely waits behind the running blocked job (cap 1)');
  runs.finish('blocked');
  await settle();
  assert.deepEqual(runs.names(), ['minutely', 'blocked', 'minutely']);
  runs.finish('minutely');
  await s.stop(0);
});

test('six-field test schedules fire by the second; catch-up runs start at once; missed times are not replayed', async () => {
  const clock = new FakeClock(at('2026-03-01T00:00:00.500Z'));
  const { s, runs } = scheduler(clock, [
    { name: 'every-10s', priority: 'medium', cron: '*/10 * * * * *' },
    { name: 'nightly', priority: 'low', cron: '0 3 * * *' },
  ], 3);
  s.start(['nightly']);
  assert.deepEqual(runs.started, [{ job: 'nightly', at: at('2026-03-01T00:00:00.500Z') }]);
  assert.equal(s.snapshot().running[0]?.reason, 'catch-up');
  runs.finish('nightly');
  for (let i = 1; i <= 3; i++) {
    await clock.advanceTo(at('2026-03-01T00:00:00Z') + i * 10_000);
    runs.finish('every-10s');
  }
  assert.deepEqual(runs.started.slice(1).map((r) => new Date(r.at).toISOString()), ['2026-03-01T00:00:10.000Z', '2026-03-01T00:00:20.000Z', '2026-03-01T00:00:30.000Z']);

  // The process sleeps for a minute (suspended laptop): one run when it wakes, not six.
  const before = runs.started.length;
  await clock.jump(at('2026-03-01T00:01:35Z'));
  assert.equal(runs.started.length, before + 1);
  assert.equal(runs.started.at(-1)!.at, at('2026-03-01T00:01:35Z'));
  runs.finish('every-10s');
  await settle();
  assert.deepEqual(s.snapshot().next.find((n) => n.job === 'every-10s'), { job: 'every-10s', at: at('2026-03-01T00:01:40Z') });
  await s.stop(0);
});

test('stop: waiting runs are dropped, running ones get SIGTERM, those still running after the grace period SIGKILL', async () => {
  const clock = new FakeClock(at('2026-03-01T02:59:00Z'));
  const { s, runs } = scheduler(clock, [
    { name: 'polite', priority: 'high', cron: '0 3 * * *' },
    { name: 'stubborn', priority: 'high', cron: '0 3 * * *' },
    { name: 'waiting', priority: 'low', cron: '0 3 * * *' },
  ], 2);
  s.start();
  await clock.advanceTo(at('2026-03-01T03:00:00Z'));
  assert.deepEqual(runs.names(), ['polite', 'stubborn']);
  const stopping = s.stop(300);
  assert.equal(s.snapshot().state, 'stopping');
  assert.deepEqual(runs.signals, [['polite', 'SIGTERM'], ['stubborn', 'SIGTERM']]);
  runs.finish('polite', { outcome: 'cancelled', code: 143, signal: null });
  const result = await stopping;
  assert.deepEqual(result, { dropped: ['waiting'], stopped: ['polite'], killed: ['stubborn'] });
  assert.deepEqual(runs.signals.at(-1), ['stubborn', 'SIGKILL']);
  assert.equal(s.snapshot().state, 'stopped');
  await clock.advanceTo(at('2026-03-02T03:00:00Z'));
  assert.equal(runs.started.length, 2, 'nothing starts after stop');
});
