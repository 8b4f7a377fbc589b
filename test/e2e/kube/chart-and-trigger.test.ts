/**
 * The chart and the Kubernetes commands against a real API server and controller manager
 * (scripts/kube-testenv.sh). No nodes exist, so pods stay Pending: API objects are checked.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { resolveTrigger } from '../../../src/config.js';
import { CHART, helm } from '../../chart/helm.js';
import { cliEnv, runCli } from '../../helpers/cli.js';
import { useTestDatabase } from '../../helpers/db.js';
import { startKubeTestEnv, type KubeTestEnv } from '../../helpers/kube-testenv.js';

const exec = promisify(execFile);
const NS = 'defi-warehouse';
const RELEASE = 'nightly';

let env: KubeTestEnv | null = null;
const db = await useTestDatabase();

type Obj = { apiVersion: string; kind: string; metadata: { name: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string; uid: string; apiVersion: string; controller?: boolean }[] }; spec?: any; status?: any };

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await exec(env!.kubectl, ['--kubeconfig', env!.kubeconfig, ...args], { timeout: 60_000, maxBuffer: 16 << 20 });
  return stdout;
}
async function getJson<T = Obj>(...args: string[]): Promise<T> {
  return JSON.parse(await kubectl('-n', NS, 'get', ...args, '-o', 'json')) as T;
}
function kubeEnv(kubeconfig = env!.kubeconfig): NodeJS.ProcessEnv {
  return cliEnv({ KUBECONFIG: kubeconfig, DATABASE_URL: db.url });
}

/** Every field the chart rendered is stored as rendered (the server may only add defaults). */
function assertSubset(rendered: unknown, stored: unknown, path: string): void {
  if (rendered === null || typeof rendered !== 'object') {
    assert.deepEqual(stored, rendered, path);
    return;
  }
  if (Array.isArray(rendered)) {
    assert.ok(Array.isArray(stored), `${path} is not a list on the server`);
    assert.equal(stored.length, rendered.length, `${path} length`);
    rendered.forEach((v, i) => assertSubset(v, (stored as unknown[])[i], `${path}[${i}]`));
    return;
  }
  assert.ok(stored && typeof stored === 'object', `${path} missing on the server`);
  for (const [k, v] of Object.entries(rendered)) assertSubset(v, (stored as Record<string, unknown>)[k], `${path}.${k}`);
}

before(async () => {
  env = await startKubeTestEnv();
  // sync-chains fires every minute so the CronJob controller acts during the test.
  await exec(helm(), ['install', RELEASE, CHART, '--kubeconfig', env.kubeconfig, '--namespace', NS, '--create-namespace', '--no-hooks',
    '--set', 'jobs.sync-chains.schedule=* * * * *', '--set', 'rbac.trigger.create=true', '--wait=false'], { timeout: 120_000 });
});

after(async () => {
  await env?.stop();
});

test('helm install is accepted and every object round-trips through the API server', { timeout: 180_000 }, async (t) => {
  const { stdout } = await exec(helm(), ['get', 'manifest', RELEASE, '--kubeconfig', env!.kubeconfig, '--namespace', NS]);
  const objects = parseAllDocuments(stdout).map((d) => d.toJSON() as Obj).filter(Boolean);
  assert.ok(objects.filter((o) => o.kind === 'CronJob').length >= 7, 'one CronJob per enabled job');
  for (const o of objects) {
    const stored = await getJson(o.kind.toLowerCase(), o.metadata.name);
    for (const key of ['spec', 'data', 'rules', 'roleRef', 'subjects', 'automountServiceAccountToken', 'value', 'globalDefault'] as const) {
      if ((o as any)[key] !== undefined) assertSubset((o as any)[key], (stored as any)[key], `${o.kind}/${o.metadata.name}.${key}`);
    }
    assertSubset(o.metadata.labels ?? {}, stored.metadata.labels ?? {}, `${o.kind}/${o.metadata.name}.labels`);
  }
});

test('defi-sync trigger creates the same Job as kubectl create job --from=cronjob', { timeout: 120_000 }, async (t) => {
  const cronJob = (await getJson<{ items: Obj[] }>('cronjobs', '-l', 'defi-sync/job=sync-pools')).items[0]!;
  await kubectl('-n', NS, 'create', 'job', `--from=cronjob/${cronJob.metadata.name}`, 'by-kubectl');
  const r = await runCli(['trigger', 'sync-pools', '--namespace', NS, '--release', RELEASE], kubeEnv());
  assert.equal(r.code, 0, r.stderr);
  const name = /^job\.batch\/(\S+)$/m.exec(r.stdout)?.[1];
  assert.ok(name && name.startsWith(`${cronJob.metadata.name}-manual-`) && name.length <= 63, r.stdout);

  const [byKubectl, byTrigger] = await Promise.all([getJson('job', 'by-kubectl'), getJson('job', name!)]);
  // What the server derives per Job (selector, controller-uid labels) differs by construction.
  const comparable = (j: Obj) => {
    const strip = (labels: Record<string, string> = {}) => Object.fromEntries(Object.entries(labels).filter(([k]) => !/controller-uid|job-name/.test(k)));
    const spec = structuredClone(j.spec);
    delete spec.selector;
    spec.template.metadata.labels = strip(spec.template.metadata.labels);
    return { annotations: j.metadata.annotations, labels: strip(j.metadata.labels), owners: j.metadata.ownerReferences, spec };
  };
  assert.deepEqual(comparable(byTrigger), comparable(byKubectl));
  assert.equal(byTrigger.metadata.annotations?.['cronjob.kubernetes.io/instantiate'], 'manual');
  assert.equal(resolveTrigger('schedule', cronJob.metadata.name, name), 'manual');
  assert.deepEqual(byTrigger.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid]), [['CronJob', cronJob.metadata.name, cronJob.metadata.uid]]);
});

test('status --kubernetes reports the CronJobs the server holds, and a suspension shows up', { timeout: 120_000 }, async (t) => {
  const read = async () => {
    const r = await runCli(['status', '--kubernetes', '--json', '--namespace', NS], kubeEnv());
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout).jobs as { job: string; kubernetes: { cronJob: string; suspended: boolean; schedule: string; timeZone: string | null; activeJobs: number } | null }[];
  };
  const before = await read();
  const pools = before.find((j) => j.job === 'sync-pools')!.kubernetes!;
  assert.equal(pools.suspended, false);
  assert.equal(pools.schedule, '0 3 * * *');
  assert.equal(pools.timeZone, 'Etc/UTC');
  assert.equal(before.find((j) => j.job === 'sync-chains')!.kubernetes!.schedule, '* * * * *');

  await kubectl('-n', NS, 'patch', 'cronjob', pools.cronJob, '--type=merge', '-p', '{"spec":{"suspend":true}}');
  const after = await read();
  assert.equal(after.find((j) => j.job === 'sync-pools')!.kubernetes!.suspended, true);
  const table = await runCli(['status', '--kubernetes', '--namespace', NS], kubeEnv());
  assert.match(table.stdout, new RegExp(`sync-pools\\s+${pools.cronJob}\\s+yes`));
});

test("the CronJob controller starts a Job from a chart CronJob when its schedule comes due", { timeout: 150_000 }, async (t) => {
  const deadline = Date.now() + 130_000;
  for (;;) {
    const jobs = (await getJson<{ items: Obj[] }>('jobs', '-l', 'defi-sync/job=sync-chains')).items;
    const scheduled = jobs.find((j) => j.metadata.ownerReferences?.some((o) => o.kind === 'CronJob' && o.controller) && !j.metadata.annotations?.['cronjob.kubernetes.io/instantiate']);
    if (scheduled) {
      assert.deepEqual(scheduled.spec.template.spec.containers[0].args, ['sync-chains']);
      // The name the program uses to tell this scheduled run from a manual one.
      const env = scheduled.spec.template.spec.containers[0].env as { name: string; value?: string }[];
      const cronJob = env.find((e) => e.name === 'DEFI_SYNC_CRONJOB')!.value!;
      assert.equal(resolveTrigger('schedule', cronJob, scheduled.metadata.name), 'schedule');
      const pods = (await getJson<{ items: Obj[] }>('pods', '-l', `batch.kubernetes.io/job-name=${scheduled.metadata.name}`)).items;
      assert.ok(pods.length >= 1, 'the Job controller made a pod carrying the job-name label');
      assert.equal(scheduled.spec.podFailurePolicy.rules[0].action, 'FailJob');
      return;
    }
    assert.ok(Date.now() < deadline, 'no Job was scheduled within two minutes');
    await new Promise((r) => setTimeout(r, 3000));
  }
});

test('trigger --wait exits with the Job outcome: the failed container exit code, or 1', { timeout: 120_000 }, async (t) => {
  const child = runCli(['trigger', 'cleanup-old-data', '--wait', '--namespace', NS, '--release', RELEASE], kubeEnv());
  let name: string | undefined;
  const deadline = Date.now() + 60_000;
  while (!name && Date.now() < deadline) {
    const jobs = (await getJson<{ items: Obj[] }>('jobs', '-l', 'defi-sync/job=cleanup-old-data')).items;
    name = jobs.find((j) => j.metadata.annotations?.['cronjob.kubernetes.io/instantiate'] === 'manual')?.metadata.name;
    if (!name) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(name, 'trigger created no Job');
  // No node can run the pod: mark the Job failed the way the Job controller does.
  const now = new Date().toISOString();
  await kubectl('-n', NS, 'patch', 'job', name!, '--subresource=status', '--type=merge', '-p', JSON.stringify({
    status: { active: 0, failed: 1, conditions: [
      { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: now, lastProbeTime: now },
      { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: now, lastProbeTime: now },
    ] },
  }));
  const r = await child;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`Job ${name} failed: Job has reached the specified backoff limit`));
});

test('RBAC: the chart trigger Role is enough for trigger and status; without it, one clear sentence and exit 2', { timeout: 120_000 }, async (t) => {
  const kubeconfigFor = async (sa: string) => {
    const token = (await kubectl('-n', NS, 'create', 'token', sa, '--duration=1h')).trim();
    const cfg = JSON.parse(await kubectl('config', 'view', '--raw', '--minify', '-o', 'json'));
    cfg.users = [{ name: sa, user: { token } }];
    cfg.contexts[0].context.user = sa;
    cfg.contexts[0].context.namespace = NS;
    const file = join(env!.dir, `kubeconfig-${sa}`);
    writeFileSync(file, JSON.stringify(cfg));
    return file;
  };
  const sa = (await getJson<{ items: Obj[] }>('serviceaccounts', '-l', `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=trigger`)).items[0]!.metadata.name;
  const allowed = await kubeconfigFor(sa);
  const ok = await runCli(['trigger', 'sync-protocols'], kubeEnv(allowed));
  assert.equal(ok.code, 0, ok.stderr);
  const status = await runCli(['status', '--kubernetes', '--json'], kubeEnv(allowed));
  assert.equal(status.code, 0, status.stderr);

  await kubectl('-n', NS, 'create', 'serviceaccount', 'outsider');
  const denied = await runCli(['trigger', 'sync-protocols'], kubeEnv(await kubeconfigFor('outsider')));
  assert.equal(denied.code, 2);
  assert.match(denied.stderr, /^defi-sync: could not list the CronJobs in namespace "defi-warehouse": forbidden in namespace "defi-warehouse" \(.*\); grant the verbs listed in the chart's trigger Role/m);
  assert.equal(denied.stderr.trim().split('\n').length, 1);

  // The job pods' own account (which mounts no token anyway) may create nothing.
  const cronJob = (await getJson<{ items: Obj[] }>('cronjobs', '-l', 'defi-sync/job=sync-pools')).items[0]!;
  const jobAccount = cronJob.spec.jobTemplate.spec.template.spec.serviceAccountName as string;
  assert.notEqual(jobAccount, sa);
  assert.equal(cronJob.spec.jobTemplate.spec.template.spec.automountServiceAccountToken, false);
  const asJobPod = await runCli(['trigger', 'sync-protocols'], kubeEnv(await kubeconfigFor(jobAccount)));
  assert.equal(asJobPod.code, 2, asJobPod.stderr);
  assert.match(asJobPod.stderr, /forbidden/);
});

test('errors: unknown release, unreachable cluster, no cluster at all', { timeout: 60_000 }, async (t) => {
  const missing = await runCli(['trigger', 'sync-pools', '--namespace', NS, '--release', 'nope'], kubeEnv());
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no CronJob for job "sync-pools" in namespace "defi-warehouse" for release "nope"/);

  const cfg = JSON.parse(await kubectl('config', 'view', '--raw', '--minify', '-o', 'json'));
  cfg.clusters[0].cluster.server = 'https://127.0.0.1:9';
  const file = join(env!.dir, 'kubeconfig-unreachable');
  writeFileSync(file, JSON.stringify(cfg));
  const down = await runCli(['trigger', 'sync-pools', '--namespace', NS], kubeEnv(file));
  assert.equal(down.code, 1, down.stderr);
  assert.match(down.stderr, /is unreachable/);

  const none = await runCli(['status', '--kubernetes'], cliEnv({ DATABASE_URL: db.url, KUBECONFIG: join(env!.dir, 'absent'), HOME: env!.dir }));
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no Kubernetes cluster is configured/);
});
