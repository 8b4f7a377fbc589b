/**
 * The job locks in-process against a real PostgreSQL: what each lock excludes, and that giving a
 * lock back (or failing to take one) leaves nothing held on the pooled connection, which a
 * long-lived process (run-all, the scheduler's own runs) reuses for its next job.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openDatabase, type Database } from '../../src/db/connection.js';
import { tryJobLock } from '../../src/db/locks.js';
import { useTestDatabase } from '../helpers/db.js';

const t = await useTestDatabase();
let pool: Database;

before(async () => {
  pool = openDatabase(t.url, 'locks-test', 6);
});
after(async () => {
  await pool?.close();
});

/** Whether any session holds the lock of a job or of a job's instance ("job/instance"). */
const held = async (key: string) => (await t.db.one<{ held: boolean }>('SELECT job_lock_held($1) AS held', [key])).held;

test('a job runs once at a time: the lock is refused while held and free again once released', async () => {
  const first = await tryJobLock(pool.db, 'probe-job');
  assert.ok(first);
  assert.equal(await held('probe-job'), true);
  assert.equal(await tryJobLock(pool.db, 'probe-job'), undefined);
  await first.release();
  assert.equal(await held('probe-job'), false, 'released on its connection, which went back to the pool');
  const next = await tryJobLock(pool.db, 'probe-job');
  assert.ok(next, 'the next run takes it');
  await next.release();
  assert.equal(await held('probe-job'), false);
});

test('shards run side by side, the same shard twice does not, and a whole run never overlaps a shard', async () => {
  const a = await tryJobLock(pool.db, 'probe-shards', '0/2');
  const b = await tryJobLock(pool.db, 'probe-shards', '1/2');
  assert.ok(a && b, 'two shards at once');
  assert.equal(await held('probe-shards/0/2'), true, 'each shard under its own key, which the status view reads');
  assert.equal(await held('probe-shards/1/2'), true);
  assert.equal(await tryJobLock(pool.db, 'probe-shards', '0/2'), undefined, 'the same shard twice');
  assert.equal(await tryJobLock(pool.db, 'probe-shards'), undefined, 'the whole job while shards run');
  await a.release();
  assert.equal(await tryJobLock(pool.db, 'probe-shards'), undefined, 'the whole job while one shard still runs');
  await b.release();
  // Neither the released shards nor the refused attempt above kept the job's shared key.
  const whole = await tryJobLock(pool.db, 'probe-shards');
  assert.ok(whole, 'the whole job once every shard has ended');
  assert.equal(await tryJobLock(pool.db, 'probe-shards', '0/2'), undefined, 'a shard while the whole job runs');
  await whole.release();
  const again = await tryJobLock(pool.db, 'probe-shards', '0/2');
  assert.ok(again, 'the refused shard did not keep the shared key either');
  await again.release();
  assert.deepEqual(await Promise.all(['probe-shards', 'probe-shards/0/2', 'probe-shards/1/2'].map(held)), [false, false, false]);
  const left = await t.db.one<{ n: number }>(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = 1684366953 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
  assert.equal(left.n, 0, 'no advisory lock of any kind is left');
});
