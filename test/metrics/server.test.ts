import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { schedulerMetrics } from '../../src/metrics/scheduler-metrics.js';
import { startMetricsServer } from '../../src/metrics/server.js';
import type { SchedulerSnapshot } from '../../src/scheduler/scheduler.js';
import { parseExposition, sample } from './prometheus-tools.js';

test('the metrics server answers /metrics, /healthz (200 or 503) and nothing else', async () => {
  const registry = new Registry();
  new Counter({ name: 'probe_total', help: 'probe', registers: [registry] }).inc(3);
  let ok = true;
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry, health: () => ({ ok, body: { status: ok ? 'ok' : 'stopping' } }) });
  const base = `http://127.0.0.1:${server.port}`;
  try {
    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(parseExposition(await metrics.text()), 'probe_total')?.value, 3);

    assert.deepEqual([(await fetch(`${base}/healthz`)).status, await (await fetch(`${base}/healthz`)).json()], [200, { status: 'ok' }]);
    ok = false;
    assert.equal((await fetch(`${base}/healthz`)).status, 503);
    assert.equal((await fetch(`${base}/healthz?verbose=1`, { method: 'HEAD' })).status, 503);
    assert.equal((await fetch(`${base}/`)).status, 404);
    assert.equal((await fetch(`${base}/metrics`, { method: 'POST', body: 'x' })).status, 405);
  } finally {
    await server.close();
  }
});

test('scheduler metrics: seeded from sync_jobs history, then updated by each finished run', async () => {
  const snap: SchedulerSnapshot = { state: 'running', running: [], queued: [], next: [{ job: 'sync-pools', at: Date.parse('2026-03-02T03:00:00Z') }] };
  const m = schedulerMetrics([{ name: 'sync-pools', priority: 'high', cron: '0 3 * * *' }, { name: 'sync-chains', priority: 'high', cron: '0 1 * * *' }], () => snap);
  m.seed({ lastStarts: new Map(), lastSuccesses: new Map([['sync-pools', new Date('2026-03-01T03:02:00Z')]]), lastFailed: new Map([['sync-pools', true]]) });
  let s = parseExposition(await m.registry.metrics());
  const pools = { job_name: 'sync-pools' };
  assert.equal(sample(s, 'defi_sync_last_run_status', pools)?.value, 1);
  assert.equal(sample(s, 'defi_sync_last_success_timestamp_seconds', pools)?.value, Date.parse('2026-03-01T03:02:00Z') / 1000);
  assert.equal(sample(s, 'defi_sync_last_run_status', { job_name: 'sync-chains' }), undefined, 'never ran: no status');
  assert.equal(sample(s, 'defi_sync_scheduler_next_run_timestamp_seconds', pools)?.value, Date.parse('2026-03-02T03:00:00Z') / 1000);
  assert.equal(sample(s, 'defi_sync_scheduler_runs_total', { ...pools, outcome: 'failed' })?.value, 0);

  const run = { job: 'sync-pools', priority: 'high' as const, dueAt: 0, reason: 'schedule' as const, pid: 1, startedAt: 1_000_000 };
  m.hooks.finished!(run, { outcome: 'succeeded', code: 0, signal: null }, 1_004_000);
  m.hooks.finished!(run, { outcome: 'skipped', code: 75, signal: null }, 2_000_000);
  m.hooks.missed!('sync-pools', 0, 'still running');
  s = parseExposition(await m.registry.metrics());
  assert.equal(sample(s, 'defi_sync_last_run_status', pools)?.value, 0);
  assert.equal(sample(s, 'defi_sync_last_success_timestamp_seconds', pools)?.value, 1004);
  assert.equal(sample(s, 'defi_sync_run_duration_seconds', pools)?.value, 4, 'a skip (lock held elsewhere) is not a run of this job');
  assert.equal(sample(s, 'defi_sync_scheduler_runs_total', { ...pools, outcome: 'skipped' })?.value, 1);
  assert.equal(sample(s, 'defi_sync_scheduler_missed_runs_total', pools)?.value, 1);
});
