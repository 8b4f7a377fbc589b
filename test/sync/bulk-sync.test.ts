/**
 * The bulk write path on a real PostgreSQL: one transaction, no rewrite of unchanged rows, the
 * guard. (test/integrity/last-statement-syncs.test.ts makes the same failure through the CLI.)
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import pino from 'pino';
import { bulkSync, defineSyncTable, rowObject, type BulkSyncOptions, type RecordSource } from '../../src/db/bulk-sync.js';
import { apiPoolSchema, type ApiPool, type ApiProtocol } from '../../src/defillama/schemas.js';
import { RecordBatch } from '../../src/defillama/validate.js';
import { CancelledError, GuardError } from '../../src/errors.js';
import { logger } from '../../src/logger.js';
import { POOLS_TABLE } from '../../src/sync/pool-rows.js';
import { PROTOCOLS_TABLE } from '../../src/sync/protocol-rows.js';
import { useTestDatabase } from '../helpers/db.js';
import { failWhen, lastRunId, snapshotTables } from '../helpers/tables.js';

const database = await useTestDatabase();
beforeEach(async () => {
  await database.db.none('TRUNCATE pools, sync_jobs');
});

const uuid = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function pool(i: number, extra: Partial<ApiPool> = {}): ApiPool {
  return {
    pool: uuid(i),
    chain: i % 2 ? 'Ethereum' : 'Arbitrum',
    project: `project-${i % 7}`,
    symbol: `TOK${i}`,
    tvlUsd: 1000 + i,
    apy: i / 10,
    rewardTokens: i % 3 ? null : ['0xAbC0000000000000000000000000000000000001'],
    underlyingTokens: ['0x0000000000000000000000000000000000000000'],
    predictions: { predictedClass: 'Stable/Up', predictedProbability: 70, binnedConfidence: 2 },
    count: i,
    ...extra,
  } as ApiPool;
}
const pools = (n: number, from = 1) => Array.from({ length: n }, (_, k) => pool(from + k));

/** A debug logger whose lines the test reads back. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

const options = (extra: Partial<BulkSyncOptions> = {}): BulkSyncOptions => ({ log: logger(), maxDeactivateShare: 0.5, ...extra });

/** Every row with its row version (xmin, ctid) and timestamps: equal snapshots mean nothing was written. */
async function snapshot() {
  return database.db.manyOrNone<Record<string, unknown>>(
    `SELECT pool_id, xmin::text AS xmin, ctid::text AS ctid, is_active, tvl_usd, updated_at, last_seen_at, first_seen_at FROM pools ORDER BY pool_id`,
  );
}

/** Records a successful run of sync-pools that started now; returns its start time. */
async function succeeded(): Promise<Date> {
  const row = await database.db.one<{ started_at: Date }>(
    `INSERT INTO sync_jobs (job_name, status, trigger, finished_at) VALUES ('sync-pools', 'succeeded', 'manual', clock_timestamp()) RETURNING started_at`,
  );
  return row.started_at;
}

test('first load inserts every record as active, with typed columns and the raw record', async () => {
  const result = await bulkSync(database.db, POOLS_TABLE, pools(50), options());
  assert.deepEqual(
    { created: result.created, updated: result.updated, unchanged: result.unchanged, deactivated: result.deactivated, duplicates: result.duplicates },
    { created: 50, updated: 0, unchanged: 0, deactivated: 0, duplicates: 0 },
  );
  const row = await database.db.one(`SELECT * FROM pools WHERE pool_id = $1`, [uuid(3)]);
  assert.equal(row.chain, 'Ethereum');
  assert.equal(row.tvl_usd, 1003);
  assert.deepEqual(row.reward_tokens, ['0xAbC0000000000000000000000000000000000001']);
  assert.equal(row.is_active, true);
  assert.ok(row.last_seen_at instanceof Date);
  assert.equal(row.raw.symbol, 'TOK3');
  assert.equal((await database.db.one('SELECT count(*) AS n FROM pools WHERE is_active')).n, 50);
});

test('a rerun with unchanged data writes no new row versions and locks no row', async () => {
  await bulkSync(database.db, POOLS_TABLE, pools(50), options());
  const before = await snapshot();
  const result = await bulkSync(database.db, POOLS_TABLE, pools(50), options());
  assert.deepEqual([result.created, result.updated, result.unchanged, result.deactivated], [0, 0, 50, 0]);
  assert.deepEqual(await snapshot(), before);
  // A row lock leaves its transaction's id in xmax (and dirties the page).
  assert.equal((await database.db.one(`SELECT count(*)::int AS n FROM pools WHERE xmax <> '0'`)).n, 0);
});

test('every record is compared column by column: only a row that differs gets a new row version, even one edited by hand', async () => {
  /** The pools whose row version is not the one in `before`. */
  const rewritten = async (before: Record<string, unknown>[]) => {
    const xmin = new Map(before.map((r) => [r.pool_id, r.xmin]));
    return (await snapshot()).filter((r) => r.xmin !== xmin.get(r.pool_id)).map((r) => r.pool_id);
  };
  const records = [...pools(29), pool(30, { apy: 99 })];
  await bulkSync(database.db, POOLS_TABLE, pools(30), options());
  const loaded = await snapshot();
  const changed = await bulkSync(database.db, POOLS_TABLE, records, options());
  assert.deepEqual([changed.created, changed.updated, changed.unchanged], [0, 1, 29]);
  assert.deepEqual(await rewritten(loaded), [uuid(30)]);

  // Its source record is as before, but the row no longer matches it: the next run corrects it.
  await database.db.none('UPDATE pools SET tvl_usd = 0 WHERE pool_id = $1', [uuid(7)]);
  const edited = await snapshot();
  const corrected = await bulkSync(database.db, POOLS_TABLE, records, options());
  assert.deepEqual([corrected.created, corrected.updated, corrected.unchanged], [0, 1, 29]);
  assert.deepEqual(await rewritten(edited), [uuid(7)]);
  assert.equal((await database.db.one('SELECT tvl_usd FROM pools WHERE pool_id = $1', [uuid(7)])).tvl_usd, 1007);
});

test('changed, new and vanished records: updated, created, deactivated with the last time they were seen', async () => {
  await bulkSync(database.db, POOLS_TABLE, pools(10), options());
  const lastRun = await succeeded();
  const before = new Map((await snapshot()).map((r) => [r.pool_id, r]));

  // Pool 1 vanishes, pools 2 and 3 change, pool 11 is new, the rest is as before.
  const next = [pool(2, { tvlUsd: 5 }), pool(3, { poolMeta: 'V3 market' }), ...pools(7, 4), pool(11)];
  const result = await bulkSync(database.db, POOLS_TABLE, next, options());
  assert.deepEqual([result.created, result.updated, result.unchanged, result.deactivated], [1, 2, 7, 1]);

  const after = new Map((await snapshot()).map((r) => [r.pool_id, r]));
  const gone = after.get(uuid(1))!;
  assert.equal(gone.is_active, false);
  assert.deepEqual(gone.last_seen_at, lastRun, 'last seen = the last successful run before this one');
  assert.equal(after.get(uuid(2))!.tvl_usd, 5);
  assert.notEqual(after.get(uuid(2))!.xmin, before.get(uuid(2))!.xmin);
  assert.ok((after.get(uuid(2))!.updated_at as Date) > (before.get(uuid(2))!.updated_at as Date));
  for (let i = 4; i <= 10; i++) assert.deepEqual(after.get(uuid(i)), before.get(uuid(i)), `pool ${i} untouched`);
  assert.equal(after.get(uuid(11))!.is_active, true);
  const row3 = await database.db.one('SELECT pool_meta FROM pools WHERE pool_id = $1', [uuid(3)]);
  assert.equal(row3.pool_meta, 'V3 market');

  // Rows are never deleted; a vanished record that comes back is reactivated, first seen kept.
  await succeeded();
  const back = await bulkSync(database.db, POOLS_TABLE, [...next, pool(1)], options());
  assert.deepEqual([back.created, back.updated, back.unchanged, back.deactivated], [0, 1, 10, 0]);
  const returned = await database.db.one('SELECT is_active, first_seen_at FROM pools WHERE pool_id = $1', [uuid(1)]);
  assert.equal(returned.is_active, true);
  assert.deepEqual(returned.first_seen_at, before.get(uuid(1))!.first_seen_at);
});

test('v_pools derives "last seen" of active rows from the last successful run, and keeps it for inactive ones', async () => {
  await bulkSync(database.db, POOLS_TABLE, pools(3), options());
  const first = await succeeded();
  await bulkSync(database.db, POOLS_TABLE, pools(2), options());
  const second = await succeeded();
  const rows = await database.db.manyOrNone('SELECT pool_id, is_active, last_seen_at FROM v_pools ORDER BY pool_id');
  assert.deepEqual(
    rows.map((r) => [r.pool_id, r.is_active, r.last_seen_at.toISOString()]),
    [
      [uuid(1), true, second.toISOString()],
      [uuid(2), true, second.toISOString()],
      [uuid(3), false, first.toISOString()],
    ],
  );
  const stored = await database.db.one('SELECT last_seen_at FROM pools WHERE pool_id = $1', [uuid(1)]);
  assert.ok(stored.last_seen_at < first, 'the stored time of an unchanged active row is not rewritten');
});

test('records sent twice in one response are loaded once, the last one winning, and counted', async () => {
  const result = await bulkSync(database.db, POOLS_TABLE, [pool(1, { tvlUsd: 1 }), pool(2), pool(1, { tvlUsd: 2 }), pool(1, { tvlUsd: 3 })], options());
  assert.deepEqual([result.received, result.distinct, result.duplicates, result.created], [4, 2, 2, 2]);
  assert.equal((await database.db.one('SELECT tvl_usd FROM pools WHERE pool_id = $1', [uuid(1)])).tvl_usd, 3);
});

test('rows whose record was rejected upstream are kept as they are, not deactivated', async () => {
  await bulkSync(database.db, POOLS_TABLE, pools(4), options());
  const before = await snapshot();
  const result = await bulkSync(database.db, POOLS_TABLE, pools(3), options({ keepKeys: () => [uuid(4), 'not-a-known-key'] }));
  assert.deepEqual([result.created, result.updated, result.unchanged, result.deactivated, result.kept], [0, 0, 3, 0, 1]);
  assert.deepEqual(await snapshot(), before);
  assert.equal((await database.db.one('SELECT count(*) AS n FROM pools')).n, 4, 'a kept key is never inserted');
});

test('a protocol rejected upstream is kept by its slug (the name the client gives it)', async () => {
  const protocol = (id: number, extra: Partial<ApiProtocol> = {}) => ({ id: String(id), slug: `p-${id}`, name: `P ${id}`, tvl: id, chains: ['Ethereum'], chainTvls: { Ethereum: id }, ...extra }) as ApiProtocol;
  await database.db.none('TRUNCATE protocols');
  await bulkSync(database.db, PROTOCOLS_TABLE, [protocol(1), protocol(2), protocol(3)], options());
  const result = await bulkSync(database.db, PROTOCOLS_TABLE, [protocol(1, { tvl: 10 }), protocol(2)], options({ keepKeys: () => ['p-3'] }));
  assert.deepEqual([result.updated, result.unchanged, result.deactivated, result.kept], [1, 1, 0, 1]);
  const without = await bulkSync(database.db, PROTOCOLS_TABLE, [protocol(1, { tvl: 10 }), protocol(2)], options());
  assert.equal(without.deactivated, 1);
  assert.deepEqual(await database.db.map('SELECT id FROM protocols WHERE NOT is_active', [], (r: { id: string }) => r.id), ['3']);
});

test('the guard refuses to deactivate more than the configured share and changes nothing; force applies it', async () => {
  await bulkSync(database.db, POOLS_TABLE, pools(10), options());
  const before = await snapshot();
  // 6 of 10 missing (60% > 50%), plus a change and a new record that must not be applied either.
  const truncated = [pool(1, { tvlUsd: 9 }), ...pools(3, 2), pool(99)];
  await assert.rejects(bulkSync(database.db, POOLS_TABLE, truncated, options()), (error: unknown) => {
    assert.ok(error instanceof GuardError);
    assert.equal(
      error.message,
      'sync-pools refused to deactivate 6 of 10 active pools (60.0%): more than MAX_DEACTIVATE_SHARE=0.5 of the active rows are missing from the source, ' +
        'which looks like a truncated response; nothing was changed. Rerun with --force if the source really dropped them.',
    );
    return true;
  });
  assert.deepEqual(await snapshot(), before);
  // Exactly at the limit is allowed.
  const half = await bulkSync(database.db, POOLS_TABLE, pools(5), options({ maxDeactivateShare: 0.5 }));
  assert.equal(half.deactivated, 5);
  // An empty response would deactivate everything.
  await assert.rejects(bulkSync(database.db, POOLS_TABLE, [], options()), GuardError);
  const { log, lines } = capture();
  const forced = await bulkSync(database.db, POOLS_TABLE, [], options({ force: true, log }));
  assert.equal(forced.deactivated, 5);
  const warned = lines.filter((l) => l.level === 40);
  assert.deepEqual(warned.map((l) => [l.msg, l.deactivated, l.activeBefore]), [['--force: deactivating 5 of 5 active pools (100.0%)', 5, 5]]);
  assert.equal((await database.db.one('SELECT count(*) AS n FROM pools WHERE is_active')).n, 0);
  assert.equal((await database.db.one('SELECT count(*) AS n FROM pools')).n, 10, 'never deleted');
});

test('records a validating source rejects are neither counted nor written; their rows are kept by key', async () => {
  await bulkSync(database.db, POOLS_TABLE, pools(3), options());
  const before = await snapshot();
  const all = [pool(1), pool(2, { tvlUsd: 7 }), pool(3)];
  const source: RecordSource<ReturnType<typeof pool>> = { length: 3, at: (i) => (i === 1 ? undefined : all[i]) };
  const result = await bulkSync(database.db, POOLS_TABLE, source, options({ keepKeys: () => [uuid(2)] }));
  assert.deepEqual([result.received, result.distinct, result.updated, result.unchanged, result.kept, result.deactivated], [2, 2, 0, 2, 1, 0]);
  assert.deepEqual(await snapshot(), before);

  // The client's validating source: each record read once, so it rejects exactly the malformed one.
  const batch = new RecordBatch<ApiPool>([pool(1), { ...pool(2), tvlUsd: 'many' }, pool(3)], apiPoolSchema, (r) => (r as ApiPool | undefined)?.pool);
  const validated = await bulkSync(database.db, POOLS_TABLE, batch, options({ keepKeys: () => batch.rejected.map((r) => r.key!) }));
  assert.deepEqual([validated.received, validated.kept, validated.deactivated], [2, 1, 0]);
  assert.deepEqual(batch.rejected.map((r) => [r.index, r.key]), [[1, uuid(2)]]);
});

test('one timing per phase, adding up to no more than the call took; a debug line once committed', async () => {
  const { log, lines } = capture();
  const t0 = performance.now();
  const result = await bulkSync(database.db, POOLS_TABLE, pools(5), options({ log }));
  const took = performance.now() - t0;
  assert.deepEqual(Object.keys(result.timings), ['active', 'copy', 'merge', 'deactivate', 'commit']);
  const sum = Object.values(result.timings).reduce((a, b) => a + b, 0);
  assert.ok(Object.values(result.timings).every((ms) => ms >= 0) && sum <= took + 5, `${JSON.stringify(result.timings)} in ${took} ms`);
  const committed = lines.filter((l) => l.msg === 'bulk sync committed');
  assert.deepEqual(committed.map((l) => [l.level, l.table, l.created, l.received]), [[20, 'pools', 5, 5]]);
});

test('a table whose rejectedKeyColumn is not one of its columns is refused, naming both', async () => {
  const spec = defineSyncTable({ ...POOLS_TABLE, rejectedKeyColumn: 'slug' });
  await assert.rejects(bulkSync(database.db, spec, pools(1), options()), /^Error: pools: rejectedKeyColumn slug is not one of its columns$/);
  assert.deepEqual(rowObject(POOLS_TABLE, pool(4)).pool_id, uuid(4));
  assert.deepEqual(Object.keys(rowObject(POOLS_TABLE, pool(4))), POOLS_TABLE.columns.map((c) => c.name));
});

test('a failure of the last statement (the deactivating UPDATE, after the merge) leaves every table as it was', async () => {
  await bulkSync(database.db, POOLS_TABLE, pools(10), options());
  await succeeded();
  const runs = await lastRunId(database.db);
  const before = await snapshotTables(database.db, runs);
  // Pool 1 vanishes, pool 2 changes, pool 11 is new.
  const next = [pool(2, { tvlUsd: 5 }), ...pools(8, 3), pool(11)];
  const restore = await failWhen(database.db, 'pools', 'UPDATE', 'OLD.is_active AND NOT NEW.is_active');
  try {
    await assert.rejects(bulkSync(database.db, POOLS_TABLE, next, options()), /injected failure on pools/);
  } finally {
    await restore();
  }
  assert.deepEqual(await snapshotTables(database.db, runs), before, 'every table as before');
  const ok = await bulkSync(database.db, POOLS_TABLE, next, options());
  assert.deepEqual([ok.created, ok.updated, ok.unchanged, ok.deactivated], [1, 1, 8, 1], 'the merge had written before the failure');
});

test('a cancelled statement mid-transaction rolls everything back and leaves the pool usable', async () => {
  await bulkSync(database.db, POOLS_TABLE, pools(20), options());
  const before = await snapshot();
  // Hold a lock that the merge must wait for, so the write is caught in the middle of its transaction.
  const blocker = await database.db.connect();
  await blocker.none('BEGIN');
  await blocker.none('LOCK TABLE pools IN SHARE MODE');
  const running = bulkSync(database.db, POOLS_TABLE, [pool(1, { tvlUsd: 0 }), ...pools(20, 2), pool(500)], options());
  const outcome = running.then(
    () => 'committed',
    (error: unknown) => error,
  );
  let pid: number | undefined;
  for (let i = 0; i < 200 && pid === undefined; i++) {
    const waiting = await database.db.oneOrNone<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND state = 'active' LIMIT 1`,
    );
    pid = waiting?.pid;
    if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(pid, 'the write reached the lock wait');
  await database.db.one('SELECT pg_cancel_backend($1)', [pid]);
  const error = await outcome;
  await blocker.none('ROLLBACK');
  blocker.done();
  assert.ok(error instanceof Error && /cancel/i.test(error.message), String(error));
  assert.deepEqual(await snapshot(), before);
  // The connection went back to the pool in a clean state: the next run works.
  const again = await bulkSync(database.db, POOLS_TABLE, pools(20), options());
  assert.equal(again.unchanged, 20);
});

test('an aborted signal stops the write before it commits', async () => {
  await bulkSync(database.db, POOLS_TABLE, pools(5), options());
  const before = await snapshot();
  const controller = new AbortController();
  controller.abort(new CancelledError('received SIGTERM'));
  await assert.rejects(bulkSync(database.db, POOLS_TABLE, pools(8), options({ signal: controller.signal })), CancelledError);
  assert.deepEqual(await snapshot(), before);
});
