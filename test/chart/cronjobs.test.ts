import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JOBS } from '../../src/jobs/registry.js';
import { chartValues, cronPod, isHook, ofKind, one, render, RELEASE, template } from './helm.js';

const defaults = render();
const cronJobs = ofKind(defaults, 'CronJob');

test('values jobs and the CLI registry are the same set with the same schedules and priorities', () => {
  const values = chartValues().jobs;
  assert.deepEqual(Object.keys(values).sort(), JOBS.map((j) => j.name).sort());
  for (const job of JOBS) {
    assert.equal(values[job.name]!.schedule, job.schedule, `${job.name} schedule`);
    assert.equal(values[job.name]!.priority, job.priority, `${job.name} priority`);
  }
});

test('one CronJob per registry job, named <fullname>-<job>, with the registry schedule', () => {
  assert.equal(cronJobs.length, JOBS.length);
  for (const job of JOBS) {
    const cj = one(defaults, 'CronJob', `${RELEASE}-${job.name}`);
    assert.equal(cj.spec.schedule, job.schedule);
    assert.equal(cj.spec.timeZone, 'Etc/UTC');
    assert.equal(cj.metadata.labels['defi-sync/job'], job.name);
    const container = cronPod(cj).containers[0];
    assert.equal(container.name, 'defi-sync');
    assert.deepEqual(container.args, [job.name]);
  }
});

test('CronJob and Job policies', () => {
  for (const cj of cronJobs) {
    const name = cj.metadata.name;
    assert.equal(cj.spec.concurrencyPolicy, 'Forbid', name);
    assert.ok(cj.spec.startingDeadlineSeconds >= 10, `${name} startingDeadlineSeconds`);
    assert.equal(cj.spec.suspend, false, name);
    assert.equal(cj.spec.successfulJobsHistoryLimit, 3, name);
    assert.equal(cj.spec.failedJobsHistoryLimit, 3, name);
    const job = cj.spec.jobTemplate.spec;
    assert.equal(job.backoffLimit, 3, name);
    assert.ok(job.activeDeadlineSeconds > 0, name);
    assert.ok(job.ttlSecondsAfterFinished > 0, name);
    assert.equal(cronPod(cj).restartPolicy, 'Never', name);
    const [failJob, ignore] = job.podFailurePolicy.rules;
    assert.equal(failJob.action, 'FailJob');
    assert.equal(failJob.onExitCodes.operator, 'In');
    assert.equal(failJob.onExitCodes.containerName, 'defi-sync');
    assert.ok(failJob.onExitCodes.values.includes(2), 'exit code 2 (bad configuration) fails the Job');
    assert.ok(!failJob.onExitCodes.values.includes(1), 'exit code 1 is retried');
    assert.deepEqual(ignore, { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] });
  }
});

test('hardened pods: fixed non-root uid, read-only root with a writable /tmp, no token', () => {
  const pods = [
    ...cronJobs.map((cj) => [cj.metadata.name, cronPod(cj)] as const),
    ...defaults.filter(isHook).map((h) => [h.metadata.name, h.kind === 'Pod' ? h.spec : h.spec.template.spec] as const),
  ];
  assert.equal(pods.length, JOBS.length + 2);
  for (const [name, pod] of pods) {
    assert.equal(pod.securityContext.runAsNonRoot, true, name);
    assert.equal(pod.securityContext.runAsUser, 10001, name);
    assert.equal(pod.securityContext.runAsGroup, 10001, name);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', name);
    assert.equal(pod.automountServiceAccountToken, false, name);
    const c = pod.containers[0];
    assert.equal(c.securityContext.readOnlyRootFilesystem, true, name);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false, name);
    assert.equal(c.securityContext.privileged, false, name);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], name);
    assert.deepEqual(c.volumeMounts, [{ name: 'tmp', mountPath: '/tmp' }], name);
    assert.ok(pod.volumes.find((v: { name: string; emptyDir?: object }) => v.name === 'tmp' && v.emptyDir), name);
    assert.ok(c.resources.requests && c.resources.limits.memory, name);
  }
  assert.equal(one(defaults, 'ServiceAccount', RELEASE).automountServiceAccountToken, false);
});

test('job containers read the ConfigMap and Secret through envFrom and run as scheduled', () => {
  for (const cj of cronJobs) {
    const c = cronPod(cj).containers[0];
    assert.deepEqual(c.envFrom, [{ configMapRef: { name: `${RELEASE}-config` } }, { secretRef: { name: RELEASE } }]);
    assert.deepEqual(c.env, [
      { name: 'DEFI_SYNC_TRIGGER', value: 'schedule' },
      { name: 'DEFI_SYNC_CRONJOB', value: cj.metadata.name },
      { name: 'DEFI_SYNC_KUBE_JOB', valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-name']" } } },
      { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: RELEASE, key: 'DATABASE_URL' } } },
      // The metrics group of this installation.
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'DEFI_SYNC_RELEASE', value: RELEASE },
    ]);
    assert.equal(cronPod(cj).serviceAccountName, RELEASE);
    assert.equal(c.image, 'defi-sync:0.1.0');
  }
  // No Secret by default: the operator's, named like the release.
  assert.equal(ofKind(defaults, 'Secret').length, 0);
  // The job settings the CronJobs run, for `status` in any pod: schedules and time zone.
  assert.deepEqual(one(defaults, 'ConfigMap', `${RELEASE}-config`).data, {
    LOG_LEVEL: 'info',
    ...Object.fromEntries(JOBS.map((j) => [`SCHEDULE_${j.name.toUpperCase().replace(/-/g, '_')}`, j.schedule])),
    TZ: 'Etc/UTC',
  });
});

test('optional objects are off by default', () => {
  for (const kind of ['PriorityClass', 'PrometheusRule', 'Role', 'RoleBinding', 'Secret']) {
    assert.equal(ofKind(defaults, kind).length, 0, kind);
  }
  for (const cj of cronJobs) {
    assert.equal(cronPod(cj).priorityClassName, undefined);
    assert.equal(cj.spec.jobTemplate.metadata.labels['kueue.x-k8s.io/queue-name'], undefined);
    assert.equal(cj.spec.jobTemplate.spec.completionMode, undefined);
  }
});

test('a disabled job has no CronJob; extra entries run a command under their own name', () => {
  const objs = render({
    values: {
      jobs: {
        'create-snapshots': { enabled: false },
        'sync-pools-forced': { command: 'sync-pools', args: ['--force'], schedule: '30 12 * * *', priority: 'high' },
      },
    },
  });
  const names = ofKind(objs, 'CronJob').map((c) => c.metadata.name);
  assert.ok(!names.includes(`${RELEASE}-create-snapshots`));
  const extra = one(objs, 'CronJob', `${RELEASE}-sync-pools-forced`);
  assert.deepEqual(cronPod(extra).containers[0].args, ['sync-pools', '--force']);
  assert.equal(extra.spec.schedule, '30 12 * * *');
});

test('--set of one schedule overrides that job only', () => {
  const objs = render({ set: ['jobs.sync-pools.schedule=15 3 * * *'] });
  assert.equal(one(objs, 'CronJob', `${RELEASE}-sync-pools`).spec.schedule, '15 3 * * *');
  assert.equal(one(objs, 'CronJob', `${RELEASE}-sync-chains`).spec.schedule, '0 1 * * *');
});

test('CronJob names stay within 52 characters and keep the job name', () => {
  const longName = 'a-very-long-release-name-that-goes-on-and-on-beyond-limits';
  const longJob = 'j'.repeat(51);
  const objs = render({
    values: {
      fullnameOverride: longName,
      jobs: { [longJob]: { schedule: '0 0 * * *', priority: 'low' } },
    },
  });
  const names = ofKind(objs, 'CronJob').map((c) => c.metadata.name as string);
  assert.equal(new Set(names).size, names.length);
  for (const name of names) {
    assert.ok(name.length <= 52, `${name} is ${name.length} characters`);
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  }
  for (const job of JOBS) assert.ok(names.some((n) => n.endsWith(`-${job.name}`)), job.name);
  assert.ok(names.includes(longJob));
  // Job keys beyond 51 characters cannot make a valid CronJob name: the schema refuses them.
  const r = template({ values: { jobs: { ['k'.repeat(52)]: { schedule: '0 0 * * *', priority: 'low' } } } });
  assert.notEqual(r.status, 0);
});

test('time zone is left out when empty', () => {
  const objs = render({ values: { jobs: { 'sync-pools': { timeZone: '' } } } });
  assert.equal('timeZone' in one(objs, 'CronJob', `${RELEASE}-sync-pools`).spec, false);
});
