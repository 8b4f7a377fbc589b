/** Monthly partitions of the snapshot tables: created on demand, listed with their bounds for retention. */
import type { Db, DbTask } from '../db/connection.js';
import { LOCK_NAMESPACE } from '../db/locks.js';

export type SnapshotTable = 'pool_daily_snapshots' | 'protocol_daily_snapshots';
export const SNAPSHOT_TABLES: readonly SnapshotTable[] = Object.freeze(['pool_daily_snapshots', 'protocol_daily_snapshots']);

/** In the caller's transaction, under a lock: two writers could otherwise both see a month missing and one CREATE fail. */
export async function ensurePartitions(t: DbTask, table: SnapshotTable, from: string, to: string): Promise<number> {
  await t.one('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACE, 'defi-sync:snapshot-partitions']);
  const row = await t.one<{ created: number }>('SELECT ensure_snapshot_partitions($1::regclass, $2::date, $3::date) AS created', [table, from, to]);
  return row.created;
}

/** Remembers which months exist, so writers only take the partition lock when a month is new. */
export class PartitionCache {
  private readonly known = new Set<string>();

  constructor(private readonly db: Db) {}

  async cover(table: SnapshotTable, from: string, to: string): Promise<void> {
    const months = monthsBetween(from, to).map((m) => `${table} ${m}`);
    if (months.every((m) => this.known.has(m))) return;
    await this.db.tx('ensure-partitions', (t) => ensurePartitions(t, table, from, to));
    for (const m of months) this.known.add(m);
  }
}

/** 'YYYY-MM' from the month of `from` to that of `to`, inclusive. */
function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const month = new Date(`${from.slice(0, 7)}-01T00:00:00Z`);
  for (let m = from.slice(0, 7); m <= to.slice(0, 7); m = month.toISOString().slice(0, 7)) {
    out.push(m);
    month.setUTCMonth(month.getUTCMonth() + 1);
  }
  return out;
}

const LIST_PARTITIONS = `
  SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = $1::regclass
  ORDER BY c.relname`;

const RANGE_BOUND = /FROM \('\d{4}-\d{2}-\d{2}'\) TO \('(\d{4}-\d{2}-\d{2})'\)/;

/** Range partitions with their exclusive upper bound (YYYY-MM-DD); a DEFAULT partition is not listed. */
export async function listPartitions(db: Db | DbTask, table: SnapshotTable): Promise<{ name: string; to: string }[]> {
  const rows = await db.manyOrNone<{ name: string; bound: string }>(LIST_PARTITIONS, [table]);
  return rows.flatMap((r) => {
    const m = RANGE_BOUND.exec(r.bound);
    return m ? [{ name: r.name, to: m[1]! }] : [];
  });
}
