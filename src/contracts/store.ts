/**
 * contract_mappings in the database: what map-contracts reads before building, and the one
 * transaction that writes a run (COPY into staging, then set-based statements; never a
 * statement per row). Unchanged rows are not touched, so a rerun writes no new row versions.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Conn, Db } from '../db/connection.js';
import { GuardError } from '../errors.js';
import { copyLine, type Column, type CopyValue } from '../sync/copy-text.js';
import type { AddressFamily } from './address.js';
import type { CarriedRow, MappingRow, PoolInput, ProtocolInput } from './build-mappings.js';
import { OPTIONAL_SOURCE_PREFIX, type ContractType, type SourceEntry } from './sources.js';
import type { VerificationResult } from './verify/verify-addresses.js';

const JOB = 'map-contracts';

// ---- reads ------------------------------------------------------------------------------------

const SELECT_POOLS = `
  SELECT pool_id, chain, pool_meta, underlying_tokens, reward_tokens
  FROM pools WHERE is_active`;

const SELECT_PROTOCOLS = `
  SELECT id, address, chains FROM protocols
  WHERE is_active AND address IS NOT NULL AND btrim(address) <> ''`;

/** Active pool mappings that carry entries of the optional source (/poolsOld). */
const SELECT_OPTIONAL_BACKED = `
  SELECT pool_id, chain, chain_key, address, address_display, address_family, contract_type, data_sources
  FROM contract_mappings
  WHERE is_active AND pool_id IS NOT NULL
    AND jsonb_path_exists(data_sources, '$[*] ? (@.source starts with $prefix)', jsonb_build_object('prefix', $1::text))`;

/** EIP-55 forms already stored: hashing each address again on every run is the costly part. */
const SELECT_EVM_DISPLAY = `SELECT DISTINCT address, address_display FROM contract_mappings WHERE address_family = 'evm'`;

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

export async function readEvmDisplayForms(db: Db): Promise<{ address: string; address_display: string }[]> {
  return db.manyOrNone(SELECT_EVM_DISPLAY);
}

// ---- the write transaction ------------------------------------------------------------------------

const STAGE_COLUMNS: readonly Column[] = [
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
  { name: 'data_sources', type: 'jsonb' },
];

const CREATE_STAGE = `
  CREATE TEMP TABLE stage_contract_mappings (
    pool_id text, protocol_id text, chain text NOT NULL, chain_key text, evm_chain_id bigint,
    address text NOT NULL, address_display text NOT NULL, address_family text NOT NULL,
    contract_type text NOT NULL, confidence numeric(3, 2) NOT NULL, data_sources jsonb NOT NULL
  ) ON COMMIT DROP`;

const COPY_STAGE = `COPY stage_contract_mappings (${STAGE_COLUMNS.map((c) => c.name).join(', ')}) FROM STDIN`;

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

/** The natural key, with '' standing for NULL so the joins can hash (ids are never empty). */
const SAME_KEY = (s: string, t: string) => `
  coalesce(${s}.pool_id, '') = coalesce(${t}.pool_id, '') AND coalesce(${s}.protocol_id, '') = coalesce(${t}.protocol_id, '')
  AND ${s}.chain = ${t}.chain AND ${s}.address = ${t}.address AND ${s}.contract_type = ${t}.contract_type`;

/**
 * Mappings no source named this run. Their last sighting is the job's previous successful run
 * (this run's sync_jobs row is still "running"). The outer query also counts the active rows
 * before the update, which the deactivation guard needs.
 */
const DEACTIVATE = `
  WITH gone AS (
    UPDATE contract_mappings t
    SET is_active = false,
        last_seen_at = coalesce(greatest(t.last_seen_at, (SELECT job_last_success($1))), t.updated_at),
        updated_at = now()
    WHERE t.is_active AND NOT EXISTS (SELECT 1 FROM stage_contract_mappings s WHERE ${SAME_KEY('s', 't')})
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM gone)::int AS deactivated,
         (SELECT count(*) FROM contract_mappings WHERE is_active)::int AS active_before`;

/** Staged rows with the verification cache applied: code on-chain raises confidence to 1.0. */
const RESOLVED = `
  SELECT s.*, v.is_contract, v.checked_at AS verified_at, v.method AS verification_method,
         (CASE WHEN v.is_contract THEN 1.00 ELSE s.confidence END)::numeric(3, 2) AS final_confidence
  FROM stage_contract_mappings s
  LEFT JOIN contract_verifications v ON s.address_family = 'evm' AND v.chain_key = s.chain_key AND v.address = s.address`;

const UPDATE_CHANGED = `
  WITH src AS (${RESOLVED}),
  changed AS (
    UPDATE contract_mappings t
    SET chain_key = src.chain_key, evm_chain_id = src.evm_chain_id, address_display = src.address_display,
        address_family = src.address_family, confidence = src.final_confidence, data_sources = src.data_sources,
        is_contract = src.is_contract, verified_at = src.verified_at, verification_method = src.verification_method,
        is_active = true, last_seen_at = now(), updated_at = now()
    FROM src
    WHERE ${SAME_KEY('src', 't')}
      AND (t.chain_key, t.evm_chain_id, t.address_display, t.address_family, t.confidence, t.data_sources,
           t.is_contract, t.verified_at, t.verification_method, t.is_active)
          IS DISTINCT FROM
          (src.chain_key, src.evm_chain_id, src.address_display, src.address_family, src.final_confidence, src.data_sources,
           src.is_contract, src.verified_at, src.verification_method, true)
    RETURNING 1
  )
  SELECT count(*)::int AS updated FROM changed`;

const INSERT_NEW = `
  WITH src AS (${RESOLVED}),
  created AS (
    INSERT INTO contract_mappings (pool_id, protocol_id, chain, chain_key, evm_chain_id, address, address_display,
      address_family, contract_type, confidence, data_sources, is_contract, verified_at, verification_method, last_seen_at)
    SELECT pool_id, protocol_id, chain, chain_key, evm_chain_id, address, address_display,
      address_family, contract_type, final_confidence, data_sources, is_contract, verified_at, verification_method, now()
    FROM src
    WHERE NOT EXISTS (SELECT 1 FROM contract_mappings t WHERE ${SAME_KEY('src', 't')})
    RETURNING 1
  )
  SELECT count(*)::int AS created FROM created`;

export interface WriteOptions {
  readonly maxDeactivateShare: number;
  readonly force: boolean;
  readonly signal?: AbortSignal;
  readonly onForcedDeactivation?: (deactivated: number, activeBefore: number) => void;
}

export interface WriteResult {
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deactivated: number;
  readonly activeBefore: number;
  readonly timings: Readonly<Record<'copy' | 'deactivate' | 'update' | 'insert' | 'commit', number>>;
}

/** Flush COPY data in chunks of about this many characters. */
const CHUNK_CHARS = 256 * 1024;

export async function writeMappings(db: Db, rows: readonly MappingRow[], verifications: readonly VerificationResult[], options: WriteOptions): Promise<WriteResult> {
  const { signal } = options;
  const timings = { copy: 0, deactivate: 0, update: 0, insert: 0, commit: 0 };
  let t = performance.now();
  const lap = (phase: keyof typeof timings) => {
    const now = performance.now();
    timings[phase] = Math.round(now - t);
    t = now;
  };
  const conn = await db.connect();
  try {
    const counts = await conn.tx(`${JOB}: write`, async (tx) => {
      if (verifications.length > 0) {
        await tx.none(CREATE_VERIFICATION_STAGE);
        await copyRows(conn, COPY_VERIFICATION_STAGE, VERIFICATION_COLUMNS, verifications, (v) => [v.chainKey, v.address, v.isContract, v.codeSize, v.method], signal);
        await tx.none(UPSERT_VERIFICATIONS);
      }
      await tx.none(CREATE_STAGE);
      await copyRows(conn, COPY_STAGE, STAGE_COLUMNS, rows, stageRow, signal);
      // Temporary tables have no statistics until analysed; the joins below need them.
      await tx.none('ANALYZE stage_contract_mappings');
      lap('copy');
      signal?.throwIfAborted();

      const gone = await tx.one<{ deactivated: number; active_before: number }>(DEACTIVATE, [JOB]);
      lap('deactivate');
      const allowed = Math.floor(gone.active_before * options.maxDeactivateShare);
      if (gone.deactivated > allowed) {
        const share = `${gone.deactivated} of ${gone.active_before} active contract mappings (${((gone.deactivated / gone.active_before) * 100).toFixed(1)}%)`;
        if (!options.force) {
          throw new GuardError(
            `${JOB} refused to deactivate ${share}: more than MAX_DEACTIVATE_SHARE=${options.maxDeactivateShare} of the active mappings lost every source, which looks like missing pools or protocols; nothing was changed. Rerun with --force if they really disappeared.`,
          );
        }
        options.onForcedDeactivation?.(gone.deactivated, gone.active_before);
      }
      signal?.throwIfAborted();
      const { updated } = await tx.one<{ updated: number }>(UPDATE_CHANGED);
      lap('update');
      signal?.throwIfAborted();
      const { created } = await tx.one<{ created: number }>(INSERT_NEW);
      lap('insert');
      return { created, updated, deactivated: gone.deactivated, activeBefore: gone.active_before };
    });
    lap('commit');
    return { ...counts, unchanged: rows.length - counts.created - counts.updated, timings };
  } finally {
    conn.done();
  }
}

function stageRow(r: MappingRow): readonly CopyValue[] {
  if (r.display === undefined) throw new Error(`internal: no display form for ${r.address}`);
  return [r.poolId, r.protocolId, r.chain, r.chainKey, r.evmChainId, r.address, r.display, r.family, r.type, r.confidence, r.entries as unknown as CopyValue];
}

async function copyRows<T>(conn: Conn, sql: string, columns: readonly Column[], items: readonly T[], toRow: (item: T) => readonly CopyValue[], signal: AbortSignal | undefined): Promise<void> {
  function* chunks(): Generator<string> {
    let buf = '';
    for (const item of items) {
      buf += copyLine(columns, toRow(item));
      if (buf.length >= CHUNK_CHARS) {
        signal?.throwIfAborted();
        yield buf;
        buf = '';
      }
    }
    if (buf) yield buf;
  }
  // pg-promise types its client loosely; COPY needs pg's own Client.query overload.
  const stream = (conn.client as unknown as pg.Client).query(copyStreams.from(sql));
  await pipeline(Readable.from(chunks(), { objectMode: false }), stream);
}
