/**
 * contracts/store.ts called in-process on a real PostgreSQL: what map-contracts reads, and the one
 * transaction that writes its mappings (counts, the comparison with stored rows, deactivation and its guard, the
 * verification and token metadata caches as evidence, rollback of everything on a failure).
 * The CLI's run of the whole job is in map-contracts.test.ts.
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import type { MappingRow } from '../../src/contracts/build-mappings.js';
import { entriesJson, entry as sourceEntry, type SourceEntry } from '../../src/contracts/sources.js';
import {
  carriedRows,
  countActiveByConfidence,
  naturalKey,
  readPools,
  readProtocols,
  readStoredState,
  writeMappings,
  type WriteOptions,
} from '../../src/contracts/store.js';
import { MORALIS_METHOD, type TokenMetadataRow } from '../../src/contracts/token-metadata.js';
import type { VerificationResult } from '../../src/contracts/verify/verify-addresses.js';
import { CancelledError, GuardError } from '../../src/errors.js';
import { useTestDatabase } from '../helpers/db.js';
import { failWhen, lastRunId, snapshotTables } from '../helpers/tables.js';
import { insertPools, insertProtocols } from '../history/fixtures.js';

const database = await useTestDatabase();
const db = database.db;
beforeEach(async () => {
  await db.none('TRUNCATE contract_mappings, contract_verifications, token_metadata, sync_jobs, pools, protocols RESTART IDENTITY');
});

/** An EVM address from a number: mixed-case in its EIP-55 form. */
const evm = (n: number) => `0x${'ab'.repeat(19)}${n.toString(16).padStart(2, '0')}`;
/** Their EIP-55 forms, as viem's getAddress spells them (written out: viem takes seconds to load). */
const EIP55: Record<number, string> = {
  1: '0xABABABAbAbaBAbABabAbababaBaBABaBAbAbab01',
  2: '0xABaBAbababababAbababababAbaBAbAbababaB02',
  3: '0xaBabaBABaBaBABABaBabAbaBAbabABabababaB03',
  4: '0xAbABaBAbAbABAbAbaBaBaBababababaBAbAbab04',
  5: '0xabAbabABAbAbabaBabaBABabaBaBAbaBABaBAB05',
  6: '0xABaBAbaBAbaBabaBAbABabababababABabAbAb06',
  7: '0xaBabaBABAbaBABababABaBABAbabaBaBABaBAB07',
};
const getAddress = (address: string) => EIP55[Number.parseInt(address.slice(-2), 16)]!;

function entry(source: SourceEntry['source'], value: string, kind: SourceEntry['kind'] = 'reliable'): SourceEntry {
  return { source, kind, value };
}

/** An EVM mapping of a pool (or, with `protocol`, of a protocol). */
function evmRow(owner: string, n: number, extra: Partial<MappingRow> = {}, protocol = false): MappingRow {
  return {
    poolId: protocol ? null : owner,
    protocolId: protocol ? owner : null,
    chain: 'Ethereum',
    chainKey: 'ethereum',
    evmChainId: 1,
    address: evm(n),
    display: undefined,
    family: 'evm',
    type: protocol ? 'protocol_token' : 'underlying_token',
    entries: [entry(protocol ? 'protocols.address' : 'pools.underlyingTokens', evm(n))],
    confidence: 0.6,
    ...extra,
  };
}

function otherRow(owner: string, address: string, family: 'solana' | 'tron', extra: Partial<MappingRow> = {}, protocol = false): MappingRow {
  return {
    poolId: protocol ? null : owner,
    protocolId: protocol ? owner : null,
    chain: family === 'solana' ? 'Solana' : 'Tron',
    chainKey: family,
    evmChainId: null,
    address,
    display: address,
    family,
    type: protocol ? 'protocol_token' : 'reward_token',
    entries: [entry(protocol ? 'protocols.address' : 'pools.rewardTokens', address)],
    confidence: 0.6,
    ...extra,
  };
}

const SOL = 'So11111111111111111111111111111111111111112';
const TRX = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';

/** Day one: 5 owners, 7 rows, 5 distinct EVM addresses. Owners come one after another. */
function dayOne(): MappingRow[] {
  return [
    evmRow('pool-a', 1),
    evmRow('pool-a', 2, { type: 'pool', entries: [entry('poolsOld.pool_old', evm(2))] }),
    evmRow('pool-b', 3, { type: 'reward_token', entries: [entry('pools.rewardTokens', evm(3))] }),
    otherRow('pool-b', SOL, 'solana'),
    evmRow('pool-c', 4),
    evmRow('1', 5, {}, true),
    otherRow('2', TRX, 'tron', {}, true),
  ];
}

const options = (extra: Partial<WriteOptions> = {}): WriteOptions => ({ maxDeactivateShare: 0.5, force: false, ...extra });

/** One run as map-contracts makes it: the stored state read first, then the write. */
async function write(rows: readonly MappingRow[], verifications: readonly VerificationResult[] = [], extra: Partial<WriteOptions> = {}) {
  const stored = await readStoredState(db);
  // Fresh objects: the store fills in nothing on them, but a run never hands the same rows twice.
  return writeMappings(db, rows.map((r) => ({ ...r })), verifications, stored, options(extra));
}

interface Stored {
  id: string;
  pool_id: string | null;
  protocol_id: string | null;
  address: string;
  address_display: string;
  contract_type: string;
  confidence: number;
  data_sources: SourceEntry[];
  is_contract: boolean | null;
  verified_at: Date | null;
  verification_method: string | null;
  is_active: boolean;
  last_seen_at: Date | null;
  xmin: string;
}

async function mappings(): Promise<Stored[]> {
  return db.manyOrNone<Stored>('SELECT id::text, pool_id, protocol_id, address, address_display, contract_type, confidence::float8 AS confidence, data_sources, is_contract, verified_at, verification_method, is_active, last_seen_at, xmin::text FROM contract_mappings ORDER BY id');
}

const byAddress = (rows: Stored[], address: string) => rows.find((r) => r.address === address)!;

const counts = (r: { created: number; updated: number; unchanged: number; deactivated: number }) => [r.created, r.updated, r.unchanged, r.deactivated];

async function succeededRun(): Promise<Date> {
  const row = await db.one<{ started_at: Date }>(
    `INSERT INTO sync_jobs (job_name, status, trigger, finished_at) VALUES ('map-contracts', 'succeeded', 'manual', clock_timestamp()) RETURNING started_at`,
  );
  return row.started_at;
}

test('a first write creates every row with its EIP-55 form', async () => {
  const result = await write(dayOne());
  assert.deepEqual(counts(result), [7, 0, 0, 0]);
  assert.deepEqual([result.activeBefore, result.sent, result.checksummed], [0, 7, 5]);
  assert.deepEqual(Object.keys(result.timings), ['diff', 'deactivate', 'copy', 'merge', 'commit']);

  const rows = await mappings();
  assert.equal(rows.length, 7);
  assert.ok(rows.every((r) => r.is_active && r.last_seen_at instanceof Date && r.is_contract === null && r.verification_method === null));
  for (let n = 1; n <= 5; n++) assert.equal(byAddress(rows, evm(n)).address_display, getAddress(evm(n)));
  assert.notEqual(getAddress(evm(1)), evm(1), 'the EIP-55 form differs from the stored address');
  assert.equal(byAddress(rows, SOL).address_display, SOL);
  assert.deepEqual(byAddress(rows, evm(2)).data_sources, [{ source: 'poolsOld.pool_old', kind: 'reliable', value: evm(2) }]);
  assert.equal(byAddress(rows, evm(5)).protocol_id, '1');
  assert.equal(byAddress(rows, evm(5)).pool_id, null);

  const state = await readStoredState(db);
  assert.equal(state.size, 7);
  assert.deepEqual(state.get(naturalKey(dayOne()[1]!)), {
    id: byAddress(rows, evm(2)).id, poolId: 'pool-a', protocolId: null, chain: 'Ethereum', chainKey: 'ethereum', evmChainId: 1, address: evm(2),
    display: getAddress(evm(2)), family: 'evm', type: 'pool', sources: '[{"kind": "reliable", "value": "' + evm(2) + '", "source": "poolsOld.pool_old"}]',
    confidence: 0.6, isContract: null,
  });
});

test('a rerun with the same mappings sends nothing and writes no row version', async () => {
  await write(dayOne());
  const before = await mappings();
  const result = await write(dayOne());
  assert.deepEqual(counts(result), [0, 0, 7, 0]);
  assert.deepEqual([result.activeBefore, result.sent, result.checksummed], [7, 0, 0]);
  assert.deepEqual(Object.keys(result.timings), ['diff', 'deactivate', 'commit'], 'nothing staged, nothing merged');
  assert.deepEqual(await mappings(), before);
});

test('a pool and a protocol with the same id are separate owners', async () => {
  const rows = [evmRow('7', 1), evmRow('7', 2, {}, true)];
  await write(rows);
  const before = await mappings();
  const result = await write([rows[0]!, evmRow('7', 2, { confidence: 0.8 }, true)]);
  assert.deepEqual(counts(result), [0, 1, 1, 0]);
  assert.deepEqual(byAddress(await mappings(), evm(1)), byAddress(before, evm(1)), 'the pool\'s row is untouched');
});

test('an EVM row that comes with its display form keeps it, and none is computed for it', async () => {
  const given = evmRow('pool-a', 1, { display: 'AS-GIVEN' });
  const result = await write([given, evmRow('pool-a', 2)]);
  assert.equal(result.checksummed, 1);
  const rows = await mappings();
  assert.deepEqual([byAddress(rows, evm(1)).address_display, byAddress(rows, evm(2)).address_display], ['AS-GIVEN', getAddress(evm(2))]);
});

test('changed, new, dropped and vanished mappings: only the rows that differ are sent; the rest is untouched', async () => {
  await write(dayOne());
  const lastRun = await succeededRun();
  const before = await mappings();
  const next = [
    // pool-a: one row changes (a second source), one is new, one is as it was.
    evmRow('pool-a', 1, { confidence: 0.8, entries: [entry('pools.underlyingTokens', evm(1)), entry('poolsOld.poolTokenAddress', evm(1))] }),
    evmRow('pool-a', 2, { type: 'pool', entries: [entry('poolsOld.pool_old', evm(2))] }),
    evmRow('pool-a', 7),
    // pool-b loses its Solana row; pool-c vanishes; pool-d is new.
    evmRow('pool-b', 3, { type: 'reward_token', entries: [entry('pools.rewardTokens', evm(3))] }),
    evmRow('pool-d', 6),
    evmRow('1', 5, {}, true),
    otherRow('2', TRX, 'tron', {}, true),
  ];
  const result = await write(next);
  assert.deepEqual(counts(result), [2, 1, 4, 2]);
  // pool-a's changed and new rows, pool-d's new one; only the new addresses get an EIP-55 form.
  assert.deepEqual([result.activeBefore, result.sent, result.checksummed], [7, 3, 2]);

  const rows = await mappings();
  const changed = byAddress(rows, evm(1));
  assert.deepEqual([changed.confidence, changed.data_sources.length, changed.id], [0.8, 2, byAddress(before, evm(1)).id]);
  for (const gone of [SOL, evm(4)]) {
    const r = byAddress(rows, gone);
    assert.equal(r.is_active, false, `${gone} deactivated`);
    assert.deepEqual(r.last_seen_at, lastRun, 'last seen: the last successful run before this one');
  }
  for (const n of [2, 3, 5]) assert.deepEqual(byAddress(rows, evm(n)), byAddress(before, evm(n)), `row of ${evm(n)} untouched`);
  assert.deepEqual(byAddress(rows, TRX), byAddress(before, TRX));
  for (const n of [6, 7]) assert.equal(byAddress(rows, evm(n)).address_display, getAddress(evm(n)));


  // A vanished owner that comes back: its inactive row is reactivated (an update, not a new row).
  const back = await write([...next.slice(0, 5), evmRow('pool-c', 4), ...next.slice(5)]);
  assert.deepEqual(counts(back), [0, 1, 7, 0]);
  // Its EIP-55 form is computed again: only the active rows are read.
  assert.deepEqual([back.sent, back.checksummed], [1, 1]);
  const returned = byAddress(await mappings(), evm(4));
  assert.deepEqual([returned.is_active, returned.id], [true, byAddress(before, evm(4)).id]);
});

test('a row whose columns or sources were edited by hand is corrected by the next run, its confidence as the merge sets it', async () => {
  await write(dayOne());
  const before = await mappings();
  await db.none(`UPDATE contract_mappings SET confidence = 0.2 WHERE address = $1`, [TRX]);
  await db.none(`UPDATE contract_mappings SET data_sources = '[]', address_display = 'so111' WHERE address = $1`, [SOL]);
  await db.none(`UPDATE contract_mappings SET chain_key = 'arbitrum' WHERE address = $1`, [evm(1)]);
  await db.none(`UPDATE contract_mappings SET evm_chain_id = 10 WHERE address = $1`, [evm(2)]);
  // Sources of another shape are a difference too, never a failure of the run.
  await db.none(`UPDATE contract_mappings SET data_sources = '{"source": "poolsOld.pool_old"}' WHERE address = $1`, [evm(3)]);
  await db.none(`UPDATE contract_mappings SET data_sources = '[null]' WHERE address = $1`, [evm(4)]);
  await db.none(`UPDATE contract_mappings SET data_sources = '[{"source": "pools.underlyingTokens", "kind": "sure", "value": "x"}]' WHERE address = $1`, [evm(5)]);
  const corrected = await write(dayOne());
  assert.deepEqual(counts(corrected), [0, 7, 0, 0]);
  assert.equal(corrected.sent, 7);
  const strip = (r: Stored) => ({ ...r, xmin: undefined, last_seen_at: undefined });
  assert.deepEqual((await mappings()).map(strip), before.map(strip), 'every row as the first run wrote it');

  // A confidence of 1.0 with code on-chain is what the merge stores: not a difference.
  await db.none(`INSERT INTO contract_verifications (chain_key, address, is_contract, code_size, method, checked_at) VALUES ('ethereum', $1, true, 1, 'eth_getCode', now())`, [evm(1)]);
  await db.none(`UPDATE contract_mappings SET confidence = 1, is_contract = true WHERE address = $1`, [evm(1)]);
  assert.equal((await write(dayOne())).sent, 0);
  await db.none(`UPDATE contract_mappings SET confidence = 1, is_contract = NULL WHERE address = $1`, [evm(1)]);
  assert.equal((await write(dayOne())).sent, 1);
});

test('the guard refuses to deactivate more than the share and changes nothing; --force applies it; the limit itself passes', async () => {
  await write(dayOne());
  const runs = await lastRunId(db);
  const before = await snapshotTables(db, runs);
  // 4 of 7 would go (57 %), with a new row and a verdict that must not be stored either.
  const truncated = [evmRow('pool-a', 1), evmRow('pool-a', 2, { type: 'pool', entries: [entry('poolsOld.pool_old', evm(2))] }), evmRow('pool-e', 9), evmRow('1', 5, {}, true)];
  const verdict: VerificationResult = { chainKey: 'ethereum', address: evm(9), isContract: true, codeSize: 100, method: 'eth_getCode via RPC_URL_ETHEREUM' };
  await assert.rejects(write(truncated, [verdict]), (error: unknown) => {
    assert.ok(error instanceof GuardError, String(error));
    assert.equal(
      error.message,
      'map-contracts refused to deactivate 4 of 7 active contract mappings (57.1%): more than MAX_DEACTIVATE_SHARE=0.5 of the active mappings lost every source, ' +
        'which looks like missing pools or protocols; nothing was changed. Rerun with --force if they really disappeared.',
    );
    return true;
  });
  assert.deepEqual(await snapshotTables(db, runs), before);

  const forced: [number, number][] = [];
  const result = await write(truncated, [verdict], { force: true, onForcedDeactivation: (d, a) => forced.push([d, a]) });
  assert.deepEqual(forced, [[4, 7]]);
  assert.deepEqual(counts(result), [1, 0, 3, 4]);
  assert.equal((await db.one<{ n: number }>('SELECT count(*)::int AS n FROM contract_mappings WHERE is_active')).n, 4);

  // 2 of 4 (50 %) is exactly the share allowed: no refusal, no --force warning.
  const half = await write(truncated.slice(0, 2), [], { onForcedDeactivation: () => forced.push([0, 0]) });
  assert.equal(half.deactivated, 2);
  assert.equal(forced.length, 1);
});

test('verdicts go into the cache and raise the confidence of their addresses, even of rows that did not change', async () => {
  await write(dayOne());
  const verdicts: VerificationResult[] = [
    { chainKey: 'ethereum', address: evm(3), isContract: true, codeSize: 2048, method: 'eth_getCode via RPC_URL_ETHEREUM' },
    { chainKey: 'ethereum', address: evm(5), isContract: false, codeSize: 0, method: 'eth_getCode via RPC_URL_ETHEREUM' },
  ];
  const result = await write(dayOne(), verdicts);
  // The two rows of the verified addresses are sent, and change.
  assert.deepEqual(counts(result), [0, 2, 5, 0]);
  assert.equal(result.sent, 2);
  const cache = await db.manyOrNone<{ address: string; is_contract: boolean; code_size: number; checked_at: Date }>('SELECT address, is_contract, code_size, checked_at FROM contract_verifications ORDER BY address');
  assert.deepEqual(cache.map((c) => [c.address, c.is_contract, c.code_size]), [[evm(3), true, 2048], [evm(5), false, 0]]);
  const rows = await mappings();
  const contract = byAddress(rows, evm(3));
  assert.deepEqual([contract.confidence, contract.is_contract, contract.verification_method], [1, true, 'eth_getCode via RPC_URL_ETHEREUM']);
  assert.deepEqual(contract.verified_at, cache[0]!.checked_at);
  const account = byAddress(rows, evm(5));
  assert.deepEqual([account.confidence, account.is_contract], [0.6, false], 'no code: the confidence stays');
  assert.equal(byAddress(rows, SOL).confidence, 0.6);

  // Verdicts are for EVM addresses: one that names a Solana row's address does not send it.
  const solana = await write(dayOne(), [{ chainKey: 'solana', address: SOL, isContract: true, codeSize: 1, method: 'getAccountInfo' }]);
  assert.deepEqual([solana.sent, solana.updated], [0, 0]);

  // A later verdict replaces the cached one.
  await write(dayOne(), [{ ...verdicts[1]!, isContract: true, codeSize: 10 }]);
  assert.deepEqual((await db.one('SELECT is_contract, code_size FROM contract_verifications WHERE address = $1', [evm(5)])), { is_contract: true, code_size: 10 });
  assert.equal(byAddress(await mappings(), evm(5)).confidence, 1);
});

test('token metadata is stored; metadata with decimals is evidence where no RPC verdict exists', async () => {
  await write(dayOne());
  const meta = (n: number, extra: Partial<TokenMetadataRow> = {}): TokenMetadataRow => ({
    chainKey: 'ethereum', address: evm(n), name: `Token ${n}`, symbol: `T${n}`, decimals: 18, possibleSpam: false, verifiedContract: true, ...extra,
  });
  const verdict: VerificationResult = { chainKey: 'ethereum', address: evm(2), isContract: false, codeSize: 0, method: 'eth_getCode via RPC_URL_ETHEREUM' };
  const result = await write(dayOne(), [verdict], { tokenMetadata: [meta(1), meta(2), meta(3, { decimals: null })] });
  // The rows of the three addresses described or verified are sent; the two with evidence change.
  assert.deepEqual(counts(result), [0, 2, 5, 0]);
  assert.equal(result.sent, 3);
  const stored = await db.manyOrNone('SELECT address, name, symbol, decimals, possible_spam, verified_contract, source, fetched_at FROM token_metadata ORDER BY address');
  assert.deepEqual(stored.map((m) => [m.address, m.name, m.symbol, m.decimals, m.possible_spam, m.verified_contract, m.source]), [
    [evm(1), 'Token 1', 'T1', 18, false, true, 'moralis'],
    [evm(2), 'Token 2', 'T2', 18, false, true, 'moralis'],
    [evm(3), 'Token 3', 'T3', null, false, true, 'moralis'],
  ]);
  const rows = await mappings();
  const described = byAddress(rows, evm(1));
  assert.deepEqual([described.confidence, described.is_contract, described.verification_method], [1, true, MORALIS_METHOD]);
  assert.deepEqual(described.verified_at, stored[0]!.fetched_at);
  const verified = byAddress(rows, evm(2));
  assert.deepEqual([verified.confidence, verified.is_contract, verified.verification_method], [0.6, false, 'eth_getCode via RPC_URL_ETHEREUM'], 'an RPC verdict wins over metadata');
  const noDecimals = byAddress(rows, evm(3));
  assert.deepEqual([noDecimals.confidence, noDecimals.is_contract, noDecimals.verification_method], [0.6, null, null]);

  // Fetched again: the row is replaced.
  await write(dayOne(), [], { tokenMetadata: [meta(3, { symbol: 'NEW', decimals: 6, possibleSpam: true, verifiedContract: false })] });
  assert.deepEqual(await db.one('SELECT symbol, decimals, possible_spam, verified_contract FROM token_metadata WHERE address = $1', [evm(3)]), { symbol: 'NEW', decimals: 6, possible_spam: true, verified_contract: false });
  assert.equal(byAddress(await mappings(), evm(3)).confidence, 1);
});

test('a failure of the last statement (the merge) leaves every table as it was: one transaction', async () => {
  await write(dayOne());
  await succeededRun();
  const runs = await lastRunId(db);
  const before = await snapshotTables(db, runs);
  // A run that caches a verdict and metadata and deactivates before the merge that updates and creates.
  const day = dayOne();
  const next = [evmRow('pool-a', 1, { confidence: 0.8 }), day[1]!, day[2]!, day[3]!, evmRow('pool-f', 8), day[5]!, day[6]!];
  const verdicts: VerificationResult[] = [{ chainKey: 'ethereum', address: evm(8), isContract: true, codeSize: 1, method: 'eth_getCode via RPC_URL_ETHEREUM' }];
  const tokenMetadata: TokenMetadataRow[] = [{ chainKey: 'ethereum', address: evm(5), name: 'P', symbol: 'P', decimals: 8, possibleSpam: null, verifiedContract: null }];
  const restore = await failWhen(db, 'contract_mappings', 'INSERT', 'true');
  try {
    await assert.rejects(write(next, verdicts, { tokenMetadata }), /injected failure on contract_mappings/);
  } finally {
    await restore();
  }
  assert.deepEqual(await snapshotTables(db, runs), before, 'every table as before');

  const ok = await write(next, verdicts, { tokenMetadata });
  // pool-f created; pool-a's first row and protocol 1's (described with decimals) updated; pool-c deactivated.
  assert.deepEqual(counts(ok), [1, 2, 4, 1], 'the same run without the failure creates, updates and deactivates');
});

test('an aborted signal stops the write before it commits', async () => {
  await write(dayOne());
  const runs = await lastRunId(db);
  const before = await snapshotTables(db, runs);
  const controller = new AbortController();
  controller.abort(new CancelledError('received SIGTERM'));
  await assert.rejects(write([evmRow('pool-a', 1, { confidence: 0.8 }), evmRow('pool-z', 30)], [], { signal: controller.signal, force: true }), CancelledError);
  assert.deepEqual(await snapshotTables(db, runs), before);
});

test('what map-contracts reads: active pools and protocols with an address, carried optional-source rows, confidence counts', async () => {
  await insertPools(db, [{ pool_id: 'p-2' }, { pool_id: 'p-1' }, { pool_id: 'p-3', is_active: false }]);
  await db.none(`UPDATE pools SET pool_meta = 'V3', underlying_tokens = '{0xaa,0xbb}', reward_tokens = NULL WHERE pool_id = 'p-1'`);
  assert.deepEqual(await readPools(db), [
    { poolId: 'p-1', chain: 'Ethereum', poolMeta: 'V3', underlyingTokens: ['0xaa', '0xbb'], rewardTokens: null },
    { poolId: 'p-2', chain: 'Ethereum', poolMeta: null, underlyingTokens: null, rewardTokens: null },
  ]);

  await insertProtocols(db, [{ id: '20', slug: 'b' }, { id: '10', slug: 'a' }, { id: '30', slug: 'c' }, { id: '40', slug: 'd' }, { id: '50', slug: 'e', is_active: false }]);
  await db.none(`UPDATE protocols SET address = 'ethereum:0xcc', chains = '{Ethereum,Arbitrum}' WHERE id = '10'`);
  await db.none(`UPDATE protocols SET address = '0xdd' WHERE id IN ('20', '50')`);
  await db.none(`UPDATE protocols SET address = '  ' WHERE id = '30'`);
  assert.deepEqual(await readProtocols(db), [
    { id: '10', address: 'ethereum:0xcc', chains: ['Ethereum', 'Arbitrum'] },
    { id: '20', address: '0xdd', chains: [] },
  ]);

  await write([
    ...dayOne().slice(0, 4),
    evmRow('pool-c', 4, { type: 'pool', entries: [entry('poolsOld.pool_old', `ethereum-${evm(4)}`), entry('pools.underlyingTokens', evm(4))] }),
    ...dayOne().slice(5),
  ]);
  const carried = carriedRows(await readStoredState(db), undefined);
  assert.deepEqual(carried.map((c) => c.poolId).sort(), ['pool-a', 'pool-c'], 'rows backed by a poolsOld.* source');
  const c = carried.find((r) => r.poolId === 'pool-c')!;
  assert.deepEqual(c, {
    poolId: 'pool-c', chain: 'Ethereum', chainKey: 'ethereum', address: evm(4), addressDisplay: getAddress(evm(4)), family: 'evm', type: 'pool',
    entries: [{ source: 'poolsOld.pool_old', kind: 'reliable', value: `ethereum-${evm(4)}` }, { source: 'pools.underlyingTokens', kind: 'reliable', value: evm(4) }],
  });
  assert.deepEqual(carriedRows(await readStoredState(db), new Map([['pool-a', {}], ['pool-x', {}]])).map((r) => r.poolId), ['pool-c']);
  await db.none(`UPDATE contract_mappings SET is_active = false WHERE pool_id = 'pool-a'`);
  assert.deepEqual(carriedRows(await readStoredState(db), undefined).map((r) => r.poolId), ['pool-c'], 'inactive rows are not carried');
  await db.none(`UPDATE contract_mappings SET data_sources = '{"source": "poolsOld.pool_old", "kind": "reliable", "value": "x"}' WHERE pool_id = 'pool-c'`);
  assert.deepEqual(carriedRows(await readStoredState(db), undefined), [], 'sources of another shape carry nothing');

  await db.none(`UPDATE contract_mappings SET confidence = 1 WHERE address = $1`, [evm(5)]);
  assert.deepEqual(await countActiveByConfidence(db), { '1.0': 1, '0.6': 4 });
});

test('naturalKey joins the key columns with a separator no value contains, an absent owner id as empty', () => {
  assert.equal(naturalKey({ poolId: 'p', protocolId: null, chain: 'Ethereum', address: '0xab', type: 'pool' }), 'p\u001f\u001fEthereum\u001f0xab\u001fpool');
  assert.equal(naturalKey({ poolId: null, protocolId: '7', chain: 'Tron', address: 'T1', type: 'protocol_token' }), '\u001f7\u001fTron\u001fT1\u001fprotocol_token');
});

test('entriesJson is data_sources as PostgreSQL prints it back, awkward values included, so unchanged rows compare equal as text', async () => {
  const values = ['0xab', 'quote " backslash \\ slash / tab \t newline \n cr \r', 'control \u0001 \u001f \u007f', 'ünï ✓ 𝔘 🚀 \u2028', 'nul \u0000 lone \ud800', 'x'.repeat(300)];
  const entries = values.map((v, i) => sourceEntry(i % 2 === 0 ? 'pools.poolMeta' : 'poolsOld.url', i % 3 === 0 ? 'heuristic' : 'guess', v));
  // A source carried from a row edited by hand may hold anything.
  const edited = { source: 'pools.poolMeta" \\', kind: 'guess', value: 'x' } as unknown as SourceEntry;
  for (const list of [[], entries.slice(0, 1), entries, [edited]]) {
    const json = entriesJson(list);
    assert.equal((await db.one<{ t: string }>('SELECT $1::jsonb::text AS t', [json])).t, json);
  }
});
