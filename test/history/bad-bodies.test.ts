/**
 * sync-historical when single chart or protocol bodies are unusable (cut off, an HTML page, the
 * wrong shape): that item fails with a clear reason and keeps its rows as they were, the others
 * load whole.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Fault } from '../../replica/faults.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

const t = await useTestDatabase();
let replica: TestReplica;
let env: NodeJS.ProcessEnv;

before(async () => {
  replica = await startTestReplica({ pools: 20, protocols: 10 });
  env = cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'warn', ...replica.env() });
  for (const job of ['sync-protocols', 'sync-pools']) {
    const r = await runCli([job], env);
    assert.equal(r.code, 0, r.stderr);
  }
});
after(async () => {
  await replica.close();
});

const BAD: [string, Fault, RegExp][] = [
  ['truncated', { kind: 'truncate' }, /truncated JSON body/],
  ['html', { kind: 'html' }, /HTML page instead of JSON/],
  ['wrong shape', { kind: 'wrong-shape' }, /where a JSON array was expected|instead of "success"|returned an array instead of a protocol object/],
];

for (const kind of ['pool', 'protocol'] as const) {
  test(`${kind}s: each unusable body fails its own item, written nowhere; the others load whole`, async () => {
    const table = kind === 'pool' ? 'pool_daily_snapshots' : 'protocol_daily_snapshots';
    const key = kind === 'pool' ? 'pool_id' : 'protocol_id';
    const top = await t.db.many<{ id: string; slug: string }>(
      kind === 'pool' ? `SELECT pool_id AS id, pool_id AS slug FROM pools ORDER BY tvl_usd DESC NULLS LAST, pool_id LIMIT 6` : `SELECT id, slug FROM protocols WHERE is_active ORDER BY tvl DESC NULLS LAST, id LIMIT 6`,
    );
    const bad = top.slice(0, BAD.length);
    replica.clearFaults();
    bad.forEach((item, i) => replica.setFault(kind === 'pool' ? `/chart/${item.id}` : `/protocol/${item.slug}`, BAD[i]![1]));
    // A backfilled row of a bad item that a good body would have replaced: it must stay as it is.
    const rowsOf = (id: string) => t.db.manyOrNone(`SELECT xmin::text, * FROM $1:name WHERE $2:name = $3 ORDER BY snapshot_date`, [table, key, id]);
    await t.db.one(`SELECT ensure_snapshot_partitions($1::regclass, '2025-02-20', '2025-02-20')`, [table]);
    await t.db.none(`INSERT INTO $1:name ($2:name, snapshot_date, source) VALUES ($3, '2025-02-20', 'backfill')`, [table, key, bad[0]!.id]);
    const before = await Promise.all(bad.map((b) => rowsOf(b.id)));

    try {
      const r = await runCli(['sync-historical', '--only', `${kind}s`, '--top', String(top.length), '--max-failed-share', '0.6'], env);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      replica.clearFaults();
    }
    assert.deepEqual(await Promise.all(bad.map((b) => rowsOf(b.id))), before, 'the failed items\' rows as they were');
    const items = await t.db.many(
      `SELECT item_id, status, error, days, (SELECT count(*)::int FROM $1:name s WHERE s.$2:name = h.item_id) AS rows
       FROM history_backfill_items h WHERE item_kind = $3 AND run_id = (SELECT max(id) FROM sync_jobs)`,
      [table, key, kind],
    );
    assert.equal(items.length, top.length);
    for (const item of items) {
      const i = bad.findIndex((b) => b.id === item.item_id);
      if (i >= 0) {
        assert.equal(item.status, 'failed', `${BAD[i]![0]}: ${JSON.stringify(item)}`);
        assert.match(item.error, BAD[i]![2]);
      } else {
        assert.equal(item.status, 'done');
        assert.ok(item.days > 0 && item.rows === item.days, JSON.stringify(item));
      }
    }
  });
}
