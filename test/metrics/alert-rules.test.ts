/**
 * The chart's PrometheusRule against the metrics the runs really push: promtool accepts the rule
 * group, and a real Prometheus scraping a real Pushgateway fires and clears the alerts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { emptyStats } from '../../src/runs/stats.js';
import { logger } from '../../src/logger.js';
import { pushRunMetrics } from '../../src/metrics/push.js';
import type { FinishedStatus } from '../../src/metrics/run-metrics.js';
import { one, RELEASE, render } from '../chart/helm.js';
import { useTestDatabase } from '../helpers/db.js';
import { promtool, startPrometheus, startPushgateway, type Daemon } from './prometheus-tools.js';

const tdb = await useTestDatabase();
let gateway: Daemon | undefined;
let prometheus: Daemon | undefined;
let rules: string;

/** The rule group as the chart renders it, as a Prometheus rules file. */
function renderedRules(set: string[] = []): string {
  const objs = render({ set: ['prometheusRule.enabled=true', ...set] });
  return stringify({ groups: one(objs, 'PrometheusRule', RELEASE).spec.groups });
}

before(async () => {
  // "for" shortened so the test sees alerts fire within seconds; the expressions are the chart's.
  rules = renderedRules(['prometheusRule.failedFor=1s']);
});

after(async () => {
  await prometheus?.stop();
  await gateway?.stop();
});

test('promtool check rules accepts the rule group rendered from the chart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'defi-sync-rules-'));
  try {
    for (const [name, text] of [['default.yml', renderedRules()], ['selector.yml', renderedRules(['prometheusRule.metricSelector=namespace="defi"\\,release="defi-sync"'])]] as const) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const r = promtool(['check', 'rules', file]);
      assert.equal(r.code, 0, r.output);
      assert.match(r.output, /SUCCESS: \d+ rules found/);
    }
    // The check is real: a broken expression is refused.
    const broken = join(dir, 'broken.yml');
    writeFileSync(broken, rules.replace('max by (namespace, release, job_name)', 'max by (namespace, release, job_name'));
    assert.notEqual(promtool(['check', 'rules', broken]).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Alert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

async function alerts(): Promise<Alert[]> {
  const res = await fetch(`${prometheus!.url}/api/v1/alerts`);
  const body = (await res.json()) as { data: { alerts: Alert[] } };
  return body.data.alerts;
}

const firing = (list: Alert[], name: string, job: string) => list.some((a) => a.labels.alertname === name && a.labels.job_name === job && a.state === 'firing');

async function until(what: string, check: (list: Alert[]) => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Alert[] = [];
  while (Date.now() < deadline) {
    last = await alerts();
    if (check(last)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`${what}: not the case within ${timeoutMs} ms; alerts: ${JSON.stringify(last.filter((a) => a.labels.alertname !== 'DefiSyncJobNoMetrics'))}`);
}

test('a real Prometheus fires the chart alerts on pushed metrics and clears them after a success', async () => {
  gateway = await startPushgateway();
  prometheus = await startPrometheus(gateway.url, rules);
  const push = (job: string, status: FinishedStatus) =>
    pushRunMetrics({ config: { pushgatewayUrl: gateway!.url }, db: tdb.db, log: logger(), job, status, stats: emptyStats(), durationMs: 1000 });

  // sync-pools last succeeded three days ago (over the chart's 48 h) and has just failed.
  await tdb.db.none(
    `INSERT INTO sync_jobs (job_name, status, trigger, started_at, finished_at)
     VALUES ('sync-pools', 'succeeded', 'scheduler', now() - interval '3 days', now() - interval '3 days' + interval '5 minutes')`,
  );
  assert.equal(await push('sync-pools', 'failed'), true);
  assert.equal(await push('sync-chains', 'succeeded'), true);

  await until('DefiSyncJobFailed and DefiSyncJobStale fire for sync-pools', (list) => firing(list, 'DefiSyncJobFailed', 'sync-pools') && firing(list, 'DefiSyncJobStale', 'sync-pools'));
  const now = await alerts();
  assert.ok(!now.some((a) => a.labels.job_name === 'sync-chains'), `no alert for the job that succeeded: ${JSON.stringify(now)}`);

  // A cancelled run changes neither alert; a success clears both.
  assert.equal(await push('sync-pools', 'cancelled'), true);
  await new Promise((r) => setTimeout(r, 2_500));
  assert.ok(firing(await alerts(), 'DefiSyncJobFailed', 'sync-pools'), 'a cancellation does not clear the failure');
  assert.equal(await push('sync-pools', 'succeeded'), true);
  await until('the sync-pools alerts clear', (list) => !list.some((a) => a.labels.job_name === 'sync-pools' && a.labels.alertname !== 'DefiSyncJobNoMetrics'));
});
