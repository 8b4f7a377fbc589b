// What the staged-merge writers (bulk-sync.ts, contracts/store.ts) share, all in the writer's one transaction:
// COPY into a temporary table, one merge, one UPDATE deactivating unlisted rows, and a guard against deactivating too many.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate } from 'node:timers/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { GuardError } from '../errors.js';
import type { Conn, DbTask } from './connection.js';
import { copyBinary, type Column, type ColumnType, type CopyValue } from './copy-binary.js';

/** Milliseconds per phase (debug logs, benchmark). */
export class Stopwatch {
  readonly timings: Record<string, number> = {};
  private last = performance.now();

  lap(phase: string): void {
    const now = performance.now();
    this.timings[phase] = Math.round(now - this.last);
    this.last = now;
  }
}

/**
 * A temporary staging table, dropped with the transaction whatever its outcome, and its COPY: each column's name, its
 * COPY type (copy-binary.ts) and SQL type, in COPY order. Binary input is not cast: the SQL type must be the COPY type.
 */
export function stagingTable(table: string, columns: readonly (readonly [name: string, copy: ColumnType, sql: string])[]) {
  const copyColumns = columns.map(([name, type]): Column => ({ name, type }));
  const create = `CREATE TEMP TABLE ${table} (${columns.map(([name, , sql]) => `${name} ${sql}`).join(', ')}) ON COMMIT DROP`;
  const copy = `COPY ${table} (${columns.map(([name]) => name).join(', ')}) FROM STDIN (FORMAT binary)`;
  return {
    /** Creates the table (in the transaction) and copies `items` into it, each encoded by `toRow` as PostgreSQL asks for more. */
    async load<T>(tx: DbTask, conn: Conn, items: Iterable<T>, toRow: (item: T) => readonly CopyValue[], signal: AbortSignal | undefined): Promise<void> {
      await tx.none(create);
      async function* buffers(): AsyncGenerator<Buffer> {
        for (const buffer of copyBinary(copyColumns, items, toRow)) {
          signal?.throwIfAborted();
          yield buffer;
          // While PostgreSQL keeps up, nothing else lets the event loop turn (timers, signals, I/O) until the last row.
          await setImmediate();
        }
      }
      // pg-promise types its raw client as a subset of pg's; the connection is a pg.Client.
      await pipeline(Readable.from(buffers(), { objectMode: false }), (conn.client as unknown as pg.Client).query(copyStreams.from(copy)));
    },
  };
}

/** An INSERT ... ON CONFLICT DO UPDATE (no RETURNING) that counts the rows it created (xmax = 0) and updated. */
export function countedMergeSql(insert: string): string {
  return `WITH merged AS (
    ${insert}
    RETURNING (xmax = 0) AS inserted
  )
  SELECT (count(*) FILTER (WHERE inserted))::int AS created, (count(*) FILTER (WHERE NOT inserted))::int AS updated FROM merged`;
}

export interface MergeCounts {
  readonly created: number;
  readonly updated: number;
}

/**
 * Marks rows no source lists any more ($2: their keys) inactive, never deleting them. Last seen: the job's ($1)
 * last successful run before this one, whose sync_jobs row is still "running".
 */
export function deactivateSql(table: string, key: string, keyType: 'text' | 'bigint'): string {
  return `UPDATE ${table} t
    SET is_active = false,
        last_seen_at = coalesce(greatest(t.last_seen_at, (SELECT job_last_success($1))), t.updated_at),
        updated_at = now()
    WHERE t.${key} = ANY($2::${keyType}[]) AND t.is_active`;
}

export interface DeactivationCheck {
  readonly job: string;
  /** In the plural ("pools", "contract mappings"). */
  readonly rows: string;
  readonly deactivating: number;
  readonly activeBefore: number;
  readonly maxDeactivateShare: number;
  readonly force: boolean;
  /** For the refusal: why so many missing rows look like a fault, and what --force would mean. */
  readonly because: string;
  readonly forceMeans: string;
  readonly onForced: (share: string) => void;
}

/** Refuses (GuardError: the transaction rolls back) to deactivate more than maxDeactivateShare of the active rows, unless forced. */
export function guardDeactivation(c: DeactivationCheck): void {
  if (c.deactivating <= Math.floor(c.activeBefore * c.maxDeactivateShare)) return;
  const share = `${c.deactivating} of ${c.activeBefore} active ${c.rows} (${((c.deactivating / c.activeBefore) * 100).toFixed(1)}%)`;
  if (!c.force) {
    throw new GuardError(
      `${c.job} refused to deactivate ${share}: more than MAX_DEACTIVATE_SHARE=${c.maxDeactivateShare} ${c.because}; nothing was changed. Rerun with --force if ${c.forceMeans}.`,
    );
  }
  c.onForced(share);
}
