/**
 * map-contracts end to end against the generated replica: pools and protocols loaded by the
 * real sync jobs, /poolsOld read from the replica, the CLI run as a child process.
 * The tests run in file order on one database, each starting from the state the one before left.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getAddress } from 'viem';
import { classifyAddress } from '../../src/contracts/address.js';
import { chainKeyForLabel } from '../../src/chains/chain-reference.js';
import type { Fault } from '../../replica/faults.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

let replica: TestReplica;
const database = await useTestDatabase();

interface PoolOldRecord {
  pool: string;
  chain: string;
  pool_old?: string | null;
  poolTokenAddress?: string | null;
}

interface Mapping {
  id: number;
  pool_id: string | null;
  protocol_id: string | null;
  chain: string;
  address: string;
  address_display: string;
  address_family: string;
  contract_type: string;
  confidence: number;
  data_sources: { source: string; kind: string; value: string }[];
  is_active: boolean;
  xmin: string;
}

const env = () => cliEnv({ DATABASE_URL: database.url, ...replica.env() });

async function cli(...args: string[]) {
  const out = await runCli(args, env());
  assert.equal(out.code, 0, `${args.join(' ')}: ${out.stderr}\n${out.stdout.slice(-3000)}`);
  return out;
}

/** One map-contracts run while /poolsOld answers with `fault`. */
async function mapWithPoolsOldFault(fault: Fault) {
  replica.setFault('/poolsOld', fault);
  try {
    await cli('map-contracts');
  } finally {
    replica.clearFaults();
  }
}

async function lastRun() {
  return database.db.one<{ records_created: number; records_updated: number; records_unchanged: number; records_deactivated: number; details: Record<string, any> }>(
    `SELECT records_created, records_updated, records_unchanged, records_deactivated, details FROM sync_jobs WHERE job_name = 'map-contracts' ORDER BY id DESC LIMIT 1`,
  );
}

const mappings = () => database.db.manyOrNone<Mapping>('SELECT *, xmin::text FROM contract_mappings ORDER BY id');

before(async () => {
  replica = await startTestReplica();
  await cli('sync-chains');
  await cli('sync-protocols');
  await cli('sync-pools');
});

after(async () => {
  await replica?.close();
});

test('first run maps every source and address family, with EIP-55 display forms', async () => {
  await cli('map-contracts');
  const run = await lastRun();
  const rows = await mappings();
  assert.ok(rows.length > 300, `${rows.length} mappings`);
  assert.equal(run.records_created, rows.length);
  assert.equal(run.details.poolsOld.startsWith('used'), true, run.details.poolsOld);

  // Every family the replica serves, no sentinel, no price id.
  const families = new Set(rows.map((r) => r.address_family));
  for (const f of ['evm', 'solana', 'move', 'tron', 'ton']) assert.ok(families.has(f), `family ${f} in ${[...families]}`);
  assert.ok(!rows.some((r) => /^0x0{40}$|^0xe{40}$/i.test(r.address)), 'sentinels are never mapped');
  assert.ok(!rows.some((r) => r.address.startsWith('coingecko:')), 'price ids are never mapped');
  for (const r of rows.filter((r) => r.address_family === 'evm')) {
    assert.equal(r.address, r.address.toLowerCase());
    assert.equal(r.address_display, getAddress(r.address));
  }

  // Every source is used.
  const sources = new Set(rows.flatMap((r) => r.data_sources.map((s) => s.source)));
  for (const s of ['poolsOld.pool_old', 'poolsOld.poolTokenAddress', 'poolsOld.url', 'pools.underlyingTokens', 'pools.rewardTokens', 'protocols.address']) {
    assert.ok(sources.has(s), `source ${s} in ${[...sources]}`);
  }
  const types = new Set(rows.map((r) => r.contract_type));
  for (const t of ['pool', 'lp_token', 'underlying_token', 'reward_token', 'protocol_token']) assert.ok(types.has(t), `type ${t}`);

  // Each pool_old in one of the three shapes is mapped as the pool contract.
  const poolsOld = (await replica.get<{ data: PoolOldRecord[] }>('/poolsOld')).data;
  let checked = 0;
  for (const rec of poolsOld) {
    const raw = rec.pool_old ?? '';
    const key = chainKeyForLabel(rec.chain);
    const bare = raw.replace(new RegExp(`^${key}-|-${key}$`), '');
    const c = classifyAddress(bare, key);
    if (!c.ok || c.value.family === 'other') continue;
    const row = rows.find((r) => r.pool_id === rec.pool && r.contract_type === 'pool' && r.address === c.value.address);
    assert.ok(row, `pool_old ${raw} of ${rec.pool} is mapped`);
    assert.ok(row.data_sources.some((s) => s.source === 'poolsOld.pool_old' && s.value === raw));
    // pool_old and poolTokenAddress naming the same address: two independent sources.
    if (rec.poolTokenAddress && classifyAddress(rec.poolTokenAddress, key).ok) {
      assert.equal(row.confidence, 0.8, `${raw} also named by poolTokenAddress`);
      const lp = rows.find((r) => r.pool_id === rec.pool && r.contract_type === 'lp_token' && r.address === c.value.address);
      assert.equal(lp?.confidence, 0.8);
    }
    checked += 1;
  }
  assert.ok(checked > 150, `checked ${checked} pool_old values`);

  // Confidence follows the sources.
  for (const r of rows) {
    const counted = new Set(r.data_sources.filter((s) => s.kind !== 'guess').map((s) => s.source));
    const best = Math.max(...r.data_sources.map((s) => ({ reliable: 0.6, heuristic: 0.4, guess: 0.2 })[s.kind as 'reliable']));
    assert.equal(r.confidence, counted.size >= 2 ? 0.8 : best, JSON.stringify(r));
  }

  // Nearly every pool has a mapping, and the run reports the share.
  const pools = await database.db.one<{ n: number; mapped: number }>(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contract_mappings m WHERE m.pool_id = p.pool_id AND m.is_active))::int AS mapped
     FROM pools p WHERE p.is_active`,
  );
  assert.equal(run.details.poolsWithMapping, pools.mapped);
  assert.ok(pools.mapped / pools.n > 0.9, `${pools.mapped} of ${pools.n} pools mapped`);
  assert.equal(run.details.poolShareWithMapping, Number((pools.mapped / pools.n).toFixed(4)));
});

test('v_top_pools_with_contracts shows the mapped addresses of the top pools', async () => {
  const top = await database.db.manyOrNone<{ pool_id: string; contracts: { address: string; type: string; confidence: number }[]; contract_count: number; best_confidence: number }>(
    'SELECT pool_id, contracts, contract_count, best_confidence FROM v_top_pools_with_contracts LIMIT 10',
  );
  assert.equal(top.length, 10);
  for (const p of top) {
    const expected = await database.db.manyOrNone<{ address_display: string }>('SELECT address_display FROM contract_mappings WHERE pool_id = $1 AND is_active', [p.pool_id]);
    assert.equal(p.contract_count, expected.length);
    assert.deepEqual(new Set(p.contracts.map((c) => c.address)), new Set(expected.map((e) => e.address_display)));
  }
  assert.ok(top.filter((p) => p.contract_count > 0).length >= 8, 'the top pools have contracts');
});

test('a rerun with unchanged inputs changes no rows', async () => {
  const before = await mappings();
  await cli('map-contracts');
  const run = await lastRun();
  assert.deepEqual([run.records_created, run.records_updated, run.records_deactivated], [0, 0, 0]);
  assert.equal(run.records_unchanged, before.filter((r) => r.is_active).length);
  assert.deepEqual(await mappings(), before, 'no new row versions (xmin unchanged)');
  assert.equal(run.details.checksumsComputed, 0, 'nothing sent, nothing hashed');
  assert.equal(run.details.mappingsSent, 0, 'every mapping matched its stored row: nothing was sent');
});

test('/poolsOld answering 402 is a warning, and the mappings it backed keep their sources and confidence', async () => {
  const before = await mappings();
  await mapWithPoolsOldFault({ kind: 'status', status: 402, body: 'Upgrade to the paid API plan' });
  const run = await lastRun();
  assert.equal(run.details.poolsOld, 'unavailable');
  assert.ok((run.details.warnings as string[]).some((w) => w.includes('HTTP 402')));
  assert.ok(run.details.carriedEntries > 0);
  assert.equal(run.details.mappingsSent, 0, 'carried mappings are exactly what was stored');
  assert.deepEqual([run.records_created, run.records_updated, run.records_deactivated], [0, 0, 0]);
  assert.deepEqual(await mappings(), before, 'nothing changed, nothing lost');
});

test('pools /poolsOld is silent about (malformed records) keep what it said before', async () => {
  const before = await mappings();
  // Malformed records are rejected by the client: /poolsOld says nothing about those pools. Of
  // the replica's five broken records, two have only a bad tvlUsd, which map-contracts does not
  // read: they are used; the three without a usable pool id are rejected.
  await mapWithPoolsOldFault({ kind: 'malformed', count: 5 });
  const run = await lastRun();
  assert.match(run.details.poolsOld, /3 malformed rejected/);
  assert.ok(run.details.carriedEntries > 0, 'entries of the silent pools are carried');
  assert.deepEqual([run.records_created, run.records_updated, run.records_deactivated], [0, 0, 0]);
  assert.deepEqual(await mappings(), before);
});

test('a vanished pool\'s mappings go and come back with it; a row edited by hand is corrected; nothing else is written', async () => {
  const before = await mappings();
  const gonePool = before.find((r) => r.is_active && r.pool_id !== null)!.pool_id!;
  const ofPool = before.filter((r) => r.is_active && r.pool_id === gonePool);
  await database.db.none('UPDATE pools SET is_active = false WHERE pool_id = $1', [gonePool]);
  let run;
  try {
    await cli('map-contracts');
    run = await lastRun();
    assert.deepEqual([run.records_created, run.records_updated, run.records_deactivated], [0, 0, ofPool.length]);
    const now = await mappings();
    assert.ok(now.filter((r) => r.pool_id === gonePool).every((r) => !r.is_active), 'the vanished pool\'s mappings are inactive');
    assert.deepEqual(
      now.filter((r) => r.pool_id !== gonePool),
      before.filter((r) => r.pool_id !== gonePool),
    );
  } finally {
    await database.db.none('UPDATE pools SET is_active = true WHERE pool_id = $1', [gonePool]);
  }
  await cli('map-contracts');
  run = await lastRun();
  assert.deepEqual([run.records_created, run.records_updated, run.records_deactivated], [0, ofPool.length, 0], 'the pool back: its mappings are active again');

  // One row edited by hand: that row alone is rewritten.
  const current = await mappings();
  const row = current.find((r) => r.is_active && r.pool_id !== null && r.pool_id !== gonePool && r.confidence === 0.6)!;
  await database.db.none('UPDATE contract_mappings SET confidence = 0.2 WHERE id = $1', [row.id]);
  await cli('map-contracts');
  run = await lastRun();
  assert.equal(run.details.mappingsSent, 1);
  assert.deepEqual([run.records_created, run.records_updated, run.records_deactivated], [0, 1, 0]);
  const after = await mappings();
  assert.equal(after.find((r) => r.id === row.id)!.confidence, 0.6);
  assert.deepEqual(
    after.filter((r) => r.id !== row.id),
    current.filter((r) => r.id !== row.id),
    'the pool\'s other rows and every other row are untouched',
  );
});

test('next day: mappings of vanished pools become inactive, new pools are mapped, in one run', async () => {
  replica.nextDay();
  await cli('sync-pools');
  const gone = await database.db.manyOrNone<{ pool_id: string }>('SELECT pool_id FROM pools WHERE NOT is_active');
  const fresh = await database.db.manyOrNone<{ pool_id: string }>(`SELECT pool_id FROM pools WHERE is_active AND NOT EXISTS (SELECT 1 FROM contract_mappings m WHERE m.pool_id = pools.pool_id)`);
  assert.ok(gone.length > 0 && fresh.length > 0, `the replica's next day has vanished (${gone.length}) and new (${fresh.length}) pools`);
  // /poolsOld unavailable on that day too: a vanished pool's mappings still go.
  await mapWithPoolsOldFault({ kind: 'status', status: 402 });
  const rows = await mappings();
  const goneIds = new Set(gone.map((g) => g.pool_id));
  const ofGone = rows.filter((r) => r.pool_id !== null && goneIds.has(r.pool_id));
  assert.ok(ofGone.length > 0);
  assert.ok(ofGone.every((r) => !r.is_active), 'every mapping of a vanished pool is inactive');
  const run = await lastRun();
  assert.ok(run.records_deactivated >= ofGone.length);
  const mappedFresh = fresh.filter((p) => rows.some((r) => r.pool_id === p.pool_id && r.is_active));
  assert.ok(mappedFresh.length > 0, 'new pools are mapped from their token arrays even without /poolsOld');

  // /poolsOld back: the new pools gain their pool contract.
  await cli('map-contracts');
  const after = await mappings();
  assert.ok(after.some((r) => r.pool_id !== null && fresh.some((p) => p.pool_id === r.pool_id) && r.contract_type === 'pool'));
});

test('a run that would deactivate most mappings is refused unless --force, and changes nothing', async () => {
  const before = await mappings();
  // As if sync-pools had loaded a truncated /pools: most pools inactive.
  await database.db.none(`UPDATE pools SET is_active = false WHERE pool_id IN (SELECT pool_id FROM pools WHERE is_active ORDER BY pool_id LIMIT (SELECT count(*) * 8 / 10 FROM pools WHERE is_active))`);
  const refused = await runCli(['map-contracts'], env());
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /refused to deactivate \d+ of \d+ active contract mappings .*MAX_DEACTIVATE_SHARE=0.5.*--force/);
  assert.deepEqual(await mappings(), before, 'nothing changed');

  await cli('map-contracts', '--force');
  const run = await lastRun();
  assert.ok(run.records_deactivated > before.filter((r) => r.is_active).length / 2);
  const stillActive = await database.db.one<{ n: number }>(
    `SELECT count(*)::int AS n FROM contract_mappings m JOIN pools p ON p.pool_id = m.pool_id WHERE m.is_active AND NOT p.is_active`,
  );
  assert.equal(stillActive.n, 0, 'no active mapping of an inactive pool');
});
