// Proves scripts/kube-testenv.sh gives a real control plane: the API server
// stores and validates objects, and the CronJob and Job controllers act on
// them. There are no nodes, so Pods stay Pending; only API objects are checked.
//
// Talks to the cluster through kubectl: @kubernetes/client-node 2.x pulls in
// undici 8, which does not load on the Node 20 this project supports.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startKubeTestEnv, type KubeTestEnv } from '../../helpers/kube-testenv.js';

const execFileAsync = promisify(execFile);

const NAMESPACE = 'defi-sync-testenv';
const CRONJOB = 'sync-every-minute';

interface ObjectMeta {
  name?: string;
  namespace?: string;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; controller?: boolean }[];
}
interface Job {
  metadata?: ObjectMeta;
  spec?: { template?: { spec?: { containers?: { args?: string[] }[] } } };
  status?: { active?: number };
}
interface CronJob {
  metadata?: ObjectMeta;
  status?: { lastScheduleTime?: string; active?: { name?: string }[] };
}
interface Pod {
  metadata?: ObjectMeta;
  status?: { phase?: string };
}
interface List<T> {
  items: T[];
}

let env: KubeTestEnv | null = null;

async function kubectl(args: string[], input?: string): Promise<string> {
  if (!env) throw new Error('kube test env not started');
  const kubeArgs = ['--kubeconfig', env.kubeconfig, ...args];
  const child = execFileAsync(env.kubectl, kubeArgs, { timeout: 30_000 });
  if (input !== undefined) child.child.stdin?.end(input);
  const { stdout } = await child;
  return stdout;
}

async function getJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await kubectl(['-n', NAMESPACE, 'get', ...args, '-o', 'json'])) as T;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

const cronJobManifest = (name: string, schedule: string): string =>
  JSON.stringify({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name, namespace: NAMESPACE },
    spec: {
      schedule,
      concurrencyPolicy: 'Forbid',
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'sync', image: 'defi-sync:test', args: ['sync', '--help'] }],
            },
          },
        },
      },
    },
  });

const isManual = (job: Job): boolean =>
  job.metadata?.annotations?.['cronjob.kubernetes.io/instantiate'] === 'manual';

const ownedByCronJob = (job: Job): boolean =>
  job.metadata?.ownerReferences?.some((o) => o.kind === 'CronJob' && o.name === CRONJOB && o.controller) ?? false;

before(async () => {
  env = await startKubeTestEnv();
  await kubectl(['create', 'namespace', NAMESPACE]);
  // Created up front so the controller's clock starts while the quicker
  // tests run; the first scheduled run lands on the next minute boundary.
  await kubectl(['apply', '-f', '-'], cronJobManifest(CRONJOB, '* * * * *'));
});

after(async () => {
  await env?.stop();
});

test('API server reports a real Kubernetes version and enforces validation', async (t) => {
  const version = JSON.parse(await kubectl(['version', '-o', 'json'])) as {
    serverVersion?: { gitVersion?: string; major?: string };
  };
  assert.match(version.serverVersion?.gitVersion ?? '', /^v1\.\d+\.\d+$/);
  assert.equal(version.serverVersion?.major, '1');

  // Server-side validation of the cron expression: a stub would accept it.
  await assert.rejects(kubectl(['apply', '-f', '-'], cronJobManifest('bad-schedule', 'not a schedule')), (err: Error) => {
    assert.match(String((err as { stderr?: string }).stderr), /spec\.schedule: Invalid value/);
    return true;
  });
});

test('ServiceAccount controller gives the new namespace its default ServiceAccount', async (t) => {
  const sa = await waitFor('default ServiceAccount', 30_000, () =>
    getJson<{ metadata?: ObjectMeta }>('serviceaccount', 'default').catch(() => undefined),
  );
  assert.equal(sa.metadata?.namespace, NAMESPACE);
});

test('kubectl create job --from=cronjob creates a Job the Job controller acts on', async (t) => {
  const out = await kubectl(['-n', NAMESPACE, 'create', 'job', `--from=cronjob/${CRONJOB}`, 'manual-run']);
  assert.match(out, /job\.batch\/manual-run created/);

  const job = await getJson<Job>('job', 'manual-run');
  assert.ok(isManual(job), 'manual Job carries the instantiate=manual annotation');
  assert.ok(ownedByCronJob(job), 'manual Job is owned by the CronJob');
  assert.deepEqual(job.spec?.template?.spec?.containers?.[0]?.args, ['sync', '--help']);

  // The Job controller creates the Pod; with no nodes it can only be Pending.
  const pods = await waitFor('Pod of manual-run', 30_000, async () => {
    const list = await getJson<List<Pod>>('pods', '-l', 'job-name=manual-run');
    return list.items.length > 0 ? list.items : undefined;
  });
  assert.equal(pods.length, 1);
  assert.equal(pods[0]?.status?.phase, 'Pending');
  const active = await waitFor('Job status.active', 30_000, async () => {
    const j = await getJson<Job>('job', 'manual-run');
    return j.status?.active ? j.status.active : undefined;
  });
  assert.equal(active, 1);
});

test('CronJob controller creates a Job from a * * * * * schedule', { timeout: 120_000 }, async (t) => {
  const job = await waitFor('scheduled Job', 75_000, async () => {
    const list = await getJson<List<Job>>('jobs');
    return list.items.find((j) => ownedByCronJob(j) && !isManual(j));
  });
  // The controller names scheduled Jobs <cronjob>-<minutes since epoch>.
  assert.match(job.metadata?.name ?? '', new RegExp(`^${CRONJOB}-\\d+$`));
  assert.ok(job.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp']);

  const cron = await getJson<CronJob>('cronjob', CRONJOB);
  assert.ok(cron.status?.lastScheduleTime, 'CronJob status records lastScheduleTime');
  assert.ok(
    cron.status?.active?.some((ref) => ref.name === job.metadata?.name),
    'CronJob status lists the scheduled Job as active',
  );
});
