/**
 * The scheduler with real child processes and real time: a stand-in run command
 * (fixtures/fake-run.mjs) whose behaviour each test chooses, on second-granularity schedules.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { childProcessLauncher, type RunResult } from '../../src/scheduler/child-run.js';
import { Scheduler, type ScheduledJob, type StartedRun } from '../../src/scheduler/scheduler.js';
import { waitFor } from '../helpers/wait.js';

const FIXTURE = join(process.cwd(), 'test', 'scheduler', 'fixtures', 'fake-run.mjs');
const dir = mkdtempSync(join(tmpdir(), 'defi-sync-sched-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Plan {
  ms?: number;
  exit?: number;
  crash?: 'throw' | 'kill';
  ignoreTerm?: boolean;
  termMs?: number;
}
interface Event {
  job: string;
  event: 'start' | 'end' | 'sigterm' | 'crash';
  pid: number;
  t: number;
  code?: number;
  trigger?: string;
  ipc?: boolean;
}

let n = 0;
function setup(jobs: ScheduledJob[], plans: Record<string, Plan>, maxConcurrent: number) {
  const log = join(dir, `events-${++n}.jsonl`);
  writeFileSync(log, '');
  const finished: { run: StartedRun; result: RunResult }[] = [];
  const started: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const scheduler = new Scheduler({
    jobs,
    maxConcurrent,
    launch: childProcessLauncher({ file: process.execPath, args: [FIXTURE] }, { PATH: process.env.PATH, DEFI_SYNC_TRIGGER: 'scheduler', FAKE_RUNS: JSON.stringify(plans), FAKE_RUN_LOG: log }),
    log: pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) }),
    hooks: { started: (run) => void started.push(run.job), finished: (run, result) => void finished.push({ run, result }) },
  });
  const events = (): Event[] => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
  return { scheduler, started, finished, events, lines };
}

/** Most processes alive at once, from their own start and end records. */
function peakConcurrency(events: Event[]): number {
  let alive = 0;
  let peak = 0;
  for (const e of [...events].sort((a, b) => a.t - b.t || (a.event === 'end' ? -1 : 1))) {
    if (e.event === 'start') peak = Math.max(peak, ++alive);
    if (e.event === 'end' || e.event === 'crash') alive--;
  }
  return peak;
}

const NEVER = '0 0 1 1 *';

test('real runs due at once: at most MAX_CONCURRENT_JOBS processes alive, started by priority', async () => {
  const jobs: ScheduledJob[] = [
    { name: 'cleanup-old-data', priority: 'low', cron: NEVER },
    { name: 'create-snapshots', priority: 'medium', cron: NEVER },
    { name: 'sync-pools', priority: 'high', cron: NEVER },
    { name: 'sync-chains', priority: 'high', cron: NEVER },
    { name: 'map-contracts', priority: 'medium', cron: NEVER },
  ];
  const plans = Object.fromEntries(jobs.map((j) => [j.name, { ms: 300 }]));
  const { scheduler, started, finished, events } = setup(jobs, plans, 2);
  // Catch-up makes all five due at the same moment.
  scheduler.start(jobs.map((j) => j.name));
  await waitFor('five runs finished', () => finished.length === 5);
  assert.deepEqual(started, ['sync-pools', 'sync-chains', 'create-snapshots', 'map-contracts', 'cleanup-old-data']);
  const starts = events().filter((e) => e.event === 'start');
  assert.equal(starts.length, 5);
  assert.ok(starts.every((e) => e.trigger === 'scheduler' && e.ipc === true), 'each run knows it was started by the scheduler');
  assert.equal(peakConcurrency(events()), 2);
  assert.ok(finished.every((f) => f.result.outcome === 'succeeded'));
  await scheduler.stop(1000);
});

test('a run that crashes stays in its process: the scheduler carries on and runs the job again on time', async () => {
  const jobs: ScheduledJob[] = [
    { name: 'crash-throw', priority: 'high', cron: '* * * * * *' },
    { name: 'crash-kill', priority: 'high', cron: '* * * * * *' },
    { name: 'steady', priority: 'low', cron: '* * * * * *' },
  ];
  const { scheduler, finished, lines } = setup(jobs, { 'crash-throw': { crash: 'throw' }, 'crash-kill': { crash: 'kill' }, steady: { exit: 0 } }, 3);
  scheduler.start();
  const count = (job: string) => finished.filter((f) => f.run.job === job).length;
  await waitFor('three runs of each job', () => jobs.every((j) => count(j.name) >= 3));
  const stopped = await scheduler.stop(2000);
  assert.deepEqual(stopped.killed, []);

  // A run still in flight when stop() sends SIGTERM ends cancelled; every other run ended on its own.
  const ended = (job: string) => finished.filter((x) => x.run.job === job && x.result.outcome !== 'cancelled');
  for (const j of jobs) assert.ok(ended(j.name).length >= 2, `${j.name}: at most one run was in flight at stop()`);
  for (const f of ended('crash-throw')) assert.deepEqual([f.result.outcome, f.result.code], ['failed', 1]);
  for (const f of ended('crash-kill')) assert.deepEqual([f.result.outcome, f.result.signal], ['failed', 'SIGKILL']);
  for (const f of ended('steady')) assert.equal(f.result.outcome, 'succeeded');
  // Each run of a job started at a later scheduled second than the one before.
  for (const j of jobs) {
    const due = finished.filter((f) => f.run.job === j.name).map((f) => f.run.dueAt);
    assert.ok(due.every((d, i) => i === 0 || d > due[i - 1]!), `${j.name}: ${due}`);
  }
  const failure = lines.find((l) => l.job === 'crash-kill' && l.level === 50);
  assert.match(String(failure?.msg), /crash-kill failed \(killed by SIGKILL\); the next runs are scheduled as usual/);
});

test('exit codes: 75 (lock held) is logged as a skip, not an error; 2 is a failure', async () => {
  const jobs: ScheduledJob[] = [
    { name: 'locked', priority: 'high', cron: NEVER },
    { name: 'misconfigured', priority: 'high', cron: NEVER },
  ];
  const { scheduler, finished, lines } = setup(jobs, { locked: { exit: 75 }, misconfigured: { exit: 2 } }, 2);
  scheduler.start(['locked', 'misconfigured']);
  await waitFor('both finished', () => finished.length === 2);
  await scheduler.stop(1000);
  assert.equal(finished.find((f) => f.run.job === 'locked')?.result.outcome, 'skipped');
  assert.equal(finished.find((f) => f.run.job === 'misconfigured')?.result.outcome, 'failed');
  const locked = lines.find((l) => l.job === 'locked' && l.outcome);
  assert.equal(locked?.level, 30, 'info, not error');
  assert.match(String(locked?.msg), /skipped: another run holds its lock/);
});

test('stop: running jobs get one SIGTERM; those that stop in time are cancelled, the others are killed after the grace period', async () => {
  const jobs: ScheduledJob[] = [
    { name: 'polite', priority: 'high', cron: NEVER },
    { name: 'stubborn', priority: 'high', cron: NEVER },
    { name: 'queued', priority: 'low', cron: NEVER },
  ];
  const { scheduler, finished, events } = setup(jobs, { polite: { ms: 60_000, termMs: 200 }, stubborn: { ms: 60_000, ignoreTerm: true }, queued: {} }, 2);
  scheduler.start(['polite', 'stubborn', 'queued']);
  await waitFor('two runs started', () => events().filter((e) => e.event === 'start').length === 2);
  const graceMs = 1500;
  const t0 = Date.now();
  const result = await scheduler.stop(graceMs);
  const elapsed = Date.now() - t0;

  assert.deepEqual(result, { dropped: ['queued'], stopped: ['polite'], killed: ['stubborn'] });
  assert.ok(elapsed >= graceMs, `the stubborn run had its whole grace period (${elapsed} ms)`);
  const ev = events();
  assert.equal(ev.filter((e) => e.event === 'sigterm' && e.job === 'polite').length, 1, 'exactly one SIGTERM');
  assert.equal(ev.filter((e) => e.event === 'sigterm' && e.job === 'stubborn').length, 1);
  assert.deepEqual(ev.find((e) => e.event === 'end' && e.job === 'polite')?.code, 143);
  assert.ok(!ev.some((e) => e.job === 'queued'), 'a waiting run never starts once stopping');
  assert.deepEqual(finished.map((f) => [f.run.job, f.result.outcome, f.result.signal]).sort(), [['polite', 'cancelled', null], ['stubborn', 'failed', 'SIGKILL']]);
  const stubbornPid = ev.find((e) => e.job === 'stubborn')!.pid;
  assert.throws(() => process.kill(stubbornPid, 0), /ESRCH/, 'the killed run is gone');
});
