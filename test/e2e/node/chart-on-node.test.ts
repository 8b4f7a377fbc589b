/**
 * The chart on a real node (scripts/kube-testenv.sh start --node: kube-scheduler, kubelet,
 * containerd, runc, a bridge network): its CronJobs run the image from `make image` in pods
 * against a PostgreSQL and a replica served on the host's bridge address.
 *
 * At the end every pod the namespace saw is printed as `pod <name> <phase>`.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { CHART, helm, ROOT } from '../../chart/helm.js';
import { cliEnv, runCli } from '../../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/db.js';
import { startKubeTestEnv, type KubeTestEnv } from '../../helpers/kube-testenv.js';
import { startTestReplica, type TestReplica } from '../../helpers/replica.js';

const exec = promisify(execFile);
const NS = 'defi-node';
const RELEASE = 'e2e';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** What `make image` builds; podman stores it as localhost/defi-sync. */
const IMAGE = `defi-sync:${VERSION}`;

type Obj = { metadata: { name: string; uid: string; creationTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string; uid: string }[] }; spec?: any; status?: any };

let env: KubeTestEnv;
let db: TestDatabase;
let replica: TestReplica;
let relay: Server | undefined;
let podWatch: ChildProcess | undefined;
let work: string;
let valuesFile: string;
/** Last phase seen of every pod in the namespace, by name, in the order they appeared. */
const pods = new Map<string, { phase: string; exitCode: string }>();

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await exec(env.kubectl, ['--kubeconfig', env.kubeconfig, '-n', NS, ...args], { timeout: 120_000, maxBuffer: 16 << 20 });
  return stdout;
}
async function list(kind: string, selector: string): Promise<Obj[]> {
  return (JSON.parse(await kubectl('get', kind, '-l', selector, '-o', 'json')) as { items: Obj[] }).items;
}
async function cronJobName(job: string): Promise<string> {
  const [c] = await list('cronjobs', `defi-sync/job=${job}`);
  assert.ok(c, `no CronJob for ${job}`);
  return c.metadata.name;
}
async function helmRun(args: string[]): Promise<string> {
  try {
    const { stdout } = await exec(helm(), [...args, '--kubeconfig', env.kubeconfig, '--namespace', NS], { timeout: 420_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    throw new Error(`helm ${args[0]} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}\n${await podReport()}`);
  }
}

/** Polls `check` until it returns a value; fails with `what` and the pods' state at `timeoutMs`. */
async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs / 1000} s\n${await podReport()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Pod phases and the kubelet's last lines: what a failure message needs to be understood. */
async function podReport(): Promise<string> {
  const phases = await kubectl('get', 'pods', '-o', 'wide').catch((e: Error) => e.message);
  const events = await kubectl('get', 'events', '--sort-by=.lastTimestamp').catch((e: Error) => e.message);
  let kubelet = '';
  try {
    kubelet = readFileSync(join(env.dir, 'logs', 'kubelet.log'), 'utf8').split('\n').filter((l) => /^E/.test(l)).slice(-15).join('\n');
  } catch {
    kubelet = '(no kubelet log)';
  }
  return `pods:\n${phases}\nevents:\n${events.split('\n').slice(-25).join('\n')}\nkubelet errors:\n${kubelet}`;
}

async function jobDone(name: string, timeoutMs = 240_000): Promise<'Complete' | 'Failed'> {
  return waitFor(`Job ${name} to finish`, timeoutMs, async () => {
    const job = JSON.parse(await kubectl('get', 'job', name, '-o', 'json')) as Obj;
    const done = (job.status?.conditions ?? []).find((c: { type: string; status: string }) => ['Complete', 'Failed'].includes(c.type) && c.status === 'True');
    return done?.type as 'Complete' | 'Failed' | undefined;
  });
}

async function podsOf(jobName: string): Promise<Obj[]> {
  return list('pods', `batch.kubernetes.io/job-name=${jobName}`);
}

/** Forwards connections on the bridge address to the test's PostgreSQL, which listens on loopback. */
async function startRelay(host: string, target: URL): Promise<number> {
  relay = createServer((client: Socket) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) });
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve, reject) => relay!.once('error', reject).listen(0, host, resolve));
  return (relay.address() as { port: number }).port;
}

function watchPods(): void {
  podWatch = spawn(env.kubectl, ['--kubeconfig', env.kubeconfig, '-n', NS, 'get', 'pods', '--watch', '-o',
    'jsonpath={.metadata.name}{" "}{.status.phase}{" "}{.status.containerStatuses[0].state.terminated.exitCode}{"\\n"}'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let rest = '';
  podWatch.stdout!.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const [name, phase, exitCode] = line.trim().split(' ');
      if (name && phase) pods.set(name, { phase, exitCode: exitCode ?? '' });
    }
  });
}

before(async () => {
  env = await startKubeTestEnv({ node: true });
  const gateway = env.nodeGateway;
  assert.ok(gateway, 'the test environment started without a node');
  await env.loadImage(IMAGE);

  // The migration hook creates the schema: the database starts empty.
  db = await createTestDatabase({ migrated: false });
  const relayPort = await startRelay(gateway, new URL(db.url));
  const podDbUrl = new URL(db.url);
  podDbUrl.hostname = gateway;
  podDbUrl.port = String(relayPort);
  replica = await startTestReplica({ host: gateway });

  work = mkdtempSync(join(tmpdir(), 'defi-sync-node-'));
  valuesFile = join(work, 'values.yaml');
  writeFileSync(valuesFile, stringify({
    image: { repository: 'localhost/defi-sync', tag: VERSION, pullPolicy: 'Never' },
    secret: { create: true, values: { DATABASE_URL: podDbUrl.toString() } },
    config: { ...replica.env(), LOG_LEVEL: 'info' },
    jobs: {
      // An extra entry running sync-chains with a setting no run can accept.
      'bad-settings': { schedule: '0 0 1 1 *', priority: 'low', suspend: true, command: 'sync-chains', env: [{ name: 'HTTP_TIMEOUT_MS', value: 'soon' }] },
    },
  }));

  await kubectl('create', 'namespace', NS);
  watchPods();
  await helmRun(['install', RELEASE, CHART, '-f', valuesFile, '--wait', '--timeout', '5m']);
}, { timeout: 900_000 });

after(async () => {
  podWatch?.kill();
  for (const [name, { phase, exitCode }] of pods) console.log(`pod ${name} ${phase}${exitCode ? ` (exit ${exitCode})` : ''}`);
  relay?.close();
  await replica?.close();
  await env?.stop();
  await db?.drop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function migrationPods(): string[] {
  return [...pods].filter(([name, p]) => name.startsWith(`${RELEASE}-defi-sync-migrate-`) && p.phase === 'Succeeded').map(([name]) => name);
}

test('the migration hook runs on install: a pod ran `migrate` and the schema exists', async () => {
  assert.equal(migrationPods().length, 1, `migration pods: ${JSON.stringify([...pods])}`);
  const { n } = await db.db.one<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
  assert.ok(n > 0, 'no migration recorded');
});

test('kubectl create job --from=cronjob/<release>-sync-chains runs a pod to completion; chains are in PostgreSQL', async () => {
  const cronJob = await cronJobName('sync-chains');
  assert.equal(cronJob, `${RELEASE}-defi-sync-sync-chains`);
  await kubectl('create', 'job', `--from=cronjob/${cronJob}`, 'chains-by-hand');
  assert.equal(await jobDone('chains-by-hand'), 'Complete', await podReport());
  const [pod] = await podsOf('chains-by-hand');
  assert.equal(pod?.status.phase, 'Succeeded');
  const { n } = await db.db.one<{ n: number }>('SELECT count(*)::int AS n FROM chains');
  assert.ok(n > 0, 'no chains in PostgreSQL');
  const run = await db.db.one<{ status: string; host: string }>("SELECT status, host FROM sync_jobs WHERE job_name = 'sync-chains' ORDER BY id DESC LIMIT 1");
  assert.deepEqual(run, { status: 'succeeded', host: pod!.metadata.name });
});

test('defi-sync trigger sync-pools --wait completes and reports success', async () => {
  const r = await runCli(['trigger', 'sync-pools', '--wait', '--namespace', NS, '--release', RELEASE], cliEnv({ KUBECONFIG: env.kubeconfig, DATABASE_URL: db.url }), { timeoutMs: 300_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${await podReport()}`);
  const name = /^job\.batch\/(\S+)$/m.exec(r.stdout)?.[1];
  assert.ok(name, r.stdout);
  assert.match(r.stdout, new RegExp(`^Job ${name} succeeded$`, 'm'));
  const { n } = await db.db.one<{ n: number }>('SELECT count(*)::int AS n FROM pools');
  assert.ok(n > 0, 'no pools in PostgreSQL');
});

test('helm test passes: `status --check` in a pod against the release database', async () => {
  const out = await helmRun(['test', RELEASE, '--timeout', '3m']);
  assert.match(out, /Phase:\s+Succeeded/);
});

test('after an upgrade (the migration hook runs again), a `* * * * *` CronJob runs a Job to completion within 3 minutes', async () => {
  const upgradedAt = Date.now();
  await helmRun(['upgrade', RELEASE, CHART, '-f', valuesFile, '--set', 'jobs.sync-protocols.schedule=* * * * *', '--wait', '--timeout', '5m']);
  assert.equal(migrationPods().length, 2, `migration pods: ${JSON.stringify([...pods])}`);

  const cronJob = await cronJobName('sync-protocols');
  const cron = JSON.parse(await kubectl('get', 'cronjob', cronJob, '-o', 'json')) as Obj;
  const scheduled = await waitFor('a scheduled sync-protocols Job whose pod succeeded', 180_000 - (Date.now() - upgradedAt), async () => {
    const jobs = await list('jobs', 'defi-sync/job=sync-protocols');
    for (const job of jobs) {
      const byCronJob = job.metadata.ownerReferences?.some((o) => o.kind === 'CronJob' && o.uid === cron.metadata.uid);
      if (!byCronJob || job.metadata.annotations?.['cronjob.kubernetes.io/instantiate']) continue;
      const [pod] = await podsOf(job.metadata.name);
      if (pod?.status.phase === 'Succeeded') return job.metadata.name;
    }
    return undefined;
  });
  // One scheduled run is the point; more would only load the machine.
  await kubectl('patch', 'cronjob', cronJob, '--type=merge', '-p', '{"spec":{"suspend":true}}');
  const run = await db.db.one<{ status: string; trigger: string }>("SELECT status, trigger FROM sync_jobs WHERE job_name = 'sync-protocols' ORDER BY id LIMIT 1");
  assert.deepEqual(run, { status: 'succeeded', trigger: 'schedule' }, `Job ${scheduled}`);
});

test('a job with an invalid setting exits 2 and its Job fails at once, without a retry (podFailurePolicy)', async () => {
  const cronJob = await cronJobName('bad-settings');
  await kubectl('create', 'job', `--from=cronjob/${cronJob}`, 'bad-by-hand');
  assert.equal(await jobDone('bad-by-hand'), 'Failed');
  const job = JSON.parse(await kubectl('get', 'job', 'bad-by-hand', '-o', 'json')) as Obj;
  const failed = job.status.conditions.find((c: { type: string }) => c.type === 'Failed');
  assert.equal(failed.reason, 'PodFailurePolicy', JSON.stringify(failed));
  assert.equal(job.status.failed, 1);
  const jobPods = await podsOf('bad-by-hand');
  assert.equal(jobPods.length, 1, 'the Job made a second pod');
  assert.equal(jobPods[0]!.status.phase, 'Failed');
  assert.equal(jobPods[0]!.status.containerStatuses[0].state.terminated.exitCode, 2);
});

test('deleting a running Job\'s pod sends SIGTERM: the run is recorded as cancelled', async () => {
  // /v2/chains never answers, so the run is still going when its pod is deleted.
  replica.setFault('/v2/chains', { kind: 'timeout' });
  try {
    const cronJob = await cronJobName('sync-chains');
    await kubectl('create', 'job', `--from=cronjob/${cronJob}`, 'chains-cancelled');
    const pod = await waitFor('the chains-cancelled pod to be running with its run recorded', 120_000, async () => {
      const [p] = await podsOf('chains-cancelled');
      if (p?.status.phase !== 'Running') return undefined;
      const run = await db.db.oneOrNone("SELECT id FROM sync_jobs WHERE host = $1 AND status = 'running'", [p.metadata.name]);
      return run && replica.requests('/v2/chains') > 0 ? p.metadata.name : undefined;
    });
    await kubectl('delete', 'pod', pod, '--wait=false');
    const run = await waitFor('the run to be recorded as cancelled', 60_000, async () =>
      (await db.db.oneOrNone<{ status: string; error_message: string }>("SELECT status, error_message FROM sync_jobs WHERE host = $1 AND status <> 'running'", [pod])) ?? undefined);
    assert.equal(run.status, 'cancelled', run.error_message);
    await waitFor(`pod ${pod} to be gone`, 60_000, async () => ((await podsOf('chains-cancelled')).some((p) => p.metadata.name === pod) ? undefined : true));
    // The program exits 143 on SIGTERM, as the image's entrypoint receives it directly.
    await waitFor(`pod ${pod} to be seen exiting 143`, 30_000, async () => (pods.get(pod)?.exitCode === '143' ? true : undefined));
  } finally {
    replica.clearFaults();
    await kubectl('delete', 'job', 'chains-cancelled', '--wait=false').catch(() => undefined);
  }
});

test("status --kubernetes shows each CronJob's last Job", async () => {
  const env2 = cliEnv({ KUBECONFIG: env.kubeconfig, DATABASE_URL: db.url });
  const r = await runCli(['status', '--kubernetes', '--json', '--namespace', NS, '--release', RELEASE], env2);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout).jobs as { job: string; kubernetes: { cronJob: string; lastJob: { name: string; state: string } | null } | null }[];
  for (const row of rows) {
    assert.ok(row.kubernetes, `${row.job} has no CronJob`);
    const cron = JSON.parse(await kubectl('get', 'cronjob', row.kubernetes.cronJob, '-o', 'json')) as Obj;
    const owned = (await list('jobs', `defi-sync/job=${row.job}`)).filter((j) => j.metadata.ownerReferences?.some((o) => o.uid === cron.metadata.uid));
    owned.sort((a, b) => Date.parse(b.metadata.creationTimestamp!) - Date.parse(a.metadata.creationTimestamp!));
    assert.equal(row.kubernetes.lastJob?.name ?? null, owned[0]?.metadata.name ?? null, row.job);
  }
  const byJob = new Map(rows.map((row) => [row.job, row.kubernetes!.lastJob]));
  assert.equal(byJob.get('sync-pools')?.state, 'succeeded');
  assert.equal(byJob.get('sync-protocols')?.state, 'succeeded');
  assert.equal(byJob.get('map-contracts'), null);

  const table = await runCli(['status', '--kubernetes', '--namespace', NS, '--release', RELEASE], env2);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`sync-pools\\s+${RELEASE}-defi-sync-sync-pools\\s.*\\s${byJob.get('sync-pools')!.name} succeeded`));
});
