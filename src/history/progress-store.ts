/** Durable backfill progress: passes (one sweep of a scope) and what a run still has to do. Items commit in item-writer.ts. */
import type { Db } from '../db/connection.js';
import { ITEM_KINDS, type HistoryItem, type ItemKind } from './selection.js';

export interface Pass {
  readonly id: number;
  /** True when an earlier run of the same scope left this pass open. */
  readonly resumed: boolean;
  /** Runs that worked on this pass, this one included. */
  readonly runs: number;
}

// The partial unique index allows one open pass per scope; a rerun joins it.
const OPEN_PASS = `
  INSERT INTO history_backfill_passes AS p (scope, first_run_id, last_run_id)
  VALUES ($1, $2, $2)
  ON CONFLICT (scope) WHERE finished_at IS NULL
  DO UPDATE SET last_run_id = excluded.last_run_id, runs = p.runs + 1
  RETURNING id, runs`;

export async function openPass(db: Db, scope: string, runId: number): Promise<Pass> {
  const row = await db.one<{ id: number; runs: number }>(OPEN_PASS, [scope, runId]);
  return { id: row.id, resumed: row.runs > 1, runs: row.runs };
}

export async function finishPass(db: Db, passId: number): Promise<void> {
  await db.none('UPDATE history_backfill_passes SET finished_at = now() WHERE id = $1', [passId]);
}

export interface PlannedItem extends HistoryItem {
  /** Days without a row between the item's first known date and yesterday; null when never backfilled. */
  readonly missingDays: number | null;
}

export interface Plan {
  readonly todo: PlannedItem[];
  /** Items this pass already finished (done or not found upstream) in an earlier run. */
  readonly alreadyDone: number;
}

const STATE_SQL = (kind: ItemKind) => {
  const [table, key] = kind === 'pool' ? ['pool_daily_snapshots', 'pool_id'] : ['protocol_daily_snapshots', 'protocol_id'];
  // $2 today, $3 oldest date kept (null: all). Index-only counts on the snapshot primary key.
  return `
    SELECT c.id, h.pass_id, h.status,
           CASE WHEN h.first_date IS NULL THEN NULL
                ELSE greatest($2::date - greatest(h.first_date, $3::date), 0)
                   - (SELECT count(*) FROM ${table} s
                      WHERE s.${key} = c.id AND s.snapshot_date >= greatest(h.first_date, $3::date) AND s.snapshot_date < $2::date)
           END AS missing_days
    FROM unnest($1::text[]) AS c(id)
    LEFT JOIN history_backfill_items h ON h.item_kind = '${kind}' AND h.item_id = c.id`;
};

interface StateRow {
  id: string;
  pass_id: number | null;
  status: string | null;
  missing_days: number | null;
}

/** Never-backfilled items first, then those missing the most days, then by TVL; failed items are retried, finished ones not. */
export async function planItems(db: Db, items: readonly HistoryItem[], passId: number, today: string, oldestKept: string | undefined): Promise<Plan> {
  const state = new Map<string, StateRow>();
  for (const kind of ITEM_KINDS) {
    const ids = items.filter((i) => i.kind === kind).map((i) => i.id);
    if (ids.length === 0) continue;
    for (const r of await db.manyOrNone<StateRow>(STATE_SQL(kind), [ids, today, oldestKept ?? null])) state.set(`${kind}:${r.id}`, r);
  }
  const todo: PlannedItem[] = items.flatMap((item) => {
    const s = state.get(`${item.kind}:${item.id}`);
    return s?.pass_id === passId && (s.status === 'done' || s.status === 'not_found') ? [] : [{ ...item, missingDays: s?.missing_days ?? null }];
  });
  // The sort is stable: items missing as many days keep the candidates' (TVL) order.
  const weight = (i: PlannedItem) => i.missingDays ?? Number.MAX_SAFE_INTEGER;
  todo.sort((a, b) => weight(b) - weight(a));
  return { todo, alreadyDone: items.length - todo.length };
}
