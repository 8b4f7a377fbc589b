// What map-contracts reads, and the one transaction that writes a run: COPY into staging, then
// set-based statements, never one per row. Unchanged rows are not rewritten.
import { withConnection, type Db } from '../db/connection.js';
import type { CopyValue } from '../db/copy-text.js';
import { countedMergeSql, deactivateSql, guardDeactivation, stagingTable, Stopwatch, type MergeCounts } from '../db/staged-merge.js';
import type { CarriedRow, MappingRow, PoolInput, ProtocolInput } from './build-mappings.js';
import { ownerDigest, ownerKey, splitOwnerKey, type OwnerDigest, type OwnerKind, type RowWithJson } from './owner-digest.js';
import { entriesJson, OPTIONAL_SOURCE_PREFIX } from './sources.js';
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

/** Active pool mappings that carry entries of the optional source (/poolsOld). */
const SELECT_OPTIONAL_BACKED = `
  SELECT pool_id AS "poolId", chain, chain_key AS "chainKey", address, address_display AS "addressDisplay",
    address_family AS family, contract_type AS type, data_sources AS entries
  FROM contract_mappings
  WHERE is_active AND pool_id IS NOT NULL
    AND jsonb_path_exists(data_sources, '$[*] ? (@.source starts with $prefix)', jsonb_build_object('prefix', $1::text))`;

export function readPools(db: Db): Promise<PoolInput[]> {
  return db.manyOrNone<PoolInput>(SELECT_POOLS);
}

export function readProtocols(db: Db): Promise<ProtocolInput[]> {
  return db.manyOrNone<ProtocolInput>(SELECT_PROTOCOLS);
}

/** Stored rows backed by /poolsOld for the pools it was silent about (all pools when `pools` is undefined). */
export async function readCarried(db: Db, pools: ReadonlySet<string> | undefined): Promise<CarriedRow[]> {
  const rows = await db.manyOrNone<CarriedRow>(SELECT_OPTIONAL_BACKED, [OPTIONAL_SOURCE_PREFIX]);
  return rows.filter((r) => pools === undefined || pools.has(r.poolId));
}

/** Active mappings by stored confidence (after verification). */
export async function countActiveByConfidence(db: Db): Promise<Record<string, number>> {
  const rows = await db.manyOrNone<{ confidence: number; n: number }>(
    'SELECT confidence, count(*)::int AS n FROM contract_mappings WHERE is_active GROUP BY confidence ORDER BY confidence DESC',
  );
  return Object.fromEntries(rows.map((r) => [r.confidence.toFixed(1), r.n]));
}

/** The natural key as one text value: NULL owner ids as '', parts joined by U+001F, which no id, label or address contains. */
const KEY = (t: string) => `(coalesce(${t}.pool_id, '') || chr(31) || coalesce(${t}.protocol_id, '') || chr(31) || ${t}.chain || chr(31) || ${t}.address || chr(31) || ${t}.contract_type)`;

export function naturalKey(r: Pick<MappingRow, 'poolId' | 'protocolId' | 'chain' | 'address' | 'type'>): string {
  return `${r.poolId ?? ''}\u001f${r.protocolId ?? ''}\u001f${r.chain}\u001f${r.address}\u001f${r.type}`;
}

/** What a run compares its mappings with, read while the inputs download. */
export interface StoredState {
  /** Owner key (ownerKey) -> hex digest of its mappings as last written. */
  readonly digests: Map<string, string>;
  /** Owners with active mappings but no digest (mapped before digests were kept, or deleted by hand). */
  readonly undigested: readonly string[];
  readonly active: number;
}

const SELECT_DIGESTS = `SELECT owner_kind || ':' || owner_id AS k, encode(digest, 'hex') AS h, mappings AS n FROM contract_mapping_digests`;

const SELECT_UNDIGESTED = `
  SELECT DISTINCT CASE WHEN t.pool_id IS NOT NULL THEN 'pool:' || t.pool_id ELSE 'protocol:' || t.protocol_id END AS k
  FROM contract_mappings t
  WHERE t.is_active AND NOT EXISTS (
    SELECT 1 FROM contract_mapping_digests d
    WHERE d.owner_kind = CASE WHEN t.pool_id IS NOT NULL THEN 'pool' ELSE 'protocol' END AND d.owner_id = coalesce(t.pool_id, t.protocol_id))`;

const COUNT_ACTIVE = 'SELECT count(*)::int AS n FROM contract_mappings WHERE is_active';

/** Only map-contracts, under its job lock, writes what this reads. */
export async function readStoredState(db: Db): Promise<StoredState> {
  const digests = new Map<string, string>();
  let covered = 0;
  const [, { n }] = await Promise.all([
    db.each<{ k: string; h: string; n: number }>(SELECT_DIGESTS, [], (r) => {
      digests.set(r.k, r.h);
      covered += r.n;
    }),
    db.one<{ n: number }>(COUNT_ACTIVE),
  ]);
  const undigested = covered === n ? [] : await db.map<string>(SELECT_UNDIGESTED, [], (r: { k: string }) => r.k);
  return { digests, undigested, active: n };
}

/** The active rows of changed or vanished owners, with their display forms. */
const SELECT_ACTIVE_OF = (owner: OwnerKind) => `
  SELECT t.id::text AS id, ${KEY('t')} AS k, t.address, t.address_family, t.address_display FROM contract_mappings t
  WHERE t.is_active AND ${owner === 'pool' ? 't.pool_id = ANY($1::text[])' : 't.pool_id IS NULL AND t.protocol_id = ANY($1::text[])'}`;

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
  ['confidence', 'float8', 'numeric(3, 2) NOT NULL'],
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
  ['decimals', 'int4', 'smallint'],
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

const DELETE_DIGESTS = `
  DELETE FROM contract_mapping_digests d
  USING unnest($1::text[], $2::text[]) AS u(kind, id)
  WHERE d.owner_kind = u.kind AND d.owner_id = u.id`;

const DIGEST_STAGE = stagingTable('stage_contract_mapping_digests', [
  ['owner_kind', 'text', 'text NOT NULL'],
  ['owner_id', 'text', 'text NOT NULL'],
  // "\x<hex>", bytea's hex input.
  ['digest', 'text', 'bytea NOT NULL'],
  ['mappings', 'int4', 'integer NOT NULL'],
]);

const UPSERT_DIGESTS = `
  INSERT INTO contract_mapping_digests AS d (owner_kind, owner_id, digest, mappings)
  SELECT owner_kind, owner_id, digest, mappings FROM stage_contract_mapping_digests
  ON CONFLICT (owner_kind, owner_id) DO UPDATE SET digest = excluded.digest, mappings = excluded.mappings
  WHERE (d.digest, d.mappings) IS DISTINCT FROM (excluded.digest, excluded.mappings)`;

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
  /** Rows of the owners whose digest differs. */
  readonly sent: number;
  readonly ownersChanged: number;
  /** EIP-55 forms computed this run: those of EVM addresses not stored yet. */
  readonly checksummed: number;
  readonly timings: Readonly<Record<string, number>>;
}

/**
 * Writes a run in one transaction: only the mappings of owners whose digest differs (or with an address
 * verified this run) are sent; active rows no source names any more are deactivated, guarded first.
 */
export async function writeMappings(
  db: Db,
  /** Owner after owner (an owner's rows together, as buildMappings gives them). */
  rows: readonly MappingRow[],
  verifications: readonly VerificationResult[],
  /** From readStoredState; its digests are emptied by this call. */
  stored: StoredState,
  options: WriteOptions,
): Promise<WriteResult> {
  const { signal } = options;
  const tokenMetadata = options.tokenMetadata ?? [];
  const watch = new Stopwatch();
  return withConnection(db, async (conn) => {
    const counts = await conn.tx(`${JOB}: write`, async (tx) => {
      const activeBefore = stored.active;
      const digests = stored.digests;
      // Owners with an address verified or described this run are sent, so the evidence reaches their rows.
      const verified = new Set([...verifications, ...tokenMetadata].map((v) => verdictKey(v.chainKey, v.address)));
      const outgoing: RowWithJson[] = [];
      const changed: OwnerDigest[] = [];
      // Changed owners with active rows, and the keys sent for them.
      const undigested = new Set(stored.undigested);
      const stale: string[] = [];
      const sentKeys = new Set<string>();
      let groupKey: string | undefined;
      const named = new Set<string>();
      let group: RowWithJson[] = [];
      let groupVerified = false;
      const settle = () => {
        if (groupKey === undefined) return;
        const ended = ownerDigest(groupKey, group);
        const was = digests.get(ended.key);
        digests.delete(ended.key);
        if (was !== ended.digest || groupVerified) {
          changed.push(ended);
          for (const o of group) outgoing.push(o);
          if (was !== undefined || undigested.has(ended.key)) {
            stale.push(ended.key);
            for (const o of group) sentKeys.add(naturalKey(o.row));
          }
        }
        group = [];
        groupVerified = false;
      };
      for (const row of rows) {
        const key = ownerKey(row);
        if (key !== groupKey) {
          settle();
          // Rows of one owner apart would give it two digests, each of part of its mappings.
          if (named.has(key)) throw new Error(`the mappings of ${key} do not come together`);
          named.add(key);
          groupKey = key;
        }
        group.push({ row, json: entriesJson(row.entries) });
        if (verified.size > 0 && row.family === 'evm' && verified.has(verdictKey(row.chainKey, row.address))) groupVerified = true;
      }
      settle();
      // Stored owners no row named this run: a vanished pool, or one with no mapping left.
      const vanished = [...digests.keys(), ...stored.undigested.filter((k) => !named.has(k))];
      watch.lap('diff');

      // Of the changed and vanished owners' active rows, those not sent are what no source names now.
      const gone: string[] = [];
      // EIP-55 forms already stored: the rows sent again keep theirs.
      const displays = new Map<string, string>();
      const affected = [...stale, ...vanished].map(splitOwnerKey);
      for (const owner of ['pool', 'protocol'] as const) {
        const ids = affected.filter((a) => a.kind === owner).map((a) => a.id);
        if (ids.length === 0) continue;
        await tx.each<{ id: string; k: string; address: string; address_family: string; address_display: string }>(SELECT_ACTIVE_OF(owner), [ids], (r) => {
          if (!sentKeys.has(r.k)) gone.push(r.id);
          else if (r.address_family === 'evm') displays.set(r.address, r.address_display);
        });
      }
      watch.lap('read');

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
      if (vanished.length > 0) {
        const owners = vanished.map(splitOwnerKey);
        await tx.none(DELETE_DIGESTS, [owners.map((o) => o.kind), owners.map((o) => o.id)]);
      }
      if (changed.length > 0) {
        await DIGEST_STAGE.load(tx, conn, changed, (c) => {
          const { kind, id } = splitOwnerKey(c.key);
          return [kind, id, `\\x${c.digest}`, c.rows];
        }, signal);
        await tx.none(UPSERT_DIGESTS);
      }
      watch.lap('digests');
      return { created, updated, deactivated, activeBefore, sent: outgoing.length, ownersChanged: changed.length, checksummed, unchanged: rows.length - created - updated };
    });
    watch.lap('commit');
    return { ...counts, timings: watch.timings };
  });
}

/** The verification cache's key of an address on a chain. */
function verdictKey(chainKey: string | null, address: string): string {
  return `${chainKey}\u0000${address}`;
}

/** MAPPING_STAGE's values of a row. */
function mappingValues(r: MappingRow, display: string, json: string): CopyValue[] {
  return [r.poolId, r.protocolId, r.chain, r.chainKey, r.evmChainId, r.address, display, r.family, r.type, r.confidence, json];
}
