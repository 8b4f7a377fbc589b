/**
 * Writes a whole source response into a current-state table (chains, protocols, pools) in ONE
 * transaction: read the keys (and digests) of the active rows, COPY the new and changed records
 * into a temporary staging table, refuse a run that would deactivate too many active rows, merge
 * the staged records with one INSERT ... ON CONFLICT DO UPDATE that skips rows whose data is
 * unchanged, and deactivate the rows the source no longer lists with one UPDATE. Never a statement
 * per row; a rerun with unchanged data writes no new row versions; any failure (or cancellation)
 * rolls everything back.
 *
 * Records are read once each, from the last to the first, while the COPY streams: a source that
 * validates on read (RecordBatch) validates while PostgreSQL ingests, and reading backwards makes
 * "the last valid record of a key wins" a matter of skipping keys already seen.
 *
 * Each row stores a digest (sync_hash) of the values written; a record whose digest matches its
 * active row is not sent at all. The digest only filters: the merge still compares the columns.
 * (A row edited by hand keeps its digest, so it is corrected when its source record changes.)
 * The same path writes a first load, an unchanged day and the next day (staged-merge.ts).
 */
import { hash } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Conn, Db } from './connection.js';
import { copyIn } from './copy-in.js';
import { copyLine, type Column, type CopyValue } from './copy-text.js';
import { countedMergeSql, createStageSql, deactivateSql, guardDeactivation, Stopwatch, type MergeCounts } from './staged-merge.js';

/** A column of a current-state table and how its value is taken from a source record. */
export interface SyncColumn<R> extends Column {
  value(record: R): CopyValue;
}

/** How a source's records become rows of one current-state table. */
export interface SyncTable<R> {
  /**
   * Target table; besides the data columns it has is_active, first_seen_at, last_seen_at,
   * created_at, updated_at and sync_hash.
   */
  readonly table: string;
  /** The job whose last successful run dates "last seen" for rows it keeps active. */
  readonly job: string;
  /** Data columns; the first is the natural key (the table's primary key) and is never null. */
  readonly columns: readonly SyncColumn<R>[];
  /**
   * The column that the keys of rejected records refer to (the client names a rejected record by
   * the field it could read, e.g. a protocol by slug). Defaults to the key column.
   */
  readonly rejectedKeyColumn?: string;
}

/** Declares a table's sync (frozen: the statements built from it are cached). */
export function defineSyncTable<R>(spec: SyncTable<R>): SyncTable<R> {
  return Object.freeze({ ...spec, columns: Object.freeze(spec.columns.map((c) => Object.freeze({ ...c }))) });
}

/** The natural key of a record. */
export function keyOf<R>(spec: SyncTable<R>, record: R): string {
  return String(spec.columns[0]!.value(record));
}

/** A record's row as an object, by column name: for tests and diagnostics. */
export function rowObject<R>(spec: SyncTable<R>, record: R): Record<string, CopyValue> {
  return Object.fromEntries(spec.columns.map((c) => [c.name, c.value(record)]));
}

/**
 * The records to write: an array, or a source that validates each record as it is read and
 * answers undefined for a malformed one (RecordBatch). Each index is read once.
 */
export interface RecordSource<R> {
  readonly length: number;
  at(index: number): R | undefined;
}

export interface BulkSyncOptions {
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Apply even when more than maxDeactivateShare of the active rows would be deactivated. */
  readonly force?: boolean;
  /** Share (0..1) of active rows a run may deactivate before the guard refuses it. */
  readonly maxDeactivateShare: number;
  /**
   * Keys (of spec.rejectedKeyColumn) the source did list but whose records were rejected as
   * malformed: their rows are left exactly as they are, neither updated nor deactivated. Called
   * once every record has been read, since a validating source finds them while being read.
   */
  readonly keepKeys?: () => Iterable<string>;
  /**
   * Called inside the transaction once every record has been read (and validated, for a
   * validating source), before anything is merged or committed: throwing rolls everything back.
   */
  readonly afterRead?: () => void;
}

export interface BulkSyncResult {
  /** Valid records handed in, duplicates included (a source's rejected records are not counted). */
  readonly received: number;
  /** Distinct keys among them. */
  readonly distinct: number;
  /** Records dropped because a later record had the same key (the last one wins). */
  readonly duplicates: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deactivated: number;
  /** Active rows before this run (the base of the deactivation guard). */
  readonly activeBefore: number;
  /** Active rows left untouched because their record was rejected. */
  readonly kept: number;
  /** Records sent (the others matched their row's digest and needed no write). */
  readonly sent: number;
  /** Milliseconds per phase, for debug logs and the benchmark. */
  readonly timings: Readonly<Record<string, number>>;
}

export async function bulkSync<R>(db: Db, spec: SyncTable<R>, records: RecordSource<R>, options: BulkSyncOptions): Promise<BulkSyncResult> {
  const { log, signal } = options;
  const sql = statements(spec);
  const watch = new Stopwatch();
  const conn = await db.connect();
  try {
    const result = await conn.tx(`${spec.job}: bulk sync`, async (tx): Promise<BulkSyncResult> => {
      signal?.throwIfAborted();
      // The run's sync_jobs row is committed after this transaction with a synchronous commit,
      // which makes this one durable too; waiting for its own flush would only add latency.
      await tx.none('SET LOCAL synchronous_commit = off');
      // The digests of the active rows: a record that matches its row's digest is not sent.
      const active = await tx.manyOrNone<{ k: string; h: string | null; r: string | null }>(sql.active);
      const known = new Map<string, string>();
      for (const row of active) if (row.h !== null) known.set(row.k, row.h);
      watch.lap('active');
      signal?.throwIfAborted();

      await tx.none(sql.createStage);
      const read = await copyRecords(conn, sql.copyStage, spec, records, known, signal);
      watch.lap('copy');
      options.afterRead?.();
      signal?.throwIfAborted();

      // The active rows the source no longer lists; a rejected record still names its row (by
      // key, or by its rejectedKeyColumn), which keeps it.
      const keepSet = new Set(options.keepKeys?.() ?? []);
      const missing: string[] = [];
      let kept = 0;
      for (const row of active) {
        if (read.keys.has(row.k)) continue;
        if (keepSet.has(sql.keepByKey ? row.k : (row.r ?? ''))) kept++;
        else missing.push(row.k);
      }
      guardDeactivation({
        job: spec.job,
        rows: spec.table,
        deactivating: missing.length,
        activeBefore: active.length,
        maxDeactivateShare: options.maxDeactivateShare,
        force: options.force === true,
        because: 'of the active rows are missing from the source, which looks like a truncated response',
        forceMeans: 'the source really dropped them',
        onForced: (share) => log.warn({ deactivated: missing.length, activeBefore: active.length }, `--force: deactivating ${share}`),
      });

      const merged = read.sent === 0 ? { created: 0, updated: 0 } : await tx.one<MergeCounts>(sql.merge);
      watch.lap('merge');
      signal?.throwIfAborted();
      const deactivated = missing.length === 0 ? 0 : (await tx.result(sql.deactivate, [spec.job, missing])).rowCount;
      watch.lap('deactivate');
      signal?.throwIfAborted();
      return {
        received: read.received,
        distinct: read.keys.size,
        duplicates: read.received - read.keys.size,
        created: merged.created,
        updated: merged.updated,
        unchanged: read.keys.size - merged.created - merged.updated,
        deactivated,
        activeBefore: active.length,
        kept,
        sent: read.sent,
        timings: watch.timings,
      };
    });
    watch.lap('commit');
    log.debug({ table: spec.table, ...result }, 'bulk sync committed');
    return result;
  } finally {
    conn.done();
  }
}

function keepColumnIndex<R>(spec: SyncTable<R>): number {
  const name = spec.rejectedKeyColumn ?? spec.columns[0]!.name;
  const index = spec.columns.findIndex((c) => c.name === name);
  if (index < 0) throw new Error(`${spec.table}: rejectedKeyColumn ${name} is not one of its columns`);
  return index;
}

interface CopyResult {
  /** Valid records read, duplicates included. */
  readonly received: number;
  /** Their distinct keys. */
  readonly keys: ReadonlySet<string>;
  /** Records sent to PostgreSQL. */
  readonly sent: number;
}

/**
 * Streams the records with COPY, reading and encoding them one at a time (copy-in.ts). Reads
 * from the last record to the first and skips a key already seen (the last one wins). Each line
 * is the data columns and their digest; a record whose digest equals `known.get(key)` is not sent.
 */
async function copyRecords<R>(
  conn: Conn,
  copySql: string,
  spec: SyncTable<R>,
  records: RecordSource<R>,
  known: ReadonlyMap<string, string>,
  signal: AbortSignal | undefined,
): Promise<CopyResult> {
  const columns = spec.columns;
  const width = columns.length;
  const values: CopyValue[] = new Array<CopyValue>(width);
  const keys = new Set<string>();
  let received = 0;
  let sent = 0;

  function* lines(): Generator<string> {
    for (let i = records.length - 1; i >= 0; i--) {
      const record = records.at(i);
      if (record === undefined) continue; // rejected by the source
      received++;
      const key = keyOf(spec, record);
      if (keys.has(key)) continue; // superseded by a later duplicate
      keys.add(key);
      for (let c = 0; c < width; c++) values[c] = columns[c]!.value(record);
      const data = copyLine(columns, values);
      // SHA-256: about twice as fast as md5 where the CPU has SHA instructions.
      const digest = hash('sha256', data, 'hex');
      if (known.get(key) === digest) continue;
      sent++;
      yield `${data.slice(0, -1)}\t\\\\x${digest}\n`;
    }
  }
  await copyIn(conn, copySql, lines(), signal);
  return { received, keys, sent };
}

interface Statements {
  readonly active: string;
  /** Whether rejected records are named by the key column itself. */
  readonly keepByKey: boolean;
  readonly createStage: string;
  readonly copyStage: string;
  readonly merge: string;
  readonly deactivate: string;
}

const cache = new WeakMap<SyncTable<never>, Statements>();

/** The SQL of one table's sync, built once from its column list (names are code, not input). */
function statements<R>(spec: SyncTable<R>): Statements {
  const cached = cache.get(spec as SyncTable<never>);
  if (cached) return cached;
  const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const table = ident(spec.table);
  const stage = ident(`stage_${spec.table}`);
  const key = ident(spec.columns[0]!.name);
  const keepCol = ident(spec.columns[keepColumnIndex(spec)]!.name);
  const names = spec.columns.map((c) => ident(c.name));
  const data = names.slice(1);
  const built: Statements = {
    active: `SELECT ${key} AS k, encode(sync_hash, 'hex') AS h, ${keepCol === key ? 'NULL' : `${keepCol}::text`} AS r FROM ${table} WHERE is_active`,
    keepByKey: keepCol === key,
    createStage: createStageSql(stage, `${spec.columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ')}, sync_hash bytea`),
    copyStage: `COPY ${stage} (${names.join(', ')}, sync_hash) FROM STDIN`,
    // One statement for every record sent. The WHERE skips rows whose data is identical, so
    // they get no new row version (the digest alone never causes a write); a row that comes back
    // after being deactivated is reactivated.
    merge: countedMergeSql(`INSERT INTO ${table} AS t (${names.join(', ')}, sync_hash, last_seen_at)
      SELECT ${names.join(', ')}, sync_hash, now() FROM ${stage}
      ON CONFLICT (${key}) DO UPDATE SET
        ${data.map((c) => `${c} = excluded.${c}`).join(',\n        ')},
        sync_hash = excluded.sync_hash, is_active = true, last_seen_at = excluded.last_seen_at, updated_at = now()
      WHERE (${data.map((c) => `t.${c}`).join(', ')}, t.is_active) IS DISTINCT FROM (${data.map((c) => `excluded.${c}`).join(', ')}, true)`),
    deactivate: deactivateSql(table, key, 'text'),
  };
  cache.set(spec as SyncTable<never>, built);
  return built;
}
