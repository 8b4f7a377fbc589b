/**
 * sync-chains, sync-protocols and sync-pools end to end: the real CLI against the replica and a
 * real PostgreSQL. The tests run in order on one database, as the days of a warehouse would.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliEnv, collect, runCli, spawnCli, type CliResult } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

interface PoolRecord {
  pool: string;
  tvlUsd?: number;
  [k: string]: unknown;
}

const t = await useTestDatabase();
let replica: TestReplica;
const dirs: string[] = [];
const replicas: TestReplica[] = [];

before(async () => {
  replica = await startTestReplica();
});
after(async () => {
  await Promise.all([replica.close(), ...replicas.map((r) => r.close())]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}, source: TestReplica = replica): NodeJS.ProcessEnv {
  return cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'warn', ...source.env(), ...extra });
}
const run = (job: string, args: string[] = [], extra: Record<string, string> = {}, source?: TestReplica): Promise<CliResult> => runCli([job, ...args], env(extra, source));

async function lastRun(job: string) {
  return t.db.one(`SELECT * FROM sync_jobs WHERE job_name = $1 ORDER BY id DESC LIMIT 1`, [job]);
}
const counts = (r: Record<string, number>) => [r.records_processed, r.records_created, r.records_updated, r.records_unchanged, r.records_deactivated, r.records_failed];

/** Every row with its version: equal states mean nothing was written. */
async function state(table: 'pools' | 'protocols' | 'chains') {
  const key = { pools: 'pool_id', protocols: 'id', chains: 'name' }[table];
  return t.db.manyOrNone<{ k: string; xmin: string; row: Record<string, unknown> }>(`SELECT ${key} AS k, xmin::text AS xmin, to_jsonb(x) AS row FROM ${table} x ORDER BY 1`);
}
const allStates = async () => ({ chains: await state('chains'), protocols: await state('protocols'), pools: await state('pools') });


async function livePools(source: TestReplica = replica): Promise<PoolRecord[]> {
  return (await source.get<{ data: PoolRecord[] }>('/pools')).data;
}

/** A replica that replays a recorded /pools response (the other routes answer 404). */
async function recordedPools(pools: unknown[]): Promise<TestReplica> {
  const dir = mkdtempSync(join(tmpdir(), 'defi-sync-recorded-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'pools.json'), JSON.stringify({ status: 'success', data: pools }));
  const r = await startTestReplica({ dataDir: dir });
  replicas.push(r);
  return r;
}

let firstPoolsRun: Date;

test('first load: each job loads every record of its route with typed columns', async () => {
  for (const job of ['sync-chains', 'sync-protocols', 'sync-pools']) {
    const r = await run(job);
    assert.equal(r.code, 0, `${job}: ${r.stderr}${r.stdout}`);
  }
  const [chains, protocols, pools] = await Promise.all([
    replica.get<{ name: string }[]>('/v2/chains'),
    replica.get<{ id: string; slug: string; chainTvls: Record<string, number> }[]>('/protocols'),
    livePools(),
  ]);
  const pr = await lastRun('sync-pools');
  firstPoolsRun = pr.started_at;
  assert.equal(pr.status, 'succeeded');
  assert.deepEqual(counts(pr), [pools.length, pools.length, 0, 0, 0, 0]);
  assert.equal(pr.api_calls, 1);
  assert.deepEqual(counts(await lastRun('sync-protocols')), [protocols.length, protocols.length, 0, 0, 0, 0]);
  assert.deepEqual(counts(await lastRun('sync-chains')), [chains.length, chains.length, 0, 0, 0, 0]);

  const db = await t.db.one(`SELECT (SELECT count(*) FROM pools WHERE is_active) AS pools, (SELECT count(*) FROM protocols) AS protocols, (SELECT count(*) FROM chains) AS chains`);
  assert.deepEqual([db.pools, db.protocols, db.chains], [pools.length, protocols.length, chains.length]);

  const sample = pools[Math.floor(pools.length / 2)]!;
  const row = await t.db.one('SELECT * FROM pools WHERE pool_id = $1', [sample.pool]);
  assert.equal(row.tvl_usd, sample.tvlUsd ?? null);
  assert.equal(row.chain, sample.chain);
  assert.equal(row.project, sample.project);
  assert.equal(row.apy, sample.apy ?? null);
  assert.deepEqual(row.underlying_tokens, sample.underlyingTokens ?? null);
  assert.deepEqual(row.raw, sample);

  // Sections are split off the per-chain TVL by suffix; what is left are chains.
  const withSection = protocols.find((p) => Object.keys(p.chainTvls ?? {}).some((k) => /-(staking|borrowed|pool2)$/.test(k)));
  assert.ok(withSection, 'the replica serves a protocol with section TVLs');
  const prow = await t.db.one('SELECT chain_tvls, section_tvls FROM protocols WHERE id = $1', [withSection.id]);
  for (const key of Object.keys(prow.chain_tvls)) assert.doesNotMatch(key, /-(staking|borrowed|pool2|vesting|treasury|offers)$/);
  assert.ok(Object.keys(prow.section_tvls).length > 0);

  // Pools link to chains by label and to protocols by slug; pools of unknown projects load too.
  const links = await t.db.one(`SELECT count(*) FILTER (WHERE chain_key IS NOT NULL) AS chained, count(*) FILTER (WHERE protocol_id IS NULL) AS orphans, count(*) AS n FROM v_pools`);
  assert.equal(links.n, pools.length);
  assert.equal(links.chained, pools.length);
  assert.ok(links.orphans > 0, 'pools whose project has no protocol row are loaded and listed');
});

test('an unchanged rerun updates nothing and writes no new row versions', async () => {
  const before = await allStates();
  for (const job of ['sync-chains', 'sync-protocols', 'sync-pools']) {
    const r = await run(job);
    assert.equal(r.code, 0, r.stderr);
    const last = await lastRun(job);
    assert.equal(last.records_created + last.records_updated + last.records_deactivated, 0, `${job} changed nothing`);
    assert.equal(last.records_unchanged, last.records_processed);
  }
  // Same rows with the same xmin: no row was rewritten, not even with equal values.
  assert.deepEqual(await allStates(), before);
});

test('next day: changed records are updated, new ones created, vanished ones deactivated with their last sighting', async () => {
  const day0 = await livePools();
  const secondRun = (await lastRun('sync-pools')).started_at as Date;
  assert.ok(secondRun > firstPoolsRun);
  replica.nextDay();
  const day1 = await livePools();
  const day1Ids = new Set(day1.map((p) => p.pool));
  const vanished = day0.filter((p) => !day1Ids.has(p.pool)).map((p) => p.pool);
  const appeared = day1.filter((p) => !day0.some((q) => q.pool === p.pool)).map((p) => p.pool);
  assert.ok(vanished.length > 0 && appeared.length > 0, 'the replica changes its pools from one day to the next');

  for (const job of ['sync-chains', 'sync-protocols', 'sync-pools']) {
    const r = await run(job);
    assert.equal(r.code, 0, r.stderr);
  }
  const last = await lastRun('sync-pools');
  assert.equal(last.records_processed, day1.length);
  assert.equal(last.records_created, appeared.length);
  assert.equal(last.records_deactivated, vanished.length);
  assert.ok(last.records_updated > 0);
  assert.equal(last.records_created + last.records_updated + last.records_unchanged, day1.length);
  assert.ok((await lastRun('sync-protocols')).records_updated > 0);

  const active = await t.db.map('SELECT pool_id FROM pools WHERE is_active ORDER BY pool_id', [], (r: { pool_id: string }) => r.pool_id);
  assert.deepEqual(active, [...day1Ids].sort());
  const gone = await t.db.manyOrNone('SELECT pool_id, is_active, last_seen_at FROM v_pools WHERE pool_id IN ($1:csv)', [vanished]);
  assert.equal(gone.length, vanished.length, 'never deleted');
  for (const g of gone) {
    assert.equal(g.is_active, false);
    assert.deepEqual(g.last_seen_at, secondRun, 'last seen = the last successful run that listed it');
  }
  // Active rows were seen by this run (rows it wrote carry the time of its transaction).
  const seen = await t.db.one('SELECT min(last_seen_at) AS min FROM v_pools WHERE is_active');
  assert.ok(seen.min >= last.started_at);
});

test('malformed records are rejected one by one and counted; the rest load', async () => {
  replica.nextDay();
  const before = new Map((await state('pools')).map((s) => [s.k, s]));
  replica.setFault('/pools', { kind: 'malformed', count: 3, times: 1 });
  const r = await run('sync-pools');
  assert.equal(r.code, 0, r.stderr);
  const last = await lastRun('sync-pools');
  assert.equal(last.records_failed, 3);
  const day2 = await livePools();
  assert.equal(last.records_processed, day2.length);
  assert.ok(last.records_updated > 0);
  assert.match(r.stdout, /3 malformed record\(s\) rejected/);

  // Every valid record was loaded; an active row that differs from the source belongs to a
  // rejected record that still named its pool, and was left exactly as it was.
  const after = new Map((await state('pools')).map((s) => [s.k, s]));
  const differing = day2.filter((p) => after.get(p.pool)?.row.is_active && after.get(p.pool)?.row.tvl_usd !== (p.tvlUsd ?? null));
  assert.ok(differing.length >= 1 && differing.length <= 3, `${differing.length} rows differ`);
  for (const p of differing) assert.deepEqual(after.get(p.pool), before.get(p.pool), 'a rejected record leaves its row as it was');

  const fixed = await run('sync-pools');
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.equal((await lastRun('sync-pools')).records_failed, 0);
});

test('a response that is unusable as a whole fails the run and leaves the database as it was', async () => {
  replica.nextDay();
  const before = await allStates();
  for (const fault of [{ kind: 'truncate' }, { kind: 'html' }, { kind: 'wrong-shape' }] as const) {
    replica.setFault('/pools', { ...fault, times: 1 });
    const r = await run('sync-pools');
    assert.equal(r.code, 1, `${fault.kind}: ${r.stderr}`);
    const last = await lastRun('sync-pools');
    assert.equal(last.status, 'failed');
    assert.match(last.error_message, /\/pools/);
    assert.deepEqual(await allStates(), before, `${fault.kind} changed nothing`);
  }
  assert.equal((await run('sync-pools')).code, 0);
});

test('records sent twice in one response are loaded once, the last one winning, and counted', async () => {
  const pools = await livePools();
  const twice = [...pools, { ...pools[0]!, tvlUsd: 1 }, { ...pools[1]!, tvlUsd: 2 }, { ...pools[0]!, tvlUsd: 3 }];
  const recorded = await recordedPools(twice);
  const r = await run('sync-pools', [], {}, recorded);
  assert.equal(r.code, 0, r.stderr);
  const last = await lastRun('sync-pools');
  assert.equal(last.details.duplicates, 3);
  assert.equal(last.details.received, pools.length + 3);
  assert.deepEqual(counts(last), [pools.length, 0, 2, pools.length - 2, 0, 0]);
  const rows = await t.db.manyOrNone('SELECT pool_id, tvl_usd FROM pools WHERE pool_id IN ($1, $2) ORDER BY tvl_usd', [pools[0]!.pool, pools[1]!.pool]);
  assert.deepEqual(rows.map((x) => x.tvl_usd), [2, 3]);
  assert.equal((await run('sync-pools')).code, 0);
});

test('the deactivation guard refuses a truncated source and changes nothing; --force applies it', async () => {
  const pools = await livePools();
  const kept = pools.slice(0, Math.floor(pools.length * 0.4));
  const truncated = await recordedPools(kept.map((p) => ({ ...p, tvlUsd: 42 })));
  const before = await state('pools');

  const refused = await run('sync-pools', [], {}, truncated);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`refused to deactivate ${pools.length - kept.length} of ${pools.length} active pools`));
  assert.match(refused.stderr, /MAX_DEACTIVATE_SHARE=0\.5/);
  assert.match(refused.stderr, /--force/);
  assert.equal((await lastRun('sync-pools')).status, 'failed');
  assert.deepEqual(await state('pools'), before);

  // A higher share lets it through; so does --force.
  const allowed = await run('sync-pools', [], { MAX_DEACTIVATE_SHARE: '0.7' }, truncated);
  assert.equal(allowed.code, 0, allowed.stderr);
  assert.equal((await lastRun('sync-pools')).records_deactivated, pools.length - kept.length);
  const back = await run('sync-pools');
  assert.equal(back.code, 0);
  assert.equal((await lastRun('sync-pools')).records_updated, pools.length, 'vanished pools come back and the others change');

  const forced = await run('sync-pools', ['--force'], {}, truncated);
  assert.equal(forced.code, 0, forced.stderr);
  const last = await lastRun('sync-pools');
  assert.equal(last.records_deactivated, pools.length - kept.length);
  assert.deepEqual(last.args, { force: true });
  assert.equal((await t.db.one('SELECT count(*) AS n FROM pools WHERE is_active')).n, kept.length);
  assert.equal((await run('sync-pools')).code, 0);
});

/**
 * Holds a lock that sync-pools' write needs, so the run is caught in the middle of its
 * transaction (after COPY into its staging table, at the merge).
 */
async function withWriteHeld<T>(fn: (child: ReturnType<typeof spawnCli>, backendPid: number) => Promise<T>): Promise<T> {
  const blocker = await t.db.connect();
  await blocker.none('BEGIN');
  await blocker.none('LOCK TABLE pools IN SHARE MODE');
  try {
    replica.nextDay(); // there is something to write
    const child = spawnCli(['sync-pools'], env());
    let pid: number | undefined;
    for (let i = 0; i < 600 && pid === undefined; i++) {
      const row = await t.db.oneOrNone<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock' AND query ILIKE '%MERGE INTO "pools"%'`,
        [`defi-sync:sync-pools:${child.pid}`],
      );
      pid = row?.pid;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(pid, 'sync-pools reached its write');
    return await fn(child, pid);
  } finally {
    await blocker.none('ROLLBACK').catch(() => undefined);
    blocker.done();
  }
}

async function backendGone(pid: number): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const row = await t.db.oneOrNone('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
    if (!row) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`backend ${pid} did not end`);
}

test('SIGKILL in the middle of the write leaves the database as before; status reports the run abandoned', async () => {
  const before = await allStates();
  const backend = await withWriteHeld(async (child, pid) => {
    const done = collect(child);
    child.kill('SIGKILL');
    const r = await done;
    assert.equal(r.signal, 'SIGKILL');
    return pid;
  });
  // The orphaned backend gets the lock, finds its client gone and rolls back.
  await backendGone(backend);
  assert.deepEqual(await allStates(), before);
  const status = await runCli(['status', '--json'], env());
  const row = (JSON.parse(status.stdout) as { jobs: { job: string; lastStatus: string }[] }).jobs.find((j) => j.job === 'sync-pools');
  assert.equal(row?.lastStatus, 'abandoned');
  const next = await run('sync-pools');
  assert.equal(next.code, 0, next.stderr);
  assert.ok((await lastRun('sync-pools')).records_updated > 0);
});

test('SIGTERM in the middle of the write cancels the statement, rolls back and records cancelled', async () => {
  const before = await allStates();
  await withWriteHeld(async (child) => {
    const done = collect(child, 15_000);
    child.kill('SIGTERM');
    const r = await done;
    assert.equal(r.code, 143, r.stderr);
  });
  assert.deepEqual(await allStates(), before);
  const last = await lastRun('sync-pools');
  assert.equal(last.status, 'cancelled');
  assert.match(last.error_message, /cancel/i);
});
