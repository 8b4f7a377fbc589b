/**
 * The chart's Grafana dashboard against real data: real CLI runs (against the offline replica)
 * push to a real Pushgateway, a real Prometheus scrapes it, and every query of every panel must
 * return data there.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { one, RELEASE, render } from '../chart/helm.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { control, startTestReplica, type TestReplica } from '../helpers/replica.js';
import { startPrometheus, startPushgateway, type Daemon } from './prometheus-tools.js';

interface Panel { title: string; targets?: { expr: string }[] }
interface Dashboard { panels: Panel[]; templating: { list: { name: string; type: string; allValue?: string; query?: { query: string } }[] } }

const tdb = await useTestDatabase();
let replica: TestReplica;
let gateway: Daemon | undefined;
let prometheus: Daemon | undefined;

before(async () => {
  replica = await startTestReplica();
});

after(async () => {
  await prometheus?.stop();
  await gateway?.stop();
  await replica?.close();
});

function dashboard(): Dashboard {
  const cm = one(render({ values: { grafanaDashboard: { enabled: true } } }), 'ConfigMap', `${RELEASE}-dashboard`);
  return JSON.parse(cm.data['defi-sync.json'] as string) as Dashboard;
}

/** A panel query as Grafana sends it with every variable on "All". */
function resolve(expr: string, variables: Dashboard['templating']['list']): string {
  let out = expr;
  for (const v of variables) if (v.type === 'query') out = out.replaceAll(`$${v.name}`, v.allValue ?? '.*');
  assert.doesNotMatch(out, /\$/, `unresolved variable in ${out}`);
  return out;
}

async function query(expr: string): Promise<unknown[]> {
  const res = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: unknown[] } };
  assert.equal(body.status, 'success', `${expr}: ${body.error}`);
  return body.data.result;
}

test('every panel query of the dashboard returns data from real runs', async () => {
  gateway = await startPushgateway();
  prometheus = await startPrometheus(gateway.url, 'groups: []\n');
  const env = cliEnv({ ...replica.env(), DATABASE_URL: tdb.url, PUSHGATEWAY_URL: gateway.url });

  // A success after a rate-limited request, a plain success, and a failure.
  await control.setFault(replica.url, '/v2/chains', { kind: 'status', status: 429, retryAfter: 0, times: 1 });
  const chains = await runCli(['sync-chains'], env);
  assert.equal(chains.code, 0, chains.stderr);
  const protocols = await runCli(['sync-protocols'], env);
  assert.equal(protocols.code, 0, protocols.stderr);
  await control.setFault(replica.url, '/pools', { kind: 'wrong-shape' });
  const pools = await runCli(['sync-pools'], env);
  assert.notEqual(pools.code, 0, 'the sync-pools run fails');

  const d = dashboard();
  const variables = d.templating.list;
  const targets = d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: resolve(t.expr, variables) })));
  assert.ok(d.panels.every((p) => (p.targets ?? []).length > 0), 'every panel has a query');
  assert.ok(targets.length >= 10);

  // Prometheus scrapes every second: wait until the last pushed series is there, then check all.
  const deadline = Date.now() + 60_000;
  while ((await query('defi_sync_last_run_status{job_name="sync-pools"}')).length === 0) {
    assert.ok(Date.now() < deadline, 'Prometheus never scraped the pushed metrics');
    await new Promise((r) => setTimeout(r, 250));
  }
  const empty: string[] = [];
  for (const t of targets) if ((await query(t.expr)).length === 0) empty.push(`${t.panel}: ${t.expr}`);
  assert.deepEqual(empty, [], 'panel queries without data');

  // The figures are the runs' own (as recorded in sync_jobs): the failure and the rate-limited retry show.
  const failed = (await query(resolve(d.panels.find((p) => p.title === 'Jobs whose last run failed')!.targets![0]!.expr, variables))) as { value: [number, string] }[];
  assert.equal(failed[0]!.value[1], '1', 'the failed sync-pools run, and only it');
  const recorded = await tdb.db.one<{ rate_limit_hits: number; retries: number; api_calls: number }>(
    `SELECT rate_limit_hits, retries, api_calls FROM sync_jobs WHERE job_name = 'sync-chains' ORDER BY id DESC LIMIT 1`,
  );
  assert.ok(recorded.rate_limit_hits >= 1 && recorded.retries >= 1, JSON.stringify(recorded));
  const shown = async (panel: string, job = 'sync-chains'): Promise<number> => {
    const result = (await query(resolve(d.panels.find((p) => p.title === panel)!.targets![0]!.expr, variables))) as { metric: { job_name: string }; value: [number, string] }[];
    return Number(result.find((r) => r.metric.job_name === job)!.value[1]);
  };
  assert.deepEqual([await shown('Last run', 'sync-pools'), await shown('Last run', 'sync-chains'), await shown('Last run', 'sync-protocols')], [1, 0, 0]);
  assert.equal(await shown('Rate-limit hits'), recorded.rate_limit_hits);
  assert.equal(await shown('Retries'), recorded.retries);
  assert.equal(await shown('API calls'), recorded.api_calls);
});
