/**
 * Hostile upstream data, through the real CLI, the real replica and a real PostgreSQL: an 8 kB
 * key text, a record nested 6,000 levels deep, a literal 1e400 and a NUL are each rejected and
 * counted while the rest loads; a run fails (and changes nothing) only when the rejected share
 * passes MAX_REJECTED_SHARE; history points with absurd dates are rejected without partitions.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliEnv, runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { fixturePath, readFixture } from '../helpers/fixtures.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

const REAL_POOL = '747c1d2a-c668-4682-b9f9-296708a3dd90'; // the pool of chart-10-points.json
const HOSTILE_POOLS = [1, 2, 3, 4].map((n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`);

const dbs: TestDatabase[] = [];
const replicas: TestReplica[] = [];
const dirs: string[] = [];
after(async () => {
  await Promise.all([...dbs.map((d) => d.drop()), ...replicas.map((r) => r.close())]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function database(): Promise<TestDatabase> {
  const t = await createTestDatabase();
  dbs.push(t);
  return t;
}

/** A replica serving the real samples: /pools (2 records) and the stETH pool's /chart. */
async function realReplica(): Promise<TestReplica> {
  const dir = mkdtempSync(join(tmpdir(), 'defi-sync-hostile-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'chart'));
  copyFileSync(fixturePath('pools-2-records.json'), join(dir, 'pools.json'));
  copyFileSync(fixturePath('chart-10-points.json'), join(dir, 'chart', `${REAL_POOL}.json`));
  const r = await startTestReplica({ dataDir: dir });
  replicas.push(r);
  return r;
}

async function generatedReplica(): Promise<TestReplica> {
  const r = await startTestReplica({ pools: 500 });
  replicas.push(r);
  return r;
}

async function lastRun(t: TestDatabase, job: string) {
  return t.db.one<{ status: string; records_processed: number; records_failed: number; error_message: string | null; details: Record<string, unknown> }>(
    'SELECT status, records_processed, records_failed, error_message, details FROM sync_jobs WHERE job_name = $1 ORDER BY id DESC LIMIT 1',
    [job],
  );
}

const partitions = (t: TestDatabase, table: string) =>
  t.db.map<string>(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`, [table], (r: { relname: string }) => r.relname);

let generated: TestReplica;
let real: TestReplica;
before(async () => {
  [generated, real] = await Promise.all([generatedReplica(), realReplica()]);
});

test('four poisoned pools among real-shaped ones: sync-pools exits 0, stores the rest and counts each rejection with its reason', async () => {
  const t = await database();
  generated.setFault('/pools', { kind: 'hostile', cases: ['long-field', 'deep-nesting', 'non-finite', 'nul'] });
  const r = await runCli(['sync-pools'], cliEnv({ DATABASE_URL: t.url, ...generated.env() }));
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const stored = await t.db.one<{ n: number; hostile: number }>('SELECT count(*)::int AS n, count(*) FILTER (WHERE pool_id = ANY($1))::int AS hostile FROM pools', [HOSTILE_POOLS]);
  assert.deepEqual(stored, { n: 500, hostile: 0 });
  const run = await lastRun(t, 'sync-pools');
  assert.equal(run.records_failed, 4);
  assert.equal(run.records_processed, 504);
  const reasons = (run.details.rejectedSample as { key: string; reason: string }[]).map((s) => `${s.key} ${s.reason}`);
  assert.equal(reasons.length, 4);
  assert.match(reasons[0]!, /^\S+ project: Too big: expected string to have <=200 characters$/);
  assert.match(reasons[1]!, /^\S+ poolMeta: nested deeper than 32 levels$/);
  assert.match(reasons[2]!, /^\S+ tvlUsd: .*Infinity$/);
  assert.match(reasons[3]!, /^\S+ symbol: contains a NUL character \(U\+0000\), which PostgreSQL cannot store$/);
});

test('the same poisoned records with the real /pools sample: the run fails and changes nothing above MAX_REJECTED_SHARE, loads the real records below it', async () => {
  const t = await database();
  const env = cliEnv({ DATABASE_URL: t.url, ...real.env() });
  real.setFault('/pools', { kind: 'hostile', cases: ['long-field', 'deep-nesting', 'non-finite', 'nul'], times: 1 });
  const refused = await runCli(['sync-pools'], env);
  assert.equal(refused.code, 1, refused.stderr + refused.stdout);
  assert.match(refused.stderr, /sync-pools rejected 4 of 6 records as malformed \(66\.7%\), more than MAX_REJECTED_SHARE=0\.01; nothing was changed \(first: 00000000-0000-4000-8000-000000000001: project: Too big/);
  assert.equal((await t.db.one<{ n: number }>('SELECT count(*)::int AS n FROM pools')).n, 0);
  const failed = await lastRun(t, 'sync-pools');
  assert.equal(failed.status, 'failed');
  assert.equal(failed.records_failed, 4);

  real.setFault('/pools', { kind: 'hostile', cases: ['long-field', 'deep-nesting', 'non-finite', 'nul'], times: 1 });
  const loaded = await runCli(['sync-pools'], { ...env, MAX_REJECTED_SHARE: '0.9' });
  assert.equal(loaded.code, 0, loaded.stderr + loaded.stdout);
  const real2 = readFixture<{ data: { pool: string; symbol: string }[] }>('pools-2-records.json').data;
  const rows = await t.db.manyOrNone<{ pool_id: string; symbol: string }>('SELECT pool_id, symbol FROM pools ORDER BY pool_id');
  assert.deepEqual(rows, real2.map((p) => ({ pool_id: p.pool, symbol: p.symbol })).sort((a, b) => a.pool_id.localeCompare(b.pool_id)));
  assert.ok((await lastRun(t, 'sync-pools')).records_failed >= 3);
});

test('sync-protocols and sync-chains reject their poisoned records and load the rest', async () => {
  const t = await database();
  const env = cliEnv({ DATABASE_URL: t.url, ...generated.env(), MAX_REJECTED_SHARE: '0.2' });
  for (const [job, route, table] of [['sync-chains', '/v2/chains', 'chains'], ['sync-protocols', '/protocols', 'protocols']] as const) {
    generated.setFault(route, { kind: 'hostile', cases: ['long-field', 'deep-nesting', 'non-finite', 'nul'], times: 1 });
    const r = await runCli([job], env);
    assert.equal(r.code, 0, `${job}: ${r.stderr}${r.stdout}`);
    const served = await generated.get<unknown[]>(route);
    assert.equal((await t.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).n, served.length, job);
    assert.equal((await lastRun(t, job)).records_failed, 4, job);
  }
});

test('a real chart with points dated 1970 and 2999 (and a 1e400, a deep field) added loads its real days and makes no partition for them', async () => {
  const t = await database();
  const env = cliEnv({ DATABASE_URL: t.url, ...real.env() });
  assert.equal((await runCli(['sync-pools'], env)).code, 0);
  const before = await partitions(t, 'pool_daily_snapshots');
  real.setFault('/chart/*', { kind: 'hostile', cases: ['absurd-dates', 'non-finite', 'deep-nesting'] });
  const r = await runCli(['sync-historical', '--pool', REAL_POOL], env);
  real.clearFaults();
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const chart = readFixture<{ data: { timestamp: string }[] }>('chart-10-points.json').data;
  const days = await t.db.map<string>(`SELECT snapshot_date::text AS d FROM pool_daily_snapshots WHERE pool_id = $1 ORDER BY 1`, [REAL_POOL], (x: { d: string }) => x.d);
  assert.deepEqual(days, chart.map((p) => p.timestamp.slice(0, 10)));
  const made = (await partitions(t, 'pool_daily_snapshots')).filter((p) => !before.includes(p));
  assert.deepEqual(made, ['pool_daily_snapshots_y2022m05']);
  const run = await lastRun(t, 'sync-historical');
  assert.equal(run.status, 'succeeded');
  // The two absurd dates and the 1e400 point; the deeply nested field is not read.
  assert.equal(run.details.rejectedPoints, 3);
});

test('protocol history points with absurd dates are rejected per point; the protocol loads without partitions for them', async () => {
  const t = await database();
  const env = cliEnv({ DATABASE_URL: t.url, ...generated.env() });
  assert.equal((await runCli(['sync-protocols'], env)).code, 0);
  const before = await partitions(t, 'protocol_daily_snapshots');
  generated.setFault('/protocol/*', { kind: 'hostile', cases: ['absurd-dates'] });
  const r = await runCli(['sync-historical', '--only', 'protocols', '--top', '2'], env);
  generated.clearFaults();
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const made = (await partitions(t, 'protocol_daily_snapshots')).filter((p) => !before.includes(p));
  assert.ok(made.length > 0);
  assert.deepEqual(made.filter((p) => !/_y20(1[7-9]|2\d)m\d\d$/.test(p)), []);
  const run = await lastRun(t, 'sync-historical');
  assert.equal((run.details.items as { done: number }).done, 2);
  assert.ok((run.details.rejectedPoints as number) >= 4, String(run.details.rejectedPoints));
  const span = await t.db.one<{ min: string; max: string }>('SELECT min(snapshot_date)::text AS min, max(snapshot_date)::text AS max FROM protocol_daily_snapshots');
  assert.ok(span.min >= '2017-01-01' && span.max < '2999-01-01', JSON.stringify(span));
});
