/**
 * `status` judges each job by the schedule it runs on and skips disabled ones. The chart hands its
 * job settings to every pod (the ConfigMap they all read), so the helm test pod agrees with the
 * CronJobs: checked with the real CLI reading that ConfigMap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JOBS } from '../../src/jobs/registry.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { cronPod, ofKind, one, render, RELEASE } from './helm.js';

const tdb = await useTestDatabase();

interface Row { job: string; schedule: string; enabled: boolean }

test('the helm test pod and the job pods see disabled jobs, changed schedules and the time zone', async () => {
  const objs = render({
    values: {
      jobDefaults: { timeZone: 'Europe/Paris' },
      jobs: {
        'create-snapshots': { enabled: false },
        'sync-chains': { schedule: '15 1 * * *' },
        // A job whose own entry is off but another entry runs it is not disabled.
        'sync-protocols': { enabled: false },
        'sync-protocols-late': { command: 'sync-protocols', schedule: '45 2 * * *', priority: 'high' },
      },
    },
  });
  const configMap = one(objs, 'ConfigMap', `${RELEASE}-config`);
  const readers = [one(objs, 'Pod', `${RELEASE}-status`).spec, ...ofKind(objs, 'CronJob').map(cronPod)];
  for (const pod of readers) assert.deepEqual(pod.containers[0].envFrom[0], { configMapRef: { name: configMap.metadata.name } });
  assert.equal(configMap.data.TZ, 'Europe/Paris');

  const r = await runCli(['list', '--json'], cliEnv(configMap.data as Record<string, string>));
  assert.equal(r.code, 0, r.stderr);
  const rows = new Map((JSON.parse(r.stdout) as { jobs: Row[] }).jobs.map((row) => [row.job, row]));
  assert.equal(rows.get('create-snapshots')?.enabled, false);
  assert.deepEqual([rows.get('sync-chains')?.schedule, rows.get('sync-chains')?.enabled], ['15 1 * * *', true]);
  assert.deepEqual([rows.get('sync-protocols')?.schedule, rows.get('sync-protocols')?.enabled], ['45 2 * * *', true]);
  assert.deepEqual([rows.get('sync-pools')?.schedule, rows.get('sync-pools')?.enabled], ['0 3 * * *', true]);
  assert.equal([...rows.values()].filter((row) => !row.enabled).length, 1);
});

test('status --check with the chart settings passes where the registry defaults would flag a disabled job and a changed schedule', async () => {
  // Every job succeeded an hour ago, except: create-snapshots failed (but the chart disables it),
  // and sync-pools last succeeded three days ago (the chart runs it weekly).
  for (const job of JOBS) {
    const [status, age] = job.name === 'create-snapshots' ? ['failed', '1 hour'] : job.name === 'sync-pools' ? ['succeeded', '3 days'] : ['succeeded', '1 hour'];
    await tdb.db.none(
      `INSERT INTO sync_jobs (job_name, status, trigger, started_at, finished_at)
       VALUES ($1, $2, 'schedule', now() - $3::interval - interval '5 minutes', now() - $3::interval)`,
      [job.name, status, age],
    );
  }
  const objs = render({ values: { jobs: { 'create-snapshots': { enabled: false }, 'sync-pools': { schedule: '0 3 * * 0' } } } });
  const chartEnv = one(objs, 'ConfigMap', `${RELEASE}-config`).data as Record<string, string>;

  const withChart = await runCli(['status', '--check'], cliEnv({ ...chartEnv, DATABASE_URL: tdb.url }));
  assert.equal(withChart.code, 0, `${withChart.stdout}\n${withChart.stderr}`);
  // The same database judged by the registry's schedules: what the test pod saw before.
  const without = await runCli(['status', '--check'], cliEnv({ DATABASE_URL: tdb.url }));
  assert.equal(without.code, 1, without.stdout);
  const flagged = /^needs attention: (.*)$/m.exec(without.stdout)?.[1]?.split('; ').sort();
  assert.deepEqual(flagged, ['create-snapshots (last run failed)', 'sync-pools (no success within twice its schedule interval)']);
});
