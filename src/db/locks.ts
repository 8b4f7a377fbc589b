// Session-level advisory locks: one run of a job at a time across everything sharing the database.
// A lock lives as long as its connection, so a killed process releases it with its socket.
import type { Conn, Db } from './connection.js';

/** 'defi' in ASCII: the first key of every defi-sync advisory lock (see job_lock_held() in SQL). */
export const LOCK_NAMESPACE = 0x64656669;

export interface JobLock {
  readonly conn: Conn;
  release(): Promise<void>;
}

// Undefined if another session holds the lock. A shard takes the job's key shared and its own exclusively: shards run
// side by side, the same shard twice does not, and a whole-job run (exclusive on the job's key) never overlaps any shard.
export async function tryJobLock(db: Db, jobName: string, instance?: string): Promise<JobLock | undefined> {
  const conn = await db.connect();
  const own = instance === undefined ? jobName : `${jobName}/${instance}`;
  const shared = instance !== undefined;
  const take = async (sql: string, key: string) => (await conn.one<{ locked: boolean }>(sql, [LOCK_NAMESPACE, key])).locked;
  try {
    if (shared && !(await take('SELECT pg_try_advisory_lock_shared($1, hashtext($2)) AS locked', jobName))) {
      conn.done();
      return undefined;
    }
    if (!(await take('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', own))) {
      if (shared) await conn.one('SELECT pg_advisory_unlock_shared($1, hashtext($2))', [LOCK_NAMESPACE, jobName]);
      conn.done();
      return undefined;
    }
  } catch (error) {
    // The connection may still hold a lock: destroy it rather than return it to the pool.
    conn.done(true);
    throw error;
  }
  let released = false;
  return {
    conn,
    async release() {
      if (released) return;
      released = true;
      try {
        await conn.one('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, own]);
        if (shared) await conn.one('SELECT pg_advisory_unlock_shared($1, hashtext($2))', [LOCK_NAMESPACE, jobName]);
      } finally {
        conn.done();
      }
    },
  };
}
