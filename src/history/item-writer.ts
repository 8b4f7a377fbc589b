/** One transaction per item (rows + progress): a killed run leaves each item done or untouched. Live rows are never replaced. */
import type { Db } from '../db/connection.js';
import type { PoolDay } from './pool-history.js';
import type { ProtocolDay } from './protocol-history.js';
import type { SnapshotTable } from './partitions.js';
import type { HistoryItem, ItemKind } from './selection.js';

export interface WriteResult {
  readonly days: number;
  readonly created: number;
  readonly updated: number;
  /** Dates that already had a live row, left as they were. */
  readonly liveKept: number;
  /** Backfilled rows that already held the same values. */
  readonly unchanged: number;
}

// Sub-statements of one WITH see the table before the insert: created = days - existing, updated = written - created.
function writeDays(table: SnapshotTable, key: string, columns: Readonly<Record<string, string>>): string {
  const names = Object.keys(columns);
  const list = (prefix = '') => names.map((n) => prefix + n).join(', ');
  return `
  WITH src AS (SELECT * FROM jsonb_to_recordset($2::jsonb) AS r(snapshot_date date, ${names.map((n) => `${n} ${columns[n]}`).join(', ')})),
  existing AS (
    SELECT count(*) AS n, count(*) FILTER (WHERE s.source = 'live') AS live
    FROM ${table} s JOIN src USING (snapshot_date) WHERE s.${key} = $1
  ),
  written AS (
    INSERT INTO ${table} AS t (${key}, snapshot_date, ${list()}, source)
    SELECT $1, snapshot_date, ${list()}, 'backfill' FROM src
    ON CONFLICT (${key}, snapshot_date) DO UPDATE SET ${names.map((n) => `${n} = excluded.${n}`).join(', ')}, captured_at = now()
    WHERE t.source = 'backfill' AND (${list('t.')}) IS DISTINCT FROM (${list('excluded.')})
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM src) AS days, e.n AS existing, e.live, (SELECT count(*) FROM written) AS written FROM existing e`;
}

const WRITE_DAYS: Record<ItemKind, string> = {
  pool: writeDays('pool_daily_snapshots', 'pool_id', { tvl_usd: 'float8', apy: 'float8', apy_base: 'float8', apy_reward: 'float8', il7d: 'float8', apy_base_7d: 'float8' }),
  protocol: writeDays('protocol_daily_snapshots', 'protocol_id', { tvl: 'float8', chain_tvls: 'jsonb', section_tvls: 'jsonb' }),
};

const MARK_DONE = `
  INSERT INTO history_backfill_items AS h
    (item_kind, item_id, pass_id, run_id, status, first_date, last_date, days, rows_created, rows_updated, live_kept, failures, error, processed_at)
  VALUES ($1, $2, $3, $4, 'done', $5, $6, $7, $8, $9, $10, 0, NULL, now())
  ON CONFLICT (item_kind, item_id) DO UPDATE SET
    pass_id = excluded.pass_id, run_id = excluded.run_id, status = 'done',
    first_date = coalesce(excluded.first_date, h.first_date), last_date = coalesce(excluded.last_date, h.last_date),
    days = excluded.days, rows_created = excluded.rows_created, rows_updated = excluded.rows_updated,
    live_kept = excluded.live_kept, failures = 0, error = NULL, processed_at = now()`;

// A failure keeps the dates of the last good backfill; "failures" counts consecutive ones.
const MARK_FAILED = `
  INSERT INTO history_backfill_items AS h (item_kind, item_id, pass_id, run_id, status, failures, error, processed_at)
  VALUES ($1, $2, $3, $4, $5, 1, $6, now())
  ON CONFLICT (item_kind, item_id) DO UPDATE SET
    pass_id = excluded.pass_id, run_id = excluded.run_id, status = excluded.status,
    failures = h.failures + 1, error = excluded.error, processed_at = now()`;

export interface PassRef {
  readonly passId: number;
  readonly runId: number;
}

type WriteRow = Record<'days' | 'existing' | 'live' | 'written', number>;

export async function writeItemHistory(db: Db, item: HistoryItem, days: readonly (PoolDay | ProtocolDay)[], ref: PassRef): Promise<WriteResult> {
  return db.tx(`backfill ${item.kind} ${item.id}`, async (t) => {
    const r = days.length > 0 ? await t.one<WriteRow>(WRITE_DAYS[item.kind], [item.id, JSON.stringify(days)]) : { days: 0, existing: 0, live: 0, written: 0 };
    const created = r.days - r.existing;
    const result: WriteResult = { days: r.days, created, updated: r.written - created, liveKept: r.live, unchanged: r.existing - r.live - (r.written - created) };
    await t.none(MARK_DONE, [
      item.kind, item.id, ref.passId, ref.runId,
      days[0]?.snapshot_date ?? null, days.at(-1)?.snapshot_date ?? null,
      result.days, result.created, result.updated, result.liveKept,
    ]);
    return result;
  });
}

export async function markItemFailed(db: Db, item: HistoryItem, status: 'failed' | 'not_found', error: string, ref: PassRef): Promise<void> {
  await db.none(MARK_FAILED, [item.kind, item.id, ref.passId, ref.runId, status, error.slice(0, 2000)]);
}
