/**
 * contract_mappings in the database: what map-contracts reads before building, and the one
 * transaction that writes a run (COPY into staging, then set-based statements; never a
 * statement per row). Unchanged rows are not touched, so a rerun writes no new row versions.
 */
import { hash } from 'node:crypto';
import { BULK_LOAD_MIN_ROWS, withIndexesBuiltAfter } from '../db/bulk-load.js';
import type { Conn, Db, Queryable } from '../db/connection.js';
import { copyIn } from '../db/copy-in.js';
import { GuardError } from '../errors.js';
import { copyLine, type Column, type CopyValue } from '../sync/copy-text.js';
import type { AddressFamily } from './address.js';
import type { CarriedRow, MappingRow, PoolInput, ProtocolInput } from './build-mappings.js';
import { entriesJson, OPTIONAL_SOURCE_PREFIX, type ContractType, type SourceEntry } from './sources.js';
import type { VerificationResult } from './verify/verify-addresses.js';

const JOB = 'map-contracts';

// ---- reads ------------------------------------------------------------------------------------

const SELECT_POOLS = `
  SELECT pool_id, chain, pool_meta, to_json(underlying_tokens) AS underlying_tokens, to_json(reward_tokens) AS reward_tokens
  FROM pools WHERE is_active ORDER BY pool_id`;
// (Arrays as JSON: JSON.parse reads them several times faster than the text[] parser. In key
// order: see mappingRows.)

const SELECT_PROTOCOLS = `
  SELECT id, address, chains FROM protocols
  WHERE is_active AND address IS NOT NULL AND btrim(address) <> '' ORDER BY id`;

/** Active pool mappings that carry entries of the optional source (/poolsOld). */
const SELECT_OPTIONAL_BACKED = `
  SELECT pool_id, chain, chain_key, address, address_display, address_family, contract_type, data_sources
  FROM contract_mappings
  WHERE is_active AND pool_id IS NOT NULL
    AND jsonb_path_exists(data_sources, '$[*] ? (@.source starts with $prefix)', jsonb_build_object('prefix', $1::text))`;

export async function readPools(db: Db): Promise<PoolInput[]> {
  const rows = await db.manyOrNone<{ pool_id: string; chain: string | null; pool_meta: string | null; underlying_tokens: string[] | null; reward_tokens: string[] | null }>(SELECT_POOLS);
  return rows.map((r) => ({ poolId: r.pool_id, chain: r.chain, poolMeta: r.pool_meta, underlyingTokens: r.underlying_tokens, rewardTokens: r.reward_tokens }));
}

export async function readProtocols(db: Db): Promise<ProtocolInput[]> {
  const rows = await db.manyOrNone<{ id: string; address: string; chains: string[] | null }>(SELECT_PROTOCOLS);
  return rows.map((r) => ({ id: r.id, address: r.address, chains: r.chains ?? [] }));
}

/** Stored rows backed by /poolsOld for the pools it was silent about (all pools when `pools` is undefined). */
export async function readCarried(db: Db, pools: ReadonlySet<string> | undefined): Promise<CarriedRow[]> {
  const rows = await db.manyOrNone<{
    pool_id: string;
    chain: string;
    chain_key: string | null;
    address: string;
    address_display: string;
    address_family: AddressFamily;
    contract_type: ContractType;
    data_sources: SourceEntry[];
  }>(SELECT_OPTIONAL_BACKED, [OPTIONAL_SOURCE_PREFIX]);
  return rows
    .filter((r) => pools === undefined || pools.has(r.pool_id))
    .map((r) => ({
      poolId: r.pool_id,
      chain: r.chain,
      chainKey: r.chain_key,
      address: r.address,
      addressDisplay: r.address_display,
      family: r.address_family,
      type: r.contract_type,
      entries: r.data_sources,
    }));
}

/** Active mappings by stored confidence (after verification), for the run's record. */
export async function countActiveByConfidence(db: Db): Promise<Record<string, number>> {
  const rows = await db.manyOrNone<{ confidence: number; n: number }>(
    'SELECT confidence, count(*)::int AS n FROM contract_mappings WHERE is_active GROUP BY confidence ORDER BY confidence DESC',
  );
  return Object.fromEntries(rows.map((r) => [r.confidence.toFixed(1), r.n]));
}


// ---- the write transaction ------------------------------------------------------------------------

/**
 * The natural key as one text value (NULL owner ids as '', parts joined by U+001F, which no
 * id, label or address contains): how the active rows are read and matched in memory.
 */
const KEY = (t: string) => `(coalesce(${t}.pool_id, '') || chr(31) || coalesce(${t}.protocol_id, '') || chr(31) || ${t}.chain || chr(31) || ${t}.address || chr(31) || ${t}.contract_type)`;

export function naturalKey(r: Pick<MappingRow, 'poolId' | 'protocolId' | 'chain' | 'address' | 'type'>): string {
  return `${r.poolId ?? ''}\u001f${r.protocolId ?? ''}\u001f${r.chain}\u001f${r.address}\u001f${r.type}`;
}

/**
 * The active mappings with the digest of what was last written to each. Read before the write
 * transaction (while the inputs download): only map-contracts, under its job lock, writes them.
 */
const SELECT_ACTIVE = `SELECT ${KEY('t')} AS k, encode(t.sync_hash, 'hex') AS h FROM contract_mappings t WHERE t.is_active`;

/** The mapping itself, in the order both COPY paths (staging and direct) send it. */
const MAPPING_COLUMNS: readonly Column[] = [
  { name: 'pool_id', type: 'text' },
  { name: 'protocol_id', type: 'text' },
  { name: 'chain', type: 'text' },
  { name: 'chain_key', type: 'text' },
  { name: 'evm_chain_id', type: 'int8' },
  { name: 'address', type: 'text' },
  { name: 'address_display', type: 'text' },
  { name: 'address_family', type: 'text' },
  { name: 'contract_type', type: 'text' },
  { name: 'confidence', type: 'float8' },
  // Pre-serialised JSON (entriesJson): COPY parses it into the jsonb column.
  { name: 'data_sources', type: 'json' },
];

const STAGE_COLUMNS: readonly Column[] = [
  ...MAPPING_COLUMNS,
  // "\x<hex>", bytea's hex input.
  { name: 'sync_hash', type: 'text' },
];

const CREATE_STAGE = `
  CREATE TEMP TABLE stage_contract_mappings (
    pool_id text, protocol_id text, chain text NOT NULL, chain_key text, evm_chain_id bigint,
    address text NOT NULL, address_display text, address_family text NOT NULL,
    contract_type text NOT NULL, confidence numeric(3, 2) NOT NULL, data_sources jsonb NOT NULL, sync_hash bytea NOT NULL
  ) ON COMMIT DROP`;

const COPY_STAGE = `COPY stage_contract_mappings (${STAGE_COLUMNS.map((c) => c.name).join(', ')}) FROM STDIN`;

/**
 * EVM rows are staged without their EIP-55 form (keccak per address is the costly part of a
 * first run): rows already stored keep theirs, and only addresses never stored are hashed.
 */
const CREATE_DISPLAY_STAGE = `CREATE TEMP TABLE stage_evm_display (address text PRIMARY KEY, address_display text NOT NULL) ON COMMIT DROP`;

const DISPLAY_COLUMNS: readonly Column[] = [
  { name: 'address', type: 'text' },
  { name: 'address_display', type: 'text' },
];

const COPY_DISPLAY_STAGE = `COPY stage_evm_display (address, address_display) FROM STDIN`;

const SELECT_NEVER_STORED_EVM = `
  SELECT DISTINCT s.address FROM stage_contract_mappings s
  WHERE s.address_display IS NULL
    AND NOT EXISTS (SELECT 1 FROM contract_mappings t WHERE t.address = s.address AND t.address_family = 'evm')`;

const VERIFICATION_COLUMNS: readonly Column[] = [
  { name: 'chain_key', type: 'text' },
  { name: 'address', type: 'text' },
  { name: 'is_contract', type: 'bool' },
  { name: 'code_size', type: 'int4' },
  { name: 'method', type: 'text' },
];

const CREATE_VERIFICATION_STAGE = `
  CREATE TEMP TABLE stage_contract_verifications (
    chain_key text NOT NULL, address text NOT NULL, is_contract boolean NOT NULL, code_size integer NOT NULL, method text NOT NULL
  ) ON COMMIT DROP`;

const COPY_VERIFICATION_STAGE = `COPY stage_contract_verifications (${VERIFICATION_COLUMNS.map((c) => c.name).join(', ')}) FROM STDIN`;

const UPSERT_VERIFICATIONS = `
  INSERT INTO contract_verifications AS v (chain_key, address, is_contract, code_size, method, checked_at)
  SELECT chain_key, address, is_contract, code_size, method, now() FROM stage_contract_verifications
  ON CONFLICT (chain_key, address) DO UPDATE
  SET is_contract = excluded.is_contract, code_size = excluded.code_size, method = excluded.method, checked_at = excluded.checked_at`;

const CREATE_GONE_STAGE = `
  CREATE TEMP TABLE stage_contract_gone (
    pool_id text, protocol_id text, chain text NOT NULL, address text NOT NULL, contract_type text NOT NULL
  ) ON COMMIT DROP`;
const COPY_GONE_STAGE = `COPY stage_contract_gone (pool_id, protocol_id, chain, address, contract_type) FROM STDIN`;
const GONE_COLUMNS: readonly Column[] = ['pool_id', 'protocol_id', 'chain', 'address', 'contract_type'].map((name) => ({ name, type: 'text' as const }));

/**
 * The natural key matched column by column, once for pool rows and once for protocol rows:
 * plain equalities let PostgreSQL choose between the unique index (a few changed rows) and a
 * hash join (many), where one expression over both kinds (coalesce) misled it into nested loops.
 */
type Owner = 'pool' | 'protocol';
const SAME = (owner: Owner, s: string, t: string) =>
  `${owner === 'pool' ? `${s}.pool_id IS NOT NULL AND ${t}.pool_id = ${s}.pool_id` : `${s}.pool_id IS NULL AND ${t}.pool_id IS NULL AND ${t}.protocol_id = ${s}.protocol_id`}
   AND ${t}.chain = ${s}.chain AND ${t}.address = ${s}.address AND ${t}.contract_type = ${s}.contract_type`;
const OWNERS: readonly Owner[] = ['pool', 'protocol'];

/**
 * Mappings no source named this run. Their last sighting is the job's previous successful run
 * (this run's sync_jobs row is still "running").
 */
const DEACTIVATE = (owner: Owner) => `
  UPDATE contract_mappings t
  SET is_active = false,
      last_seen_at = coalesce(greatest(t.last_seen_at, (SELECT job_last_success($1))), t.updated_at),
      updated_at = now()
  FROM stage_contract_gone g
  WHERE t.is_active AND ${SAME(owner, 'g', 't')}`;

/** Staged rows with the verification cache applied: code on-chain raises confidence to 1.0. */
const RESOLVED = `
  SELECT s.*, v.is_contract, v.checked_at AS verified_at, v.method AS verification_method,
         (CASE WHEN v.is_contract THEN 1.00 ELSE s.confidence END)::numeric(3, 2) AS final_confidence
  FROM stage_contract_mappings s
  LEFT JOIN contract_verifications v ON s.address_family = 'evm' AND v.chain_key = s.chain_key AND v.address = s.address`;

// The digest never causes a write by itself: only a difference in the data columns does.
const UPDATE_CHANGED = (owner: Owner) => `
  WITH src AS (${RESOLVED}),
  changed AS (
    UPDATE contract_mappings t
    SET chain_key = src.chain_key, evm_chain_id = src.evm_chain_id, address_display = coalesce(src.address_display, t.address_display),
        address_family = src.address_family, confidence = src.final_confidence, data_sources = src.data_sources,
        is_contract = src.is_contract, verified_at = src.verified_at, verification_method = src.verification_method,
        sync_hash = src.sync_hash, is_active = true, last_seen_at = now(), updated_at = now()
    FROM src
    WHERE ${SAME(owner, 'src', 't')}
      AND (t.chain_key, t.evm_chain_id, t.address_display, t.address_family, t.confidence, t.data_sources,
           t.is_contract, t.verified_at, t.verification_method, t.is_active)
          IS DISTINCT FROM
          (src.chain_key, src.evm_chain_id, coalesce(src.address_display, t.address_display), src.address_family, src.final_confidence, src.data_sources,
           src.is_contract, src.verified_at, src.verification_method, true)
    RETURNING 1
  )
  SELECT count(*)::int AS updated FROM changed`;

// A new row's EIP-55 form: hashed this run, else that of another row with the address (COALESCE
// evaluates the lookup only when needed).
const INSERT_NEW = (owner: Owner) => `
  WITH src AS (${RESOLVED}),
  created AS (
    INSERT INTO contract_mappings (pool_id, protocol_id, chain, chain_key, evm_chain_id, address, address_display,
      address_family, contract_type, confidence, data_sources, is_contract, verified_at, verification_method, sync_hash, last_seen_at)
    SELECT src.pool_id, src.protocol_id, src.chain, src.chain_key, src.evm_chain_id, src.address,
      coalesce(src.address_display, d.address_display,
               (SELECT o.address_display FROM contract_mappings o WHERE o.address = src.address AND o.address_family = 'evm' LIMIT 1)),
      src.address_family, src.contract_type, src.final_confidence, src.data_sources, src.is_contract, src.verified_at, src.verification_method,
      src.sync_hash, now()
    FROM src LEFT JOIN stage_evm_display d ON d.address = src.address
    WHERE ${owner === 'pool' ? 'src.pool_id IS NOT NULL' : 'src.pool_id IS NULL'}
      AND NOT EXISTS (SELECT 1 FROM contract_mappings t WHERE ${SAME(owner, 'src', 't')})
    RETURNING 1
  )
  SELECT count(*)::int AS created FROM created`;

/** Key -> stored digest (hex) of every active mapping. */
export async function readActiveDigests(db: Db): Promise<Map<string, string | null>> {
  const active = new Map<string, string | null>();
  await db.each<{ k: string; h: string | null }>(SELECT_ACTIVE, [], (r) => active.set(r.k, r.h));
  return active;
}

/** EIP-55 forms being computed elsewhere (in the order the rows are built): those delivered so far. */
export interface FormsAhead {
  readonly forms: ReadonlyMap<string, string>;
}

export interface WriteOptions {
  readonly maxDeactivateShare: number;
  readonly force: boolean;
  readonly signal?: AbortSignal;
  /** EIP-55 forms being computed ahead (BackgroundChecksums), used when the table is empty. */
  readonly formsAhead?: FormsAhead;
  /** How many rows a stream will yield, about (an array's length is known). */
  readonly expectedRows?: number;
  readonly onForcedDeactivation?: (deactivated: number, activeBefore: number) => void;
}

export interface WriteResult {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deactivated: number;
  readonly activeBefore: number;
  /** Rows sent to the database (the others matched their stored digest). */
  readonly sent: number;
  /** EVM addresses never stored before, hashed for their EIP-55 form this run. */
  readonly checksummed: number;
  readonly timings: Readonly<Record<'diff' | 'deactivate' | 'copy' | 'display' | 'update' | 'insert' | 'commit', number>>;
}


interface Outgoing {
  readonly row: MappingRow;
  readonly json: string;
  readonly digest: string;
}

/**
 * Writes a run in one transaction. Only rows whose digest differs from the stored one (or
 * whose address was verified this run) are sent; active rows no source named are deactivated.
 * The deactivation guard runs before anything is written; then the verification verdicts go
 * into the cache, then the mappings.
 */
export async function writeMappings(
  db: Db,
  /** Read once; a stream (mappingRows) lets a first run build its rows while the COPY sends them. */
  rows: Iterable<MappingRow>,
  verifications: readonly VerificationResult[],
  /** From readActiveDigests; emptied by this call. */
  stored: Map<string, string | null>,
  options: WriteOptions,
): Promise<WriteResult> {
  const { signal } = options;
  const timings = { diff: 0, deactivate: 0, copy: 0, display: 0, update: 0, insert: 0, commit: 0 };
  let t = performance.now();
  const lap = (phase: keyof typeof timings) => {
    const now = performance.now();
    timings[phase] = Math.round(now - t);
    t = now;
  };
  const conn = await db.connect();
  try {
    const counts = await conn.tx(`${JOB}: write`, async (tx) => {
      // Consumed: what is left once every row is matched is what no source names any more.
      const active = stored;
      const activeBefore = active.size;
      // The first run: nothing to compare with, so the rows go straight into the table.
      // An empty table is locked and found empty again, so that it is still empty when it is
      // truncated below; a table that holds rows (inactive ones) is not locked.
      const firstRun = activeBefore === 0 && (await isEmpty(tx)) && (await tx.none(LOCK_TABLE), await isEmpty(tx));
      let total = 0;

      const verified = new Set(verifications.map((v) => `${v.chainKey}\u0000${v.address}`));
      const outgoing: Outgoing[] = [];
      if (!firstRun) {
        for (const row of rows) {
          total++;
          const key = naturalKey(row);
          const json = entriesJson(row.entries);
          const digest = rowDigest(row, json);
          const stored = active.get(key);
          active.delete(key);
          if (stored === digest && !(verified.size > 0 && row.family === 'evm' && verified.has(`${row.chainKey}\u0000${row.address}`))) continue;
          outgoing.push({ row, json, digest });
        }
      }
      const gone = [...active.keys()];
      lap('diff');

      const allowed = Math.floor(activeBefore * options.maxDeactivateShare);
      if (gone.length > allowed) {
        const share = `${gone.length} of ${activeBefore} active contract mappings (${((gone.length / activeBefore) * 100).toFixed(1)}%)`;
        if (!options.force) {
          throw new GuardError(
            `${JOB} refused to deactivate ${share}: more than MAX_DEACTIVATE_SHARE=${options.maxDeactivateShare} of the active mappings lost every source, which looks like missing pools or protocols; nothing was changed. Rerun with --force if they really disappeared.`,
          );
        }
        options.onForcedDeactivation?.(gone.length, activeBefore);
      }
      if (verifications.length > 0) {
        await tx.none(CREATE_VERIFICATION_STAGE);
        await copyRows(conn, COPY_VERIFICATION_STAGE, VERIFICATION_COLUMNS, verifications, (v) => [v.chainKey, v.address, v.isContract, v.codeSize, v.method], signal);
        await tx.none(UPSERT_VERIFICATIONS);
      }
      let deactivated = 0;
      if (gone.length > 0) {
        await tx.none(CREATE_GONE_STAGE);
        await copyRows(conn, COPY_GONE_STAGE, GONE_COLUMNS, gone, (k) => k.split('\u001f').map((part, i) => (i < 2 && part === '' ? null : part)), signal);
        await tx.none('ANALYZE stage_contract_gone');
        for (const owner of OWNERS) deactivated += (await tx.result(DEACTIVATE(owner), [JOB])).rowCount;
      }
      lap('deactivate');
      signal?.throwIfAborted();

      let created = 0;
      let updated = 0;
      let checksummed = 0;
      if (firstRun) {
        // Truncated in this transaction, the table takes COPY ... FREEZE: its rows are written
        // frozen, so neither the first reads (hint bits) nor vacuum rewrite every page later; a
        // server with wal_level=minimal also writes no WAL for them.
        await tx.none('TRUNCATE contract_mappings');
        const copy = () => copyIntoEmptyTable(tx, conn, rows, options.formsAhead, signal);
        const expected = Array.isArray(rows) ? rows.length : (options.expectedRows ?? 0);
        const direct = expected >= BULK_LOAD_MIN_ROWS ? await withIndexesBuiltAfter(tx, 'contract_mappings', copy) : await copy();
        created = total = direct.rows;
        checksummed = direct.checksummed;
        lap('copy');
      } else if (outgoing.length > 0) {
        await tx.none(CREATE_STAGE);
        await copyRows(conn, COPY_STAGE, STAGE_COLUMNS, outgoing, stageRow, signal);
        // Temporary tables have no statistics until analysed; the joins below need them.
        await tx.none('ANALYZE stage_contract_mappings');
        lap('copy');
        signal?.throwIfAborted();

        await tx.none(CREATE_DISPLAY_STAGE);
        const fresh = await tx.map<string>(SELECT_NEVER_STORED_EVM, [], (r: { address: string }) => r.address);
        if (fresh.length > 0) {
          // viem is loaded only when there is something to hash.
          const { eip55 } = await import('./evm-display.js');
          await copyRows(conn, COPY_DISPLAY_STAGE, DISPLAY_COLUMNS, fresh, (a) => [a, eip55(a)], signal);
        }
        checksummed = fresh.length;
        lap('display');
        signal?.throwIfAborted();

        for (const owner of OWNERS) updated += (await tx.one<{ updated: number }>(UPDATE_CHANGED(owner))).updated;
        lap('update');
        signal?.throwIfAborted();
        for (const owner of OWNERS) created += (await tx.one<{ created: number }>(INSERT_NEW(owner))).created;
        lap('insert');
      }
      return { total, created, updated, deactivated, activeBefore, sent: firstRun ? total : outgoing.length, checksummed };
    });
    lap('commit');
    const { total, ...rest } = counts;
    return { ...rest, unchanged: total - counts.created - counts.updated, timings };
  } finally {
    conn.done();
  }
}

const TABLE_EMPTY = `SELECT NOT EXISTS (SELECT 1 FROM contract_mappings) AS empty`;
const LOCK_TABLE = 'LOCK TABLE contract_mappings IN ACCESS EXCLUSIVE MODE';

/** Whether contract_mappings has no rows at all: the first run, which writes by COPY alone. */
export async function isEmpty(db: Queryable): Promise<boolean> {
  return (await db.one<{ empty: boolean }>(TABLE_EMPTY)).empty;
}

const SELECT_VERDICTS = `SELECT chain_key, address, is_contract, checked_at::text AS checked_at, method FROM contract_verifications`;

const DIRECT_COLUMNS: readonly Column[] = [
  ...MAPPING_COLUMNS,
  { name: 'is_contract', type: 'bool' },
  // The cache's own text form, so a later run compares equal to the microsecond.
  { name: 'verified_at', type: 'text' },
  { name: 'verification_method', type: 'text' },
  { name: 'sync_hash', type: 'text' },
];

const COPY_DIRECT = `COPY contract_mappings (${DIRECT_COLUMNS.map((c) => c.name).join(', ')}, last_seen_at) FROM STDIN WITH (FREEZE)`;

/**
 * COPY into an empty contract_mappings: what the merge would compute (EIP-55 forms, verdicts
 * from the cache) is computed here instead, as are the digests, while PostgreSQL ingests the rows
 * already sent; the rows are written once, in the order they come (the natural key's, when the
 * inputs are read in key order: the unique index is then built from presorted rows).
 */
async function copyIntoEmptyTable(
  tx: { manyOrNone: Db['manyOrNone'] },
  conn: Conn,
  rows: Iterable<MappingRow>,
  ahead: FormsAhead | undefined,
  signal: AbortSignal | undefined,
): Promise<{ rows: number; checksummed: number }> {
  const verdicts = new Map<string, { is_contract: boolean; checked_at: string; method: string }>();
  for (const v of await tx.manyOrNone<{ chain_key: string; address: string; is_contract: boolean; checked_at: string; method: string }>(SELECT_VERDICTS)) {
    verdicts.set(`${v.chain_key}\u0000${v.address}`, v);
  }
  const known = ahead?.forms ?? new Map<string, string>();
  const computed = new Map<string, string>();
  const hashed = new Set<string>();
  let count = 0;
  function* counted(): Generator<MappingRow> {
    for (const r of rows) {
      count++;
      yield r;
    }
  }
  // The few forms the worker has not delivered when their row is sent are computed here: the
  // rows go in the order they were built (see mappingRows), which makes the index builds cheap.
  const { eip55 } = await import('./evm-display.js');
  const now = new Date().toISOString();
  const columns = [...DIRECT_COLUMNS, { name: 'last_seen_at', type: 'text' } as const];
  const toRow = (r: MappingRow): readonly CopyValue[] => {
    const json = entriesJson(r.entries);
    let display = r.display;
    if (display === undefined) {
      hashed.add(r.address);
      display = known.get(r.address) ?? computed.get(r.address);
      if (display === undefined) computed.set(r.address, (display = eip55(r.address)));
    }
    const v = r.family === 'evm' && r.chainKey !== null ? verdicts.get(`${r.chainKey}\u0000${r.address}`) : undefined;
    return [
      r.poolId, r.protocolId, r.chain, r.chainKey, r.evmChainId, r.address, display, r.family, r.type,
      v?.is_contract ? 1 : r.confidence, json, v?.is_contract ?? null, v?.checked_at ?? null, v?.method ?? null, `\\x${rowDigest(r, json)}`, now,
    ];
  };
  await copyRows(conn, COPY_DIRECT, columns, counted(), toRow, signal);
  return { rows: count, checksummed: hashed.size };
}

/** What a row's stored columns are made of, before verification (which the merge applies). */
function rowDigest(r: MappingRow, json: string): string {
  const display = r.family === 'evm' ? '' : (r.display ?? '');
  return hash('md5', `${r.chainKey ?? ''}\t${r.evmChainId ?? ''}\t${r.family}\t${r.confidence}\t${display}\t${json}`, 'hex');
}

function stageRow(o: Outgoing): readonly CopyValue[] {
  const r = o.row;
  return [r.poolId, r.protocolId, r.chain, r.chainKey, r.evmChainId, r.address, r.display, r.family, r.type, r.confidence, o.json, `\\x${o.digest}`];
}

/** COPY of `items`, encoded as they are read. */
async function copyRows<T>(
  conn: Conn,
  sql: string,
  columns: readonly Column[],
  items: Iterable<T>,
  toRow: (item: T) => readonly CopyValue[],
  signal: AbortSignal | undefined,
): Promise<void> {
  function* encode(list: Iterable<T>): Generator<string> {
    for (const item of list) yield copyLine(columns, toRow(item));
  }
  await copyIn(conn, sql, encode(items), signal);
}
