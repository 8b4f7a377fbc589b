// A whole response goes into a current-state table in ONE transaction (staged-merge.ts): a failure rolls everything back.
// The merge compares columns, so unchanged data writes no new row versions. Row digests to skip unchanged records are
// not kept: nearly every row changes daily, so reading and hashing them cost the nightly run more than they saved.
import type { Logger } from '../logger.js';
import { withConnection, type Db } from './connection.js';
import type { Column, CopyValue } from './copy-binary.js';
import { deactivateSql, guardDeactivation, stagingTable, Stopwatch } from './staged-merge.js';

export interface SyncColumn<R> extends Column {
  value(record: R): CopyValue;
}

export interface SyncTable<R> {
  /** Besides the data columns it has is_active, first_seen_at, last_seen_at, created_at and updated_at. */
  readonly table: string;
  /** The job whose last successful run dates "last seen" for rows it keeps active. */
  readonly job: string;
  /** Data columns; the first is the natural key (the table's primary key) and is never null. */
  readonly columns: readonly SyncColumn<R>[];
  /** The column the client names a rejected record by (e.g. a protocol by slug); defaults to the key column. */
  readonly rejectedKeyColumn?: string;
}

/** Declares a table's sync (frozen: the statements built from it are cached). */
export function defineSyncTable<R>(spec: SyncTable<R>): SyncTable<R> {
  return Object.freeze({ ...spec, columns: Object.freeze(spec.columns.map((c) => Object.freeze({ ...c }))) });
}

/** A record's row as an object, by column name: for tests and diagnostics. */
export function rowObject<R>(spec: SyncTable<R>, record: R): Record<string, CopyValue> {
  return Object.fromEntries(spec.columns.map((c) => [c.name, c.value(record)]));
}

/** An array, or a source that validates each record as it is read and answers undefined for a malformed one (RecordBatch). */
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
  /** Keys (of spec.rejectedKeyColumn) of rejected records, whose rows are left as they are; called once every record is read. */
  readonly keepKeys?: () => Iterable<string>;
  /** Called in the transaction once every record has been read, before the merge: throwing rolls everything back. */
  readonly afterRead?: () => void;
}

export interface BulkSyncResult {
  /** Valid records handed in, duplicates included (a source's rejected records are not counted). */
  readonly received: number;
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
  /** Milliseconds per phase, for debug logs and the benchmark. */
  readonly timings: Readonly<Record<string, number>>;
}

export async function bulkSync<R>(db: Db, spec: SyncTable<R>, records: RecordSource<R>, options: BulkSyncOptions): Promise<BulkSyncResult> {
  const { log, signal } = options;
  const sql = statements(spec);
  const watch = new Stopwatch();
  const result = await withConnection(db, (conn) =>
    conn.tx(`${spec.job}: bulk sync`, async (tx): Promise<BulkSyncResult> => {
      signal?.throwIfAborted();
      // The run's sync_jobs row commits synchronously after this, making it durable too: waiting for its own flush adds latency.
      // The merge's hash join of 50,000 pools spills to disk at the default work_mem (4 MB).
      await tx.none(`SET LOCAL synchronous_commit = off; SET LOCAL work_mem = '64MB'`);
      // Every stored key, inactive ones too: a staged key not among them is a row the merge creates.
      const stored = await tx.manyOrNone<{ k: string; r: string | null; active: boolean }>(sql.stored);
      const active = stored.filter((row) => row.active);
      watch.lap('active');
      signal?.throwIfAborted();

      const keys = new Set<string>();
      let received = 0;
      // Read backwards while COPY streams (a RecordBatch validates as PostgreSQL ingests); skipping seen keys, the last one wins.
      function* fresh(): Generator<R> {
        for (let i = records.length - 1; i >= 0; i--) {
          const record = records.at(i);
          if (record === undefined) continue; // rejected by the source
          received++;
          const key = String(spec.columns[0]!.value(record));
          if (keys.has(key)) continue;
          keys.add(key);
          yield record;
        }
      }
      await sql.stage.load(tx, conn, fresh(), (record) => spec.columns.map((c) => c.value(record)), signal);
      watch.lap('copy');
      options.afterRead?.();
      signal?.throwIfAborted();

      // Active rows the source no longer lists are deactivated, unless a rejected record still names them.
      const keepSet = new Set(options.keepKeys?.() ?? []);
      const missing: string[] = [];
      let kept = 0;
      for (const row of active) {
        if (keys.has(row.k)) continue;
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

      const storedKeys = new Set(stored.map((row) => row.k));
      const created = [...keys].filter((k) => !storedKeys.has(k)).length;
      const updated = (await tx.result(sql.merge)).rowCount - created;
      watch.lap('merge');
      signal?.throwIfAborted();
      const deactivated = missing.length === 0 ? 0 : (await tx.result(sql.deactivate, [spec.job, missing])).rowCount;
      watch.lap('deactivate');
      signal?.throwIfAborted();
      return {
        received,
        distinct: keys.size,
        duplicates: received - keys.size,
        created,
        updated,
        unchanged: keys.size - created - updated,
        deactivated,
        activeBefore: active.length,
        kept,
        timings: watch.timings,
      };
    }),
  );
  watch.lap('commit');
  log.debug({ table: spec.table, ...result }, 'bulk sync committed');
  return result;
}

const cache = new WeakMap<SyncTable<never>, ReturnType<typeof buildStatements>>();

/** The SQL of one table's sync, built once from its column list (names are code, not input). */
function statements<R>(spec: SyncTable<R>) {
  let built = cache.get(spec as SyncTable<never>);
  if (!built) cache.set(spec as SyncTable<never>, (built = buildStatements(spec)));
  return built;
}

function buildStatements<R>(spec: SyncTable<R>) {
  const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const keepName = spec.rejectedKeyColumn ?? spec.columns[0]!.name;
  if (!spec.columns.some((c) => c.name === keepName)) throw new Error(`${spec.table}: rejectedKeyColumn ${keepName} is not one of its columns`);
  const table = ident(spec.table);
  const stage = ident(`stage_${spec.table}`);
  const key = ident(spec.columns[0]!.name);
  const keepCol = ident(keepName);
  const names = spec.columns.map((c) => ident(c.name));
  const data = names.slice(1);
  return {
    stored: `SELECT ${key} AS k, ${keepCol === key ? 'NULL' : `${keepCol}::text`} AS r, is_active AS active FROM ${table}`,
    keepByKey: keepCol === key,
    stage: stagingTable(stage, spec.columns.map((c) => [ident(c.name), c.type, c.type === 'json' ? 'jsonb' : c.type] as const)),
    // Only rows whose data differs are rewritten (an unchanged one is not locked either); a returning row is reactivated.
    merge: `MERGE INTO ${table} AS t USING ${stage} AS s ON t.${key} = s.${key}
      WHEN MATCHED AND (${data.map((c) => `t.${c}`).join(', ')}, t.is_active) IS DISTINCT FROM (${data.map((c) => `s.${c}`).join(', ')}, true) THEN UPDATE SET
        ${data.map((c) => `${c} = s.${c}`).join(',\n        ')},
        is_active = true, last_seen_at = now(), updated_at = now()
      WHEN NOT MATCHED THEN INSERT (${names.join(', ')}, last_seen_at) VALUES (${names.map((c) => `s.${c}`).join(', ')}, now())`,
    deactivate: deactivateSql(table, key, 'text'),
  };
}
