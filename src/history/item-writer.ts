/**
 * Writes one item's history and its progress row in one small transaction: a run killed at any
 * moment leaves each item either wholly written and marked done, or untouched. Backfilled rows
 * never replace a live snapshot, and unchanged backfilled rows are not rewritten.
 */
import type { Db } from '../db/connection.js';
import type { PoolDay } from './pool-history.js';
import type { ProtocolDay } from './protocol-history.js';
import type { HistoryItem } from './selection.js';

export interface WriteResult {
  readonly days: number;
  readonly created: number;
  readonly updated: number;
  /** Dates that already had a live row, left as they were. */
  readonly liveKept: number;
  /** Backfilled rows that already held the same values. */
  readonly unchanged: number;
}

// Sub-statements of one WITH see the table as it was before the insert: `existing` counts the
// rows that were there, so created = rows received - existing, updated = written - created.
const WRITE_POOL_DAYS = `
  WITH src AS (
    SELECT * FROM jsonb_to_recordset($2::jsonb)
      AS r(snapshot_date date, tvl_usd float8, apy float8, apy_base float8, apy_reward float8, il7d float8, apy_base_7d float8)
  ),
  existing AS (
    SELECT count(*) AS n, count(*) FILTER (WHERE s.source = 'live') AS live
    FROM pool_daily_snapshots s JOIN src USING (snapshot_date) WHERE s.pool_id = $1
  ),
  written AS (
    INSERT INTO pool_daily_snapshots AS t (pool_id, snapshot_date, tvl_usd, apy, apy_base, apy_reward, il7d, apy_base_7d, source)
    SELECT $1, snapshot_date, tvl_usd, apy, apy_base, apy_reward, il7d, apy_base_7d, 'backfill' FROM src
    ON CONFLICT (pool_id, snapshot_date) DO UPDATE SET
      tvl_usd = excluded.tvl_usd, apy = excluded.apy, apy_base = excluded.apy_base, apy_reward = excluded.apy_reward,
      il7d = excluded.il7d, apy_base_7d = excluded.apy_base_7d, captured_at = now()
    WHERE t.source = 'backfill'
      AND (t.tvl_usd, t.apy, t.apy_base, t.apy_reward, t.il7d, t.apy_base_7d)
          IS DISTINCT FROM (excluded.tvl_usd, excluded.apy, excluded.apy_base, excluded.apy_reward, excluded.il7d, excluded.apy_base_7d)
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM src) AS days, e.n AS existing, e.live, (SELECT count(*) FROM written) AS written FROM existing e`;

const WRITE_PROTOCOL_DAYS = `
  WITH src AS (
    SELECT * FROM jsonb_to_recordset($2::jsonb) AS r(snapshot_date date, tvl float8, chain_tvls jsonb, section_tvls jsonb)
  ),
  existing AS (
    SELECT count(*) AS n, count(*) FILTER (WHERE s.source = 'live') AS live
    FROM protocol_daily_snapshots s JOIN src USING (snapshot_date) WHERE s.protocol_id = $1
  ),
  written AS (
    INSERT INTO protocol_daily_snapshots AS t (protocol_id, snapshot_date, tvl, chain_tvls, section_tvls, source)
    SELECT $1, snapshot_date, tvl, coalesce(chain_tvls, '{}'), coalesce(section_tvls, '{}'), 'backfill' FROM src
    ON CONFLICT (protocol_id, snapshot_date) DO UPDATE SET
      tvl = excluded.tvl, chain_tvls = excluded.chain_tvls, section_tvls = excluded.section_tvls, captured_at = now()
    WHERE t.source = 'backfill'
      AND (t.tvl, t.chain_tvls, t.section_tvls) IS DISTINCT FROM (excluded.tvl, excluded.chain_tvls, excluded.section_tvls)
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM src) AS days, e.n AS existing, e.live, (SELECT count(*) FROM written) AS written FROM existing e`;

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

interface WriteRow {
  days: number;
  existing: number;
  live: number;
  written: number;
}

export async function writeItemHistory(db: Db, item: HistoryItem, days: readonly PoolDay[] | readonly ProtocolDay[], ref: PassRef): Promise<WriteResult> {
  const sql = item.kind === 'pool' ? WRITE_POOL_DAYS : WRITE_PROTOCOL_DAYS;
  return db.tx(`backfill ${item.kind} ${item.id}`, async (t) => {
    const r = days.length > 0 ? await t.one<WriteRow>(sql, [item.id, JSON.stringify(days)]) : { days: 0, existing: 0, live: 0, written: 0 };
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
