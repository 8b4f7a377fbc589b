import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { JOBS } from '../../src/jobs/registry.js';
import type { JobDefinition } from '../../src/jobs/types.js';
import { schedulerSettings, type SchedulerCliOptions } from '../../src/commands/scheduler.js';
import { missedRuns, schedulePlan } from '../../src/scheduler/plan.js';
import { parseArgs } from '../helpers/parse-args.js';

const job = (name: string, schedule: string, implemented = true): JobDefinition => ({
  name, schedule, priority: 'medium', description: name, ...(implemented ? { load: async () => ({ run: async () => undefined }) } : {}),
});
const registry = [job('sync-chains', '0 1 * * *'), job('sync-pools', '0 3 * * *'), job('map-contracts', '0 4 * * *'), job('sync-historical', '0 6 * * 0', false)];

test('the plan takes the registry schedules, SCHEDULE_<JOB> overrides and disabled jobs from the environment', () => {
  const plan = schedulePlan(loadConfig({ SCHEDULE_SYNC_POOLS: '*/15 * * * *', SCHEDULE_SYNC_CHAINS: 'off', DISABLED_JOBS: 'map-contracts' }), registry);
  assert.deepEqual(plan.scheduled, [{ name: 'sync-pools', priority: 'medium', cron: '*/15 * * * *' }]);
  assert.deepEqual(plan.left, [
    { job: 'sync-chains', why: 'disabled' },
    { job: 'map-contracts', why: 'disabled' },
    { job: 'sync-historical', why: 'not implemented in this version' },
  ]);
  const defaults = schedulePlan(loadConfig({}), registry);
  assert.deepEqual(defaults.scheduled.map((j) => `${j.name} ${j.cron}`), ['sync-chains 0 1 * * *', 'sync-pools 0 3 * * *', 'map-contracts 0 4 * * *']);
});

test('the real registry: every implemented job is scheduled with its registry schedule and priority', () => {
  const plan = schedulePlan(loadConfig({}));
  for (const j of JOBS.filter((x) => x.load)) {
    assert.deepEqual(plan.scheduled.find((s) => s.name === j.name), { name: j.name, priority: j.priority, cron: j.schedule });
  }
  assert.equal(plan.scheduled.length + plan.left.length, JOBS.length);
});

test('an invalid override is a configuration error naming the variable', () => {
  for (const bad of ['every hour', '0 3 * *', '0 0 3 * * *', '61 * * * *']) {
    assert.throws(() => schedulePlan(loadConfig({ SCHEDULE_SYNC_POOLS: bad }), registry), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^SCHEDULE_SYNC_POOLS must be a five-field cron expression/);
      return true;
    });
  }
});

test('catch-up: one run for each job whose last scheduled time passed after its last run, and for jobs that never ran', () => {
  const jobs = [
    { name: 'daily', priority: 'high' as const, cron: '0 3 * * *' },
    { name: 'weekly', priority: 'low' as const, cron: '0 6 * * 0' },
    { name: 'never', priority: 'low' as const, cron: '0 6 * * 0' },
  ];
  const now = new Date('2026-03-04T12:00:00Z'); // a Wednesday
  const starts = new Map([
    ['daily', new Date('2026-03-03T03:00:02Z')], // ran yesterday; today's 03:00 was missed
    ['weekly', new Date('2026-03-01T06:00:01Z')], // Sunday's run happened; the next is next Sunday
  ]);
  assert.deepEqual(missedRuns(jobs, starts, now), ['daily', 'never']);
  assert.deepEqual(missedRuns(jobs, new Map([...starts, ['daily', new Date('2026-03-04T03:00:01Z')]]), now), ['never']);
});

test('scheduler settings: defaults, environment, and command-line options that override them', async () => {
  const options = async (...args: string[]) => (await parseArgs(['scheduler', ...args])).options as SchedulerCliOptions;
  const defaults = loadConfig({});
  assert.equal(defaults.metricsPort, 9464);
  assert.equal(defaults.schedulerGraceSeconds, 30);
  assert.equal(defaults.schedulerCatchUp, false);
  const env = loadConfig({ METRICS_PORT: '', SCHEDULER_GRACE_SECONDS: '5', SCHEDULER_CATCH_UP: 'yes' });
  assert.equal(env.metricsPort, undefined, 'empty METRICS_PORT: no server');
  assert.equal(env.schedulerCatchUp, true);
  assert.deepEqual(schedulerSettings(defaults, await options()), { graceMs: 30_000, port: 9464, catchUp: false });
  assert.deepEqual(schedulerSettings(env, await options()), { graceMs: 5000, port: undefined, catchUp: true });
  assert.equal(schedulerSettings(env, await options('--grace-period', '45')).graceMs, 45_000);
  assert.equal(schedulerSettings(defaults, await options('--metrics-port', '0')).port, 0);
  assert.equal(schedulerSettings(defaults, await options('--metrics-port', 'off')).port, undefined);
  assert.equal(schedulerSettings(env, await options('--metrics-port', '9000')).port, 9000);
  assert.equal(schedulerSettings(defaults, await options('--catch-up')).catchUp, true);

  assert.throws(() => loadConfig({ METRICS_PORT: '70000' }), /METRICS_PORT must be a port number from 0 to 65535, or empty for none, got "70000"/);
  assert.throws(() => loadConfig({ SCHEDULER_CATCH_UP: 'maybe' }), /SCHEDULER_CATCH_UP must be true or false, got "maybe"/);
  assert.throws(() => loadConfig({ SCHEDULER_GRACE_SECONDS: '-1' }), /SCHEDULER_GRACE_SECONDS must be a whole number from 0 to 3600/);
  for (const [args, message] of [
    [['--grace-period', '10s'], /^error: option '--grace-period <seconds>' argument '10s' is invalid\. It must be a whole number from 0 to 3600\.$/],
    [['--grace-period', '99999999999'], /argument '99999999999' is invalid\. It must be a whole number from 0 to 3600\.$/],
    [['--metrics-port', 'http'], /^error: option '--metrics-port <port>' argument 'http' is invalid\. It must be a port number from 0 to 65535, or "off"\.$/],
    [['--metrics-port', ''], /argument '' is invalid\. It must be a port number/],
  ] as const) {
    const r = await parseArgs(['scheduler', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.error, message);
  }
});
