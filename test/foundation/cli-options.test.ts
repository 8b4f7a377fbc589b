/** Options as commander hands them to the commands: converted, defaulted, related; parsed in process by the CLI's own program. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stepOptions } from '../../src/commands/run-job.js';
import { DAILY_PIPELINE, findJob } from '../../src/jobs/registry.js';
import { parseArgs } from '../helpers/parse-args.js';

const options = async (...args: string[]) => {
  const r = await parseArgs(args);
  assert.equal(r.code, 0, r.error);
  return r.options;
};

test('values arrive converted, with the defaults --help shows', async () => {
  assert.deepEqual(await options('map-contracts'), { verify: true, recheckDays: 7, verifyLimit: 20_000 });
  assert.deepEqual(await options('map-contracts', '--no-verify', '--recheck-days', ' 30 ', '--verify-limit', '5', '--force'), { verify: false, recheckDays: 30, verifyLimit: 5, force: true });
  assert.deepEqual(await options('create-snapshots', '--date', '2024-02-29'), { date: '2024-02-29' });
  assert.deepEqual(await options('cleanup-old-data', '--dry-run'), { dryRun: true });
  assert.deepEqual(await options('trigger', 'sync-pools'), { timeout: 21_600 });
  assert.deepEqual(await options('scheduler', '--catch-up', '--metrics-port', '9000', '--grace-period', '0'), { catchUp: true, metricsPort: 9000, gracePeriod: 0 });
  const help = await parseArgs(['map-contracts', '--help']);
  assert.equal(help.code, 0);
});

test('trigger --follow implies --wait', async () => {
  assert.deepEqual(await options('trigger', 'sync-pools', '--follow', '--timeout', '60'), { follow: true, wait: true, timeout: 60 });
  assert.deepEqual(await options('trigger', 'sync-pools', '--wait'), { wait: true, timeout: 21_600 });
});

test('--force is one option: the guarded jobs and run-all take it, and run-all passes it on with each step\'s defaults', async () => {
  const takers = ['sync-chains', 'sync-protocols', 'sync-pools', 'map-contracts', 'run-all'];
  for (const command of takers) assert.deepEqual(await options(command, '--force'), command === 'map-contracts' ? { verify: true, recheckDays: 7, verifyLimit: 20_000, force: true } : { force: true }, command);
  const refused = await parseArgs(['create-snapshots', '--force']);
  assert.equal(refused.code, 2);
  assert.match(refused.error, /^error: unknown option '--force'/);
  assert.deepEqual(
    DAILY_PIPELINE.map((name) => [name, stepOptions(findJob(name)!, { force: true })]),
    [
      ['sync-chains', { force: true }],
      ['sync-protocols', { force: true }],
      ['sync-pools', { force: true }],
      ['map-contracts', { verify: true, recheckDays: 7, verifyLimit: 20_000, force: true }],
      ['create-snapshots', {}],
    ],
  );
  assert.deepEqual(stepOptions(findJob('map-contracts')!, {}), { verify: true, recheckDays: 7, verifyLimit: 20_000 });
});

test('a bad value is exit 2 with one line naming the option, the value and the rule', async () => {
  for (const [args, message] of [
    [['map-contracts', '--recheck-days', 'soon'], /^error: option '--recheck-days <days>' argument 'soon' is invalid\. It must be a whole number from 1 to 36500\.$/],
    [['map-contracts', '--verify-limit', '0'], /^error: option '--verify-limit <n>' argument '0' is invalid\. It must be a whole number from 1 to 10000000\.$/],
    [['create-snapshots', '--date', '2024-02-30'], /^error: option '--date <YYYY-MM-DD>' argument '2024-02-30' is invalid\. It must be a calendar date as YYYY-MM-DD\.$/],
    [['create-snapshots', '--date', '2999-01-01'], /argument '2999-01-01' is invalid\. It must be a date that is not in the future \(today is \d{4}-\d\d-\d\d, UTC\)\.$/],
    [['trigger', 'sync-pools', '--timeout', '0'], /^error: option '--timeout <seconds>' argument '0' is invalid\. It must be a whole number of seconds from 1 to 604800\.$/],
    [['--skipped-exit-code', '256', 'sync-chains'], /^error: option '--skipped-exit-code <code>' argument '256' is invalid\. It must be an exit code from 0 to 255\.$/],
  ] as const) {
    const r = await parseArgs(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.error, message);
  }
});
