/**
 * `status` judges each job by the schedule it runs on and skips disabled ones. The chart hands its
 * job settings to every pod (the ConfigMap they all read), so the helm test pod agrees with the
 * CronJobs: checked with the real CLI reading that ConfigMap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliEnv, runCli } from '../helpers/cli.js';
import { cronPod, ofKind, one, render, RELEASE } from './helm.js';

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
