/**
 * Writes a whole source response into a current-state table (chains, protocols, pools) in ONE
 * transaction: COPY into a temporary staging table, deactivate the rows the source no longer
 * lists, then one INSERT ... ON CONFLICT DO UPDATE that skips rows whose data is unchanged.
 * Never a statement per row; a rerun with unchanged data writes no new row versions; any failure
 * (or cancellation) rolls everything back.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { GuardError } from '../errors.js';
import type { Logger } from '../logger.js';
import { copyLine, type Column, type CopyValue } from '../sync/copy-text.js';
import type { Conn, Db } from './connection.js';

/** A column of a current-state table and how its value is taken from a source record. */
export interface SyncColumn<R> extends Column {
  value(record: R): CopyValue;
}

/** How a source's records become rows of one current-state table. */
export interface SyncTable<R> {
  /** Target table; it has the bookkeeping columns is_active, first_seen_at, last_seen_at, created_at, updated_at. */
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

export interface BulkSyncOptions {
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Apply even when more than maxDeactivateShare of the active rows would be deactivated. */
  readonly force?: boolean;
  /** Share (0..1) of active rows a run may deactivate before the guard refuses it. */
  readonly maxDeactivateShare: number;
  /**
   * Keys (of spec.rejectedKeyColumn) the source did list but whose records were rejected as
   * malformed: their rows are left exactly as they are, neither updated nor deactivated.
   */
  readonly keepKeys?: Iterable<string>;
}

export interface BulkSyncResult {
  /** Records handed in, duplicates included. */
  readonly received: number;
  /** Distinct keys among them: what was merged. */
  readonly distinct: number;
  /** Records dropped because a later record had the same key (the last one wins). */
  readonly duplicates: number;
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deactivated: number;
  /** Active rows before this run (the base of the deactivation guard). */
  readonly activeBefore: number;
  /** Rows kept untouched because their record was rejected. */
  readonly kept: number;
  /** Milliseconds per phase, for debug logs and the benchmark. */
  readonly timings: Readonly<Record<'copy' | 'deactivate' | 'merge' | 'commit', number>>;
}

/** Flush COPY data to the socket in chunks of about this many characters. */
const CHUNK_CHARS = 256 * 1024;

export async function bulkSync<R>(db: Db, spec: SyncTable<R>, records: readonly R[], options: BulkSyncOptions): Promise<BulkSyncResult> {
  const { log, signal } = options;
  // Last one wins: remember the position of each key's final occurrence.
  const lastIndex = new Map<string, number>();
  for (let i = 0; i < records.length; i++) lastIndex.set(keyOf(spec, records[i]!), i);
  const keep = [...new Set(options.keepKeys ?? [])];
  const sql = statements(spec);
  const timings = { copy: 0, deactivate: 0, merge: 0, commit: 0 };
  let t = performance.now();
  const lap = (phase: keyof typeof timings) => {
    const now = performance.now();
    timings[phase] = Math.round(now - t);
    t = now;
  };

  const conn = await db.connect();
  try {
    const counts = await conn.tx(`${spec.job}: bulk sync`, async (tx) => {
      signal?.throwIfAborted();
      await tx.none(sql.createStage);
      await copyInto(conn, sql.copy, spec, records, lastIndex, keep, signal);
      lap('copy');
      signal?.throwIfAborted();

      const gone = await tx.one<{ deactivated: number; active_before: number }>(sql.deactivate, [spec.job]);
      lap('deactivate');
      const limit = Math.floor(gone.active_before * options.maxDeactivateShare);
      if (gone.deactivated > limit) {
        const share = `${gone.deactivated} of ${gone.active_before} active ${spec.table} (${percent(gone.deactivated / gone.active_before)})`;
        if (!options.force) {
          throw new GuardError(
            `${spec.job} refused to deactivate ${share}: more than MAX_DEACTIVATE_SHARE=${options.maxDeactivateShare} of the active rows are missing from the source, which looks like a truncated response; nothing was changed. Rerun with --force if the source really dropped them.`,
          );
        }
        log.warn({ deactivated: gone.deactivated, activeBefore: gone.active_before }, `--force: deactivating ${share}`);
      }
      signal?.throwIfAborted();

      const merged = await tx.one<{ created: number; updated: number }>(sql.merge);
      lap('merge');
      signal?.throwIfAborted();
      return { ...merged, ...gone };
    });
    lap('commit');
    const distinct = lastIndex.size;
    const result: BulkSyncResult = {
      received: records.length,
      distinct,
      duplicates: records.length - distinct,
      created: counts.created,
      updated: counts.updated,
      unchanged: distinct - counts.created - counts.updated,
      deactivated: counts.deactivated,
      activeBefore: counts.active_before,
      kept: keep.length,
      timings,
    };
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

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** Streams the distinct records, then the kept keys, into the staging table with COPY. */
async function copyInto<R>(
  conn: Conn,
  copySql: string,
  spec: SyncTable<R>,
  records: readonly R[],
  lastIndex: ReadonlyMap<string, number>,
  keep: readonly string[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const stageColumns: Column[] = [...spec.columns, { name: 'keep_only', type: 'bool' }];
  const width = stageColumns.length;
  const keepAt = keepColumnIndex(spec);
  const row: CopyValue[] = new Array<CopyValue>(width);
  function* chunks(): Generator<string> {
    let buf = '';
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      if (lastIndex.get(keyOf(spec, record)) !== i) continue; // superseded by a later duplicate
      for (let c = 0; c < width - 1; c++) row[c] = spec.columns[c]!.value(record);
      row[width - 1] = false;
      buf += copyLine(stageColumns, row);
      if (buf.length >= CHUNK_CHARS) {
        signal?.throwIfAborted();
        yield buf;
        buf = '';
      }
    }
    // Kept keys: a marker row with only that column set.
    row.fill(null);
    row[width - 1] = true;
    for (const key of keep) {
      row[keepAt] = key;
      buf += copyLine(stageColumns, row);
    }
    if (buf) yield buf;
  }
  // pg-promise types its raw client as a subset of pg's; the connection is a pg.Client.
  const stream = (conn.client as unknown as pg.Client).query(copyStreams.from(copySql));
  await pipeline(Readable.from(chunks(), { objectMode: false }), stream);
}

interface Statements {
  readonly createStage: string;
  readonly copy: string;
  readonly deactivate: string;
  readonly merge: string;
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
  // A kept row (its record was rejected) is found by its own column when that is not the key.
  const kept = keepCol === key ? '' : ` AND NOT EXISTS (SELECT 1 FROM ${stage} k WHERE k.keep_only AND k.${keepCol} = t.${keepCol})`;
  const names = spec.columns.map((c) => ident(c.name));
  const data = names.slice(1);
  const built: Statements = {
    // ON COMMIT DROP: the staging table disappears with the transaction, whatever its outcome.
    createStage: `CREATE TEMP TABLE ${stage} (${spec.columns.map((c) => `${ident(c.name)} ${c.type}`).join(', ')}, keep_only boolean NOT NULL) ON COMMIT DROP`,
    copy: `COPY ${stage} (${names.join(', ')}, keep_only) FROM STDIN`,
    // Rows the source no longer lists. Their last sighting is the job's last successful run
    // before this one (this run's own sync_jobs row is still "running"). The outer query sees
    // the table as it was before the UPDATE, so it also counts the active rows the guard needs.
    deactivate: `WITH gone AS (
        UPDATE ${table} t
        SET is_active = false,
            last_seen_at = coalesce(greatest(t.last_seen_at, (SELECT job_last_success($1))), t.updated_at),
            updated_at = now()
        WHERE t.is_active AND NOT EXISTS (SELECT 1 FROM ${stage} s WHERE s.${key} = t.${key})${kept}
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM gone)::int AS deactivated,
             (SELECT count(*) FROM ${table} WHERE is_active)::int AS active_before`,
    // One statement for every record. The WHERE skips rows whose data is identical, so they get
    // no new row version; a row that comes back after being deactivated is reactivated.
    merge: `WITH merged AS (
        INSERT INTO ${table} AS t (${names.join(', ')}, last_seen_at)
        SELECT ${names.join(', ')}, now() FROM ${stage} WHERE NOT keep_only
        ON CONFLICT (${key}) DO UPDATE SET
          ${data.map((c) => `${c} = excluded.${c}`).join(',\n          ')},
          is_active = true, last_seen_at = excluded.last_seen_at, updated_at = now()
        WHERE (${data.map((c) => `t.${c}`).join(', ')}, t.is_active) IS DISTINCT FROM (${data.map((c) => `excluded.${c}`).join(', ')}, true)
        RETURNING (xmax = 0) AS inserted
      )
      SELECT (count(*) FILTER (WHERE inserted))::int AS created, (count(*) FILTER (WHERE NOT inserted))::int AS updated FROM merged`,
  };
  cache.set(spec as SyncTable<never>, built);
  return built;
}
