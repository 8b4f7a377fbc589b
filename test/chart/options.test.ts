import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { staleAfterMs } from '../../src/status/job-status.js';
import { JOBS } from '../../src/jobs/registry.js';
import { CHART, cronPod, ofKind, one, podSpecs, render, renderNotes, RELEASE } from './helm.js';

const ALL_ON = join(CHART, 'ci', 'all-on-values.yaml');

test('sync-historical as an Indexed Job', () => {
  const objs = render({ values: { jobs: { 'sync-historical': { indexed: { enabled: true, completions: 6, parallelism: 3, backoffLimitPerIndex: 0, maxFailedIndexes: 2 } } } } });
  const cj = one(objs, 'CronJob', `${RELEASE}-sync-historical`);
  const job = cj.spec.jobTemplate.spec;
  assert.equal(job.completionMode, 'Indexed');
  assert.equal(job.completions, 6);
  assert.equal(job.parallelism, 3);
  assert.equal(job.backoffLimitPerIndex, 0);
  assert.equal(job.maxFailedIndexes, 2);
  assert.equal('backoffLimit' in job, false, 'per-index retries replace the Job-wide limit');
  // A shard's bad configuration (exit 2) fails its own index, not the Job; evictions still do not count.
  assert.deepEqual(job.podFailurePolicy.rules, [
    { action: 'FailIndex', onExitCodes: { containerName: 'defi-sync', operator: 'In', values: [2] } },
    { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
  ]);
  const env = cronPod(cj).containers[0].env;
  assert.deepEqual(env.find((e: { name: string }) => e.name === 'JOB_COMPLETIONS'), { name: 'JOB_COMPLETIONS', value: '6' });
  // The request budget is split across the pods that run at once.
  assert.deepEqual(env.find((e: { name: string }) => e.name === 'JOB_PARALLELISM'), { name: 'JOB_PARALLELISM', value: '3' });
  assert.deepEqual(cronPod(cj).containers[0].args, ['sync-historical']);
  // Other jobs are untouched.
  const pools = one(objs, 'CronJob', `${RELEASE}-sync-pools`).spec.jobTemplate.spec;
  assert.equal(pools.completionMode, undefined);
  assert.equal(pools.podFailurePolicy.rules[0].action, 'FailJob');
  assert.equal(cronPod(one(objs, 'CronJob', `${RELEASE}-sync-pools`)).containers[0].env.some((e: { name: string }) => e.name === 'JOB_PARALLELISM'), false);
});

test('JOB_PARALLELISM is what Kubernetes runs at once: parallelism (default 1), at most completions', () => {
  const parallelism = (indexed: Record<string, unknown>): string => {
    const cj = one(render({ values: { jobs: { 'sync-historical': { indexed: { enabled: true, ...indexed } } } } }), 'CronJob', `${RELEASE}-sync-historical`);
    return cronPod(cj).containers[0].env.find((e: { name: string }) => e.name === 'JOB_PARALLELISM').value;
  };
  assert.equal(parallelism({ completions: 4, parallelism: null }), '1');
  assert.equal(parallelism({ completions: 4, parallelism: 2 }), '2');
  assert.equal(parallelism({ completions: 3, parallelism: 8 }), '3');
  // Without per-index retries the FailJob rule stays: FailIndex needs backoffLimitPerIndex.
  const cj = one(render({ values: { jobs: { 'sync-historical': { indexed: { enabled: true, backoffLimitPerIndex: null } } } } }), 'CronJob', `${RELEASE}-sync-historical`);
  assert.equal(cj.spec.jobTemplate.spec.podFailurePolicy.rules[0].action, 'FailJob');
});

test('priority classes follow each job priority', () => {
  const objs = render({ values: { priorityClasses: { enabled: true } } });
  const classes = ofKind(objs, 'PriorityClass');
  assert.deepEqual(classes.map((c) => c.metadata.name).sort(), ['immediate', 'high', 'medium', 'low'].map((p) => `${RELEASE}-${p}`).sort());
  const value = (p: string): number => one(objs, 'PriorityClass', `${RELEASE}-${p}`).value;
  assert.ok(value('immediate') > value('high') && value('high') > value('medium') && value('medium') > value('low'));
  for (const c of classes) assert.equal(c.globalDefault, false);
  for (const job of JOBS) {
    assert.equal(cronPod(one(objs, 'CronJob', `${RELEASE}-${job.name}`)).priorityClassName, `${RELEASE}-${job.priority}`);
  }
  // Existing classes named by the cluster admin.
  const existing = render({ values: { priorityClasses: { enabled: true, create: false, classes: { high: { name: 'batch-high', value: 1 } } } } });
  assert.equal(ofKind(existing, 'PriorityClass').length, 0);
  assert.equal(cronPod(one(existing, 'CronJob', `${RELEASE}-sync-pools`)).priorityClassName, 'batch-high');
});

test('Kueue label on every Job template', () => {
  const objs = render({ values: { kueue: { enabled: true, queueName: 'capped' } } });
  for (const cj of ofKind(objs, 'CronJob')) {
    assert.equal(cj.spec.jobTemplate.metadata.labels['kueue.x-k8s.io/queue-name'], 'capped');
  }
});

test('PrometheusRule alerts on the documented metrics per enabled job', () => {
  const objs = render({ values: { prometheusRule: { enabled: true }, jobs: { 'create-snapshots': { enabled: false } } } });
  const rules = one(objs, 'PrometheusRule', RELEASE).spec.groups[0].rules as { alert: string; expr: string; for?: string }[];
  const failed = rules.filter((r) => r.alert === 'DefiSyncJobFailed');
  assert.equal(failed.length, 1);
  assert.match(failed[0]!.expr, /defi_sync_last_run_status\{job_name=~"\^\([a-z|-]+\)\$"\}\) == 1/);
  const stale = rules.filter((r) => r.alert === 'DefiSyncJobStale');
  const enabled = JOBS.filter((j) => j.name !== 'create-snapshots');
  assert.equal(stale.length, enabled.length);
  for (const job of enabled) {
    const rule = stale.find((r) => r.expr.includes(`job_name="${job.name}"`));
    assert.ok(rule, job.name);
    assert.match(rule.expr, /^time\(\) - max by \(namespace, release, job_name\) \(defi_sync_last_success_timestamp_seconds\{job_name="[a-z-]+"\}\) > \d+$/);
    // The one staleness rule: the alert fires where `defi-sync status` says stale.
    assert.ok(rule.expr.endsWith(`> ${staleAfterMs(job.schedule) / 1000}`), `${job.name}: ${rule.expr}`);
  }
  assert.ok(!rules.some((r) => r.expr.includes('"create-snapshots"')));
});

test('trigger RBAC: exactly the verbs needed, bound to the trigger\'s own ServiceAccount; job pods get no token', () => {
  const objs = render({ values: { rbac: { trigger: { create: true } } } });
  const role = one(objs, 'Role', `${RELEASE}-trigger`);
  const verbs = (resource: string): string[] =>
    role.rules.filter((r: { resources: string[] }) => r.resources.includes(resource)).flatMap((r: { verbs: string[] }) => r.verbs).sort();
  // What src/kube/ calls: list CronJobs by label, create and poll the Job, list its pods, read logs.
  assert.deepEqual(verbs('cronjobs'), ['list']);
  assert.deepEqual(verbs('jobs'), ['create', 'get', 'list']);
  assert.deepEqual(verbs('pods'), ['list']);
  assert.deepEqual(verbs('pods/log'), ['get']);
  assert.ok(!role.rules.some((r: { verbs: string[] }) => r.verbs.some((v) => ['delete', 'update', 'patch', '*'].includes(v))));
  const binding = one(objs, 'RoleBinding', `${RELEASE}-trigger`);
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: `${RELEASE}-trigger`, namespace: 'defi' }]);
  one(objs, 'ServiceAccount', `${RELEASE}-trigger`);
  // No pod of the release mounts a token, and none runs under an account a binding names.
  const bound = new Set(ofKind(objs, 'RoleBinding').flatMap((b) => b.subjects.filter((s: { kind: string }) => s.kind === 'ServiceAccount').map((s: { name: string }) => s.name)));
  assert.equal(one(objs, 'ServiceAccount', RELEASE).automountServiceAccountToken, false);
  const pods = podSpecs(objs);
  assert.equal(pods.length, JOBS.length + 2);
  for (const [name, pod] of pods) {
    assert.equal(pod.automountServiceAccountToken, false, name);
    assert.ok(!bound.has(pod.serviceAccountName ?? 'default'), `${name} runs as ${pod.serviceAccountName}, which a RoleBinding names`);
  }
});

test('every option on renders, with each optional kind present', () => {
  const objs = render({ files: [ALL_ON] });
  const kinds = new Set(objs.map((o) => o.kind));
  for (const kind of ['CronJob', 'ConfigMap', 'Secret', 'ServiceAccount', 'Job', 'Pod', 'PriorityClass', 'PrometheusRule', 'Role', 'RoleBinding', 'NetworkPolicy']) {
    assert.ok(kinds.has(kind), kind);
  }
  const pools = one(objs, 'CronJob', 'warehouse-sync-pools');
  assert.equal(pools.spec.suspend, true);
  assert.equal(pools.spec.successfulJobsHistoryLimit, 0);
  assert.equal(pools.spec.jobTemplate.spec.backoffLimit, 0);
  assert.equal(cronPod(pools).containers[0].image.includes('@sha256:'), true);
});

test('NOTES list the manual-run command for each job, suspending and status', () => {
  const notes = renderNotes();
  for (const job of JOBS) {
    const cj = `${RELEASE}-${job.name}`;
    assert.ok(
      notes.includes(`kubectl -n defi create job --from=cronjob/${cj} ${cj}-manual-$(date +%s)`),
      `no manual-run line for ${job.name}:\n${notes}`,
    );
  }
  assert.match(notes, /--set jobs\.<job>\.suspend=true/);
  assert.match(notes, /"spec":\{"suspend":true\}/);
  assert.match(notes, /helm -n defi test defi-sync --logs/);
  assert.match(notes, /create secret generic defi-sync/);
  // Manual Job names fit in 63 characters whatever the CronJob name.
  const long = renderNotes({ values: { fullnameOverride: 'x'.repeat(40) } });
  for (const m of long.matchAll(/create job --from=cronjob\/\S+ (\S+)-\$\(date \+%s\)/g)) {
    assert.ok(m[1]!.length + 11 <= 63, m[1]);
  }
});
