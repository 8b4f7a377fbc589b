// What map-contracts reads, and the one transaction that writes a run: COPY into staging, then
// set-based statements, never one per row. Unchanged rows are not rewritten.
import { withConnection, type Db } from '../db/connection.js';
import type { CopyValue } from '../db/copy-binary.js';
import { countedMergeSql, deactivateSql, guardDeactivation, stagingTable, Stopwatch, type MergeCounts } from '../db/staged-merge.js';
import type { CarriedRow, MappingRow, PoolInput, ProtocolInput } from './build-mappings.js';
import { entriesJson, OPTIONAL_SOURCE_PREFIX, parseEntries } from './sources.js';
import { MORALIS_METHOD, MORALIS_SOURCE, type TokenMetadataRow } from './token-metadata.js';
import type { VerificationResult } from './verify/verify-addresses.js';

const JOB = 'map-contracts';

// Arrays as JSON: JSON.parse reads them several times faster than the text[] parser.
const SELECT_POOLS = `
  SELECT pool_id AS "poolId", chain, pool_meta AS "poolMeta",
    to_json(underlying_tokens) AS "underlyingTokens", to_json(reward_tokens) AS "rewardTokens"
  FROM pools WHERE is_active ORDER BY pool_id`;

const SELECT_PROTOCOLS = `
  SELECT id, address, chains FROM protocols
  WHERE is_active AND address IS NOT NULL AND btrim(address) <> '' ORDER BY id`;

export function readPools(db: Db): Promise<PoolInput[]> {
  return db.manyOrNone<PoolInput>(SELECT_POOLS);
}

export function readProtocols(db: Db): Promise<ProtocolInput[]> {
  return db.manyOrNone<ProtocolInput>(SELECT_PROTOCOLS);
}

/** Active mappings by stored confidence (after verification). */
export async function countActiveByConfidence(db: Db): Promise<Record<string, number>> {
  const rows = await db.manyOrNone<{ confidence: number; n: number }>(
    'SELECT confidence, count(*)::int AS n FROM contract_mappings WHERE is_active GROUP BY confidence ORDER BY confidence DESC',
  );
  return Object.fromEntries(rows.map((r) => [r.confidence.toFixed(1), r.n]));
}

export function naturalKey(r: Pick<MappingRow, 'poolId' | 'protocolId' | 'chain' | 'address' | 'type'>): string {
  return `${r.poolId ?? ''}\u001f${r.protocolId ?? ''}\u001f${r.chain}\u001f${r.address}\u001f${r.type}`;
}

/** An active mapping as stored: what a run compares its rows with. */
export interface StoredMapping extends Pick<MappingRow, 'poolId' | 'protocolId' | 'chain' | 'chainKey' | 'evmChainId' | 'address' | 'family' | 'type' | 'confidence'> {
  readonly id: string;
  readonly display: string;
  readonly isContract: boolean | null;
  /** data_sources as PostgreSQL prints it: compared as text with entriesJson, parsed only where carried. */
  readonly sources: string;
}

/** The active mappings by natural key. */
export type StoredState = Map<string, StoredMapping>;

const SELECT_ACTIVE = `
  SELECT id::text AS id, pool_id AS "poolId", protocol_id AS "protocolId", chain, chain_key AS "chainKey", evm_chain_id::float8 AS "evmChainId",
    address, address_display AS display, address_family AS family, contract_type AS type, data_sources::text AS sources,
    confidence::float8 AS confidence, is_contract AS "isContract"
  FROM contract_mappings WHERE is_active`;

/** Read while the inputs download; only map-contracts, under its job lock, writes what this reads. */
export async function readStoredState(db: Db): Promise<StoredState> {
  const stored: StoredState = new Map();
  await db.each<StoredMapping>(SELECT_ACTIVE, [], (r) => stored.set(naturalKey(r), r));
  return stored;
}

/** Stored rows backed by /poolsOld of the pools it said nothing about this run (every pool when it could not be read). */
export function carriedRows(stored: StoredState, poolsOld: ReadonlyMap<string, unknown> | undefined): CarriedRow[] {
  const carried: CarriedRow[] = [];
  for (const s of stored.values()) {
    if (s.poolId === null || poolsOld?.has(s.poolId)) continue;
    const entries = parseEntries(s.sources);
    if (!entries?.some((e) => e.source.startsWith(OPTIONAL_SOURCE_PREFIX))) continue;
    carried.push({ poolId: s.poolId, chain: s.chain, chainKey: s.chainKey, address: s.address, addressDisplay: s.display, family: s.family, type: s.type, entries });
  }
  return carried;
}

const MAPPING_STAGE = stagingTable('stage_contract_mappings', [
  ['pool_id', 'text', 'text'],
  ['protocol_id', 'text', 'text'],
  ['chain', 'text', 'text NOT NULL'],
  ['chain_key', 'text', 'text'],
  ['evm_chain_id', 'int8', 'bigint'],
  ['address', 'text', 'text NOT NULL'],
  ['address_display', 'text', 'text NOT NULL'],
  ['address_family', 'text', 'text NOT NULL'],
  ['contract_type', 'text', 'text NOT NULL'],
  ['confidence', 'float8', 'float8 NOT NULL'],
  // Pre-serialised JSON (entriesJson): COPY parses it into the jsonb column.
  ['data_sources', 'json', 'jsonb NOT NULL'],
]);

const VERIFICATION_STAGE = stagingTable('stage_contract_verifications', [
  ['chain_key', 'text', 'text NOT NULL'],
  ['address', 'text', 'text NOT NULL'],
  ['is_contract', 'bool', 'boolean NOT NULL'],
  ['code_size', 'int4', 'integer NOT NULL'],
  ['method', 'text', 'text NOT NULL'],
]);

const TOKEN_METADATA_STAGE = stagingTable('stage_token_metadata', [
  ['chain_key', 'text', 'text NOT NULL'],
  ['address', 'text', 'text NOT NULL'],
  ['name', 'text', 'text'],
  ['symbol', 'text', 'text'],
  ['decimals', 'int4', 'integer'],
  ['possible_spam', 'bool', 'boolean'],
  ['verified_contract', 'bool', 'boolean'],
]);

const UPSERT_TOKEN_METADATA = `
  INSERT INTO token_metadata AS m (chain_key, address, name, symbol, decimals, possible_spam, verified_contract, source, fetched_at)
  SELECT chain_key, address, name, symbol, decimals, possible_spam, verified_contract, $1, now() FROM stage_token_metadata
  ON CONFLICT (chain_key, address) DO UPDATE
  SET name = excluded.name, symbol = excluded.symbol, decimals = excluded.decimals, possible_spam = excluded.possible_spam,
      verified_contract = excluded.verified_contract, source = excluded.source, fetched_at = excluded.fetched_at`;

/** Moralis metadata with decimals (the token contract answered) is evidence where no RPC verdict exists: a contract, at 1.0. */
const EVIDENCE_JOIN = `
    LEFT JOIN contract_verifications v ON s.address_family = 'evm' AND v.chain_key = s.chain_key AND v.address = s.address
    LEFT JOIN token_metadata tm ON s.address_family = 'evm' AND v.chain_key IS NULL AND tm.chain_key = s.chain_key
      AND tm.address = s.address AND tm.decimals IS NOT NULL`;

const UPSERT_VERIFICATIONS = `
  INSERT INTO contract_verifications AS v (chain_key, address, is_contract, code_size, method, checked_at)
  SELECT chain_key, address, is_contract, code_size, method, now() FROM stage_contract_verifications
  ON CONFLICT (chain_key, address) DO UPDATE
  SET is_contract = excluded.is_contract, code_size = excluded.code_size, method = excluded.method, checked_at = excluded.checked_at`;

/** Mappings no source named this run, by id (see deactivateSql). */
const DEACTIVATE = deactivateSql('contract_mappings', 'id', 'bigint');

/**
 * The changed owners' staged mappings, with the verification cache applied (code on-chain: 1.0), merged
 * through the natural key's unique index. Only rows whose columns differ are rewritten.
 */
const UPSERT_MAPPINGS = countedMergeSql(`
    INSERT INTO contract_mappings AS t (pool_id, protocol_id, chain, chain_key, evm_chain_id, address, address_display,
      address_family, contract_type, confidence, data_sources, is_contract, verified_at, verification_method, last_seen_at)
    SELECT s.pool_id, s.protocol_id, s.chain, s.chain_key, s.evm_chain_id, s.address, s.address_display,
      s.address_family, s.contract_type, (CASE WHEN v.is_contract OR tm.address IS NOT NULL THEN 1.00 ELSE s.confidence END)::numeric(3, 2), s.data_sources,
      coalesce(v.is_contract, CASE WHEN tm.address IS NOT NULL THEN true END), coalesce(v.checked_at, tm.fetched_at),
      coalesce(v.method, CASE WHEN tm.address IS NOT NULL THEN '${MORALIS_METHOD}' END), now()
    FROM stage_contract_mappings s${EVIDENCE_JOIN}
    ON CONFLICT ON CONSTRAINT contract_mappings_natural_key DO UPDATE
    SET chain_key = excluded.chain_key, evm_chain_id = excluded.evm_chain_id, address_display = excluded.address_display,
        address_family = excluded.address_family, confidence = excluded.confidence, data_sources = excluded.data_sources,
        is_contract = excluded.is_contract, verified_at = excluded.verified_at, verification_method = excluded.verification_method,
        is_active = true, last_seen_at = now(), updated_at = now()
    WHERE (t.chain_key, t.evm_chain_id, t.address_display, t.address_family, t.confidence, t.data_sources,
           t.is_contract, t.verified_at, t.verification_method, t.is_active)
          IS DISTINCT FROM
          (excluded.chain_key, excluded.evm_chain_id, excluded.address_display, excluded.address_family, excluded.confidence, excluded.data_sources,
           excluded.is_contract, excluded.verified_at, excluded.verification_method, true)`);

export interface WriteOptions {
  readonly maxDeactivateShare: number;
  readonly force: boolean;
  readonly signal?: AbortSignal;
  readonly onForcedDeactivation?: (deactivated: number, activeBefore: number) => void;
  /** Token metadata fetched this run (Moralis): stored, and evidence for the mappings of its addresses. */
  readonly tokenMetadata?: readonly TokenMetadataRow[];
}

export interface WriteResult {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deactivated: number;
  readonly activeBefore: number;
  /** Rows that differ from their stored row (or have none), or have an address verified this run. */
  readonly sent: number;
  /** EIP-55 forms computed this run: those of EVM addresses not stored yet. */
  readonly checksummed: number;
  readonly timings: Readonly<Record<string, number>>;
}

/**
 * Writes a run in one transaction: only the rows that differ from what is stored (or with an address verified this run)
 * are sent; active rows no source names any more are deactivated, guarded first.
 */
export async function writeMappings(
  db: Db,
  rows: readonly MappingRow[],
  verifications: readonly VerificationResult[],
  /** From readStoredState; this call empties it. */
  stored: StoredState,
  options: WriteOptions,
): Promise<WriteResult> {
  const { signal } = options;
  const tokenMetadata = options.tokenMetadata ?? [];
  const watch = new Stopwatch();
  return withConnection(db, async (conn) => {
    const counts = await conn.tx(`${JOB}: write`, async (tx) => {
      const activeBefore = stored.size;
      // Rows with an address verified or described this run are sent, so the evidence reaches them.
      const verified = new Set([...verifications, ...tokenMetadata].map((v) => verdictKey(v.chainKey, v.address)));
      // EIP-55 forms already stored: the rows sent again keep theirs.
      const displays = new Map<string, string>();
      for (const s of stored.values()) if (s.family === 'evm') displays.set(s.address, s.display);
      const outgoing: { row: MappingRow; json: string }[] = [];
      for (const row of rows) {
        const key = naturalKey(row);
        const was = stored.get(key);
        stored.delete(key);
        const json = entriesJson(row.entries);
        if (was && unchanged(row, json, was) && !(verified.size > 0 && row.family === 'evm' && verified.has(verdictKey(row.chainKey, row.address)))) continue;
        outgoing.push({ row, json });
      }
      // What is left, no source names now.
      const gone = [...stored.values()].map((s) => s.id);
      watch.lap('diff');

      guardDeactivation({
        job: JOB,
        rows: 'contract mappings',
        deactivating: gone.length,
        activeBefore,
        maxDeactivateShare: options.maxDeactivateShare,
        force: options.force,
        because: 'of the active mappings lost every source, which looks like missing pools or protocols',
        forceMeans: 'they really disappeared',
        onForced: () => options.onForcedDeactivation?.(gone.length, activeBefore),
      });
      // Into the cache first: the mappings take their verdicts from it.
      if (tokenMetadata.length > 0) {
        await TOKEN_METADATA_STAGE.load(tx, conn, tokenMetadata, (m) => [m.chainKey, m.address, m.name, m.symbol, m.decimals, m.possibleSpam, m.verifiedContract], signal);
        await tx.none(UPSERT_TOKEN_METADATA, [MORALIS_SOURCE]);
      }
      if (verifications.length > 0) {
        await VERIFICATION_STAGE.load(tx, conn, verifications, (v) => [v.chainKey, v.address, v.isContract, v.codeSize, v.method], signal);
        await tx.none(UPSERT_VERIFICATIONS);
      }
      const deactivated = gone.length > 0 ? (await tx.result(DEACTIVATE, [JOB, gone])).rowCount : 0;
      watch.lap('deactivate');
      signal?.throwIfAborted();

      let created = 0;
      let updated = 0;
      let checksummed = 0;
      if (outgoing.length > 0) {
        // EVM addresses not stored yet (a few a day) get their EIP-55 form from ox, whose Address
        // module loads in a fraction of viem's time.
        const fresh = new Set<string>();
        for (const { row } of outgoing) if (row.family === 'evm' && row.display === undefined && !displays.has(row.address)) fresh.add(row.address);
        if (fresh.size > 0) {
          const { checksum } = await import('ox/Address');
          for (const address of fresh) displays.set(address, checksum(address as `0x${string}`));
        }
        checksummed = fresh.size;
        await MAPPING_STAGE.load(tx, conn, outgoing, (o) => mappingValues(o.row, o.row.display ?? displays.get(o.row.address)!, o.json), signal);
        // Temporary tables have no statistics until analysed; the join with the cache needs them.
        await tx.none('ANALYZE stage_contract_mappings');
        watch.lap('copy');
        signal?.throwIfAborted();
        ({ created, updated } = await tx.one<MergeCounts>(UPSERT_MAPPINGS));
        watch.lap('merge');
      }
      return { created, updated, deactivated, activeBefore, sent: outgoing.length, checksummed, unchanged: rows.length - created - updated };
    });
    watch.lap('commit');
    return { ...counts, timings: watch.timings };
  });
}

/** Whether the merge would leave a stored row as it is, its stored verdict taken as the cache's: the same columns, confidence and sources. */
function unchanged(row: MappingRow, json: string, s: StoredMapping): boolean {
  return row.chainKey === s.chainKey && row.evmChainId === s.evmChainId && row.family === s.family
    // An EVM address's display form follows from the address itself.
    && (row.family === 'evm' || row.display === s.display)
    && s.confidence === (s.isContract ? 1 : row.confidence) && json === s.sources;
}

/** The verification cache's key of an address on a chain. */
function verdictKey(chainKey: string | null, address: string): string {
  return `${chainKey}\u0000${address}`;
}

/** MAPPING_STAGE's values of a row. */
function mappingValues(r: MappingRow, display: string, json: string): CopyValue[] {
  return [r.poolId, r.protocolId, r.chain, r.chainKey, r.evmChainId, r.address, display, r.family, r.type, r.confidence, json];
}
