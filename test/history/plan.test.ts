/** What a backfill run does first: never-backfilled items, then those missing the most days, then by TVL. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openPass, planItems } from '../../src/history/progress-store.js';
import type { HistoryItem } from '../../src/history/selection.js';
import { useTestDatabase } from '../helpers/db.js';

const t = await useTestDatabase();

const item = (id: string): HistoryItem => ({ kind: 'pool', id, apiKey: id });

test('never-backfilled items first, then the most missing days, then TVL order; finished items of the pass are left out', async () => {
  const db = t.db;
  const pass = await openPass(db, 'top=5 kinds=pool shard=0/1', 1);
  const old = await openPass(db, 'an earlier scope', 1);
  await db.one(`SELECT ensure_snapshot_partitions('pool_daily_snapshots'::regclass, '2024-01-01', '2024-01-31')`);
  // Each backfilled pool's history starts 2024-01-01; "today" is 2024-01-11: 10 days expected.
  const days = (pool: string, n: number) =>
    db.none(`INSERT INTO pool_daily_snapshots (pool_id, snapshot_date, source) SELECT $1, d, 'backfill' FROM generate_series('2024-01-01'::date, '2024-01-01'::date + ($2 - 1), '1 day') d`, [pool, n]);
  const progress = (pool: string, passId: number, status: string) =>
    db.none(`INSERT INTO history_backfill_items (item_kind, item_id, pass_id, run_id, status, first_date) VALUES ('pool', $1, $2, 1, $3, '2024-01-01')`, [pool, passId, status]);
  await days('a', 10); // complete
  await progress('a', old.id, 'done');
  await days('b', 4); // 6 missing
  await progress('b', old.id, 'done');
  await days('c', 8); // 2 missing, and failed in this pass: retried
  await progress('c', pass.id, 'failed');
  await days('d', 3); // done in this pass already: skipped
  await progress('d', pass.id, 'done');
  // 'e' and 'f' never backfilled.

  const plan = await planItems(db, ['a', 'b', 'c', 'd', 'e', 'f'].map(item), pass.id, '2024-01-11', undefined);
  assert.deepEqual(plan.todo.map((i) => [i.id, i.missingDays]), [['e', null], ['f', null], ['b', 6], ['c', 2], ['a', 0]]);
  assert.equal(plan.alreadyDone, 1);

  // With a retention cutoff, days before it are not missing.
  const kept = await planItems(db, ['a', 'b'].map(item), pass.id, '2024-01-11', '2024-01-04');
  assert.deepEqual(kept.todo.map((i) => [i.id, i.missingDays]), [['b', 6], ['a', 0]]);
  const kept2 = await planItems(db, ['b'].map(item), pass.id, '2024-01-11', '2024-01-05');
  assert.deepEqual(kept2.todo.map((i) => [i.id, i.missingDays]), [['b', 6]]);
});

test('a scope has one open pass: a rerun joins it until it is finished', async () => {
  const a = await openPass(t.db, 'scope-x', 10);
  const b = await openPass(t.db, 'scope-x', 11);
  assert.equal(b.id, a.id);
  assert.deepEqual([a.resumed, b.resumed, b.runs], [false, true, 2]);
  await t.db.none('UPDATE history_backfill_passes SET finished_at = now() WHERE id = $1', [a.id]);
  const c = await openPass(t.db, 'scope-x', 12);
  assert.notEqual(c.id, a.id);
  assert.equal(c.resumed, false);
});
