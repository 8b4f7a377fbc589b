import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHook, ofKind, one, render, RELEASE, template, type K8sObject } from './helm.js';

const annotations = (o: K8sObject): Record<string, string> => o.metadata.annotations ?? {};
const weight = (o: K8sObject): number => Number(annotations(o)['helm.sh/hook-weight'] ?? 0);

test('migrations run as a pre-install,pre-upgrade hook Job that needs nothing the release creates', () => {
  const objs = render();
  const job = one(objs, 'Job', `${RELEASE}-migrate`);
  assert.equal(annotations(job)['helm.sh/hook'], 'pre-install,pre-upgrade');
  assert.equal(annotations(job)['helm.sh/hook-delete-policy'], 'before-hook-creation,hook-succeeded');
  assert.ok(job.spec.activeDeadlineSeconds < 300, 'below the default helm --timeout');
  assert.ok(job.spec.backoffLimit <= 2);
  const pod = job.spec.template.spec;
  assert.equal(pod.restartPolicy, 'Never');
  // The ServiceAccount and ConfigMap are ordinary resources, created after pre-install hooks.
  assert.equal(pod.serviceAccountName, undefined);
  const c = pod.containers[0];
  assert.deepEqual(c.args, ['migrate']);
  assert.deepEqual(c.envFrom, [{ secretRef: { name: RELEASE } }]);
  assert.deepEqual(c.env, [
    { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: RELEASE, key: 'DATABASE_URL' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'DEFI_SYNC_RELEASE', value: RELEASE },
    { name: 'LOG_LEVEL', value: 'info' },
  ]);
});

test('a chart-made Secret is copied as an earlier hook for the migration Job', () => {
  const objs = render({ values: { secret: { create: true, values: { DATABASE_URL: 'postgres://u:p@db:5432/x' } } } });
  const secret = one(objs, 'Secret', RELEASE);
  assert.equal(isHook(secret), false);
  assert.deepEqual(secret.stringData, { DATABASE_URL: 'postgres://u:p@db:5432/x' });
  const hookSecret = one(objs, 'Secret', `${RELEASE}-migrations`);
  const job = one(objs, 'Job', `${RELEASE}-migrate`);
  assert.equal(annotations(hookSecret)['helm.sh/hook'], 'pre-install,pre-upgrade');
  assert.match(annotations(hookSecret)['helm.sh/hook-delete-policy']!, /hook-succeeded/);
  assert.ok(weight(hookSecret) < weight(job), 'the Secret is created before the Job');
  assert.deepEqual(hookSecret.stringData, secret.stringData);
  assert.deepEqual(job.spec.template.spec.containers[0].envFrom, [{ secretRef: { name: `${RELEASE}-migrations` } }]);
  for (const cj of ofKind(objs, 'CronJob')) {
    assert.deepEqual(cj.spec.jobTemplate.spec.template.spec.containers[0].envFrom[1], { secretRef: { name: RELEASE } });
  }
});

test('existingSecret is read by every pod and no Secret is rendered', () => {
  const objs = render({ values: { secret: { existingSecret: 'warehouse-credentials' } } });
  assert.equal(ofKind(objs, 'Secret').length, 0);
  const refs = [
    ...ofKind(objs, 'CronJob').map((cj) => cj.spec.jobTemplate.spec.template.spec.containers[0]),
    one(objs, 'Job', `${RELEASE}-migrate`).spec.template.spec.containers[0],
    one(objs, 'Pod', `${RELEASE}-status`).spec.containers[0],
  ].map((c) => c.envFrom.find((e: { secretRef?: { name: string } }) => e.secretRef).secretRef.name);
  assert.deepEqual(new Set(refs), new Set(['warehouse-credentials']));
});

test('secret.create and existingSecret exclude each other; create needs DATABASE_URL', () => {
  let r = template({ values: { secret: { create: true, existingSecret: 'x', values: { DATABASE_URL: 'postgres://a' } } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /exclude each other/);
  r = template({ values: { secret: { create: true } } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /DATABASE_URL/);
});

test('helm test runs status --check', () => {
  const pod = one(render(), 'Pod', `${RELEASE}-status`);
  assert.equal(annotations(pod)['helm.sh/hook'], 'test');
  assert.equal(pod.spec.restartPolicy, 'Never');
  const c = pod.spec.containers[0];
  assert.deepEqual(c.args, ['status', '--check']);
  assert.deepEqual(c.envFrom, [{ configMapRef: { name: `${RELEASE}-config` } }, { secretRef: { name: RELEASE } }]);
});

test('migrations and tests can be turned off', () => {
  const objs = render({ values: { migrations: { enabled: false }, tests: { enabled: false }, secret: { create: true, values: { DATABASE_URL: 'postgres://a' } } } });
  assert.deepEqual(objs.filter(isHook), []);
});
