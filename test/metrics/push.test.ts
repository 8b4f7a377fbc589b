import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import type { JobDefinition } from '../../src/jobs/types.js';
import { emptyStats, type RunStats } from '../../src/runs/stats.js';
import { pushJobName, pushRunMetrics } from '../../src/metrics/push.js';
import { runMetricsRegistry } from '../../src/metrics/run-metrics.js';
import { runJob } from '../../src/runs/job-runner.js';
import { useTestDatabase } from '../helpers/db.js';
import { closedPort } from '../helpers/ports.js';
import { parseExposition, sample, scrape, startPushgateway, type Daemon } from './prometheus-tools.js';

const tdb = await useTestDatabase();
let gateway: Daemon;

before(async () => {
  gateway = await startPushgateway();
});

after(async () => {
  await gateway?.stop();
});

function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

function testJob(name: string, run: (ctx: { stats: RunStats; signal: AbortSignal }) => Promise<void>): JobDefinition {
  return { name, schedule: '0 3 * * *', priority: 'high', description: 'test job', load: async () => ({ run }) };
}

const grouped = (job: string) => ({ job: pushJobName(job), job_name: job });

test('a run registry has every metric with the job_name label; a cancelled run leaves the last status out', async () => {
  const stats = { ...emptyStats(), processed: 7, created: 3, updated: 2, unchanged: 1, deactivated: 1, failed: 0, apiCalls: 4, retries: 2, rateLimitHits: 1 };
  const finishedAt = new Date('2026-01-02T03:04:05Z');
  const ok = parseExposition(await runMetricsRegistry({ job: 'sync-chains', status: 'succeeded', stats, durationMs: 1500, finishedAt }).metrics());
  const j = { job_name: 'sync-chains' };
  assert.equal(sample(ok, 'defi_sync_last_run_status', j)?.value, 0);
  assert.equal(sample(ok, 'defi_sync_last_success_timestamp_seconds', j)?.value, finishedAt.getTime() / 1000);
  assert.equal(sample(ok, 'defi_sync_run_duration_seconds', j)?.value, 1.5);
  assert.equal(sample(ok, 'defi_sync_records', { ...j, outcome: 'processed' })?.value, 7);
  assert.equal(sample(ok, 'defi_sync_records', { ...j, outcome: 'deactivated' })?.value, 1);
  assert.equal(sample(ok, 'defi_sync_api_calls', j)?.value, 4);
  assert.equal(sample(ok, 'defi_sync_retries', j)?.value, 2);
  assert.equal(sample(ok, 'defi_sync_rate_limit_hits', j)?.value, 1);
  assert.ok(ok.every((s) => s.labels.job_name === 'sync-chains'));

  const failed = parseExposition(await runMetricsRegistry({ job: 'sync-chains', status: 'failed', stats, durationMs: 10, finishedAt, lastSuccessAt: null }).metrics());
  assert.equal(sample(failed, 'defi_sync_last_run_status', j)?.value, 1);
  assert.equal(sample(failed, 'defi_sync_last_success_timestamp_seconds', j), undefined, 'no success known: no value rather than a wrong one');

  const cancelled = parseExposition(await runMetricsRegistry({ job: 'sync-chains', status: 'cancelled', stats, durationMs: 10, finishedAt, lastSuccessAt: new Date(0) }).metrics());
  assert.equal(sample(cancelled, 'defi_sync_last_run_status', j), undefined);
  assert.equal(sample(cancelled, 'defi_sync_last_success_timestamp_seconds', j)?.value, 0);
});

test('each run pushes its metrics to the Pushgateway: success, then failure, then cancellation', async () => {
  const config = loadConfig({ PUSHGATEWAY_URL: gateway.url });
  const signal = new AbortController().signal;
  const job = 'sync-pools';
  const before = Date.now() / 1000;

  await runJob({
    job: testJob(job, async ({ stats }) => {
      Object.assign(stats, { processed: 120, created: 100, updated: 15, unchanged: 5, apiCalls: 3, retries: 1, rateLimitHits: 1 });
    }),
    config, db: tdb.db, options: {}, signal,
  });
  let s = await scrape(`${gateway.url}/metrics`);
  const g = grouped(job);
  assert.equal(sample(s, 'defi_sync_last_run_status', g)?.value, 0);
  assert.equal(sample(s, 'defi_sync_records', { ...g, outcome: 'created' })?.value, 100);
  assert.equal(sample(s, 'defi_sync_records', { ...g, outcome: 'unchanged' })?.value, 5);
  assert.equal(sample(s, 'defi_sync_api_calls', g)?.value, 3);
  assert.equal(sample(s, 'defi_sync_retries', g)?.value, 1);
  assert.equal(sample(s, 'defi_sync_rate_limit_hits', g)?.value, 1);
  assert.ok((sample(s, 'defi_sync_run_duration_seconds', g)?.value ?? -1) >= 0);
  const success = sample(s, 'defi_sync_last_success_timestamp_seconds', g)?.value ?? 0;
  assert.ok(success >= before - 1 && success <= Date.now() / 1000 + 1, `last success ${success} is the time of the run`);

  await assert.rejects(
    runJob({
      job: testJob(job, async ({ stats }) => {
        stats.apiCalls = 9;
        throw new Error('upstream returned 502');
      }),
      config, db: tdb.db, options: {}, signal,
    }),
    /upstream returned 502/,
  );
  s = await scrape(`${gateway.url}/metrics`);
  assert.equal(sample(s, 'defi_sync_last_run_status', g)?.value, 1);
  assert.equal(sample(s, 'defi_sync_api_calls', g)?.value, 9);
  assert.equal(sample(s, 'defi_sync_records', { ...g, outcome: 'created' })?.value, 0, 'each push carries the counts of its own run');
  assert.ok(Math.abs((sample(s, 'defi_sync_last_success_timestamp_seconds', g)?.value ?? 0) - success) < 1, 'a failure keeps the last success');

  const controller = new AbortController();
  const lastRunBefore = sample(s, 'defi_sync_last_run_timestamp_seconds', g)?.value ?? 0;
  await assert.rejects(
    runJob({
      job: testJob(job, (ctx) => new Promise<void>((resolve) => {
        ctx.stats.apiCalls = 1;
        ctx.signal.addEventListener('abort', () => resolve(), { once: true });
        setTimeout(() => controller.abort(new Error('received SIGTERM')), 50);
      })),
      config, db: tdb.db, options: {}, signal: controller.signal,
    }),
    /cancelled/,
  );
  s = await scrape(`${gateway.url}/metrics`);
  assert.equal(sample(s, 'defi_sync_last_run_status', g)?.value, 1, 'a cancellation does not change the last outcome');
  assert.equal(sample(s, 'defi_sync_api_calls', g)?.value, 1);
  assert.ok((sample(s, 'defi_sync_last_run_timestamp_seconds', g)?.value ?? 0) >= lastRunBefore);
});

test('a failed run reports the last success recorded in sync_jobs, which survives a Pushgateway restart', async () => {
  const job = 'map-contracts';
  await tdb.db.none(
    `INSERT INTO sync_jobs (job_name, status, trigger, started_at, finished_at) VALUES
       ($1, 'succeeded', 'manual', '2024-01-01T00:00:00Z', '2024-01-01T00:10:00Z'),
       ($1, 'failed', 'manual', '2024-01-02T00:00:00Z', '2024-01-02T00:01:00Z')`,
    [job],
  );
  const { log } = memoryLogger();
  const pushed = await pushRunMetrics({ config: { pushgatewayUrl: gateway.url }, db: tdb.db, log, job, status: 'failed', stats: emptyStats(), durationMs: 5 });
  assert.equal(pushed, true);
  const s = await scrape(`${gateway.url}/metrics`);
  assert.equal(sample(s, 'defi_sync_last_success_timestamp_seconds', grouped(job))?.value, Date.parse('2024-01-01T00:10:00Z') / 1000);
  assert.equal(sample(s, 'defi_sync_last_run_status', grouped(job))?.value, 1);
});

test('a push that fails is logged without credentials and never fails the run', async () => {
  const refused = `http://127.0.0.1:${await closedPort()}`;
  const ok = await runJob({
    job: testJob('create-snapshots', async ({ stats }) => void (stats.processed = 1)),
    config: loadConfig({ PUSHGATEWAY_URL: refused }), db: tdb.db, options: {}, signal: new AbortController().signal,
  });
  assert.equal(ok.status, 'succeeded');

  // A gateway that answers with an error status.
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(500).end('storage is full'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const { log, lines } = memoryLogger();
    const pushed = await pushRunMetrics({ config: { pushgatewayUrl: `http://metrics:pa55w0rd-xyz@127.0.0.1:${port}` }, log, job: 'sync-chains', status: 'succeeded', stats: emptyStats(), durationMs: 1 });
    assert.equal(pushed, false);
    const warn = lines.find((l) => l.msg === 'could not push metrics to the Pushgateway; the run itself is unaffected');
    assert.ok(warn, JSON.stringify(lines));
    assert.match(String(warn.error), /500/);
    assert.ok(!JSON.stringify(lines).includes('pa55w0rd-xyz'), 'the password in PUSHGATEWAY_URL is redacted');
  } finally {
    await new Promise((r) => server.close(r));
  }

  const { log } = memoryLogger();
  assert.equal(await pushRunMetrics({ config: { pushgatewayUrl: undefined }, log, job: 'sync-chains', status: 'succeeded', stats: emptyStats(), durationMs: 1 }), false);
});

test('side-by-side instances of a job (shards) push to groups of their own', async () => {
  const { log } = memoryLogger();
  const push = (instance: string, status: 'succeeded' | 'failed') =>
    pushRunMetrics({ config: { pushgatewayUrl: gateway.url }, log, job: 'sync-historical', instance, status, stats: emptyStats(), durationMs: 1 });
  assert.equal(await push('0-of-2', 'succeeded'), true);
  assert.equal(await push('1-of-2', 'failed'), true);
  const s = await scrape(`${gateway.url}/metrics`);
  const g = grouped('sync-historical');
  assert.equal(sample(s, 'defi_sync_last_run_status', { ...g, instance: '0-of-2' })?.value, 0);
  assert.equal(sample(s, 'defi_sync_last_run_status', { ...g, instance: '1-of-2' })?.value, 1);
});

test('two installations sharing a gateway push to groups of their own, labelled with namespace and release', async () => {
  const { log } = memoryLogger();
  const push = (env: Record<string, string>, status: 'succeeded' | 'failed') =>
    pushRunMetrics({ config: loadConfig({ PUSHGATEWAY_URL: gateway.url, ...env }), log, job: 'sync-protocols', status, stats: emptyStats(), durationMs: 1 });
  assert.equal(await push({ POD_NAMESPACE: 'team-a', DEFI_SYNC_RELEASE: 'warehouse' }, 'succeeded'), true);
  assert.equal(await push({ POD_NAMESPACE: 'team-b', DEFI_SYNC_RELEASE: 'warehouse' }, 'failed'), true);
  assert.equal(await push({ POD_NAMESPACE: 'team-a', DEFI_SYNC_RELEASE: 'staging' }, 'failed'), true);
  const s = await scrape(`${gateway.url}/metrics`);
  const g = grouped('sync-protocols');
  assert.equal(sample(s, 'defi_sync_last_run_status', { ...g, namespace: 'team-a', release: 'warehouse' })?.value, 0, 'not overwritten by the other installations');
  assert.equal(sample(s, 'defi_sync_last_run_status', { ...g, namespace: 'team-b', release: 'warehouse' })?.value, 1);
  assert.equal(sample(s, 'defi_sync_last_run_status', { ...g, namespace: 'team-a', release: 'staging' })?.value, 1);
  // The group's own URL carries the key, so one installation's group can be read or deleted alone.
  const group = await fetch(`${gateway.url}/api/v1/metrics`).then((r) => r.json() as Promise<{ data: { labels: Record<string, string> }[] }>);
  const keys = group.data.map((d) => d.labels).filter((l) => l.job === pushJobName('sync-protocols') && l.namespace);
  assert.deepEqual(keys.map((l) => `${l.namespace}/${l.release}`).sort(), ['team-a/staging', 'team-a/warehouse', 'team-b/warehouse']);
});
