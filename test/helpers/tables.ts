/**
 * Whole-database comparisons for failure tests: every row of every table (and which tables exist),
 * so "the job changed nothing" is checked on everything, not on the tables a test thought of.
 */
import type { Db } from '../../src/db/connection.js';

export type TablesSnapshot = Record<string, string[]>;

/**
 * All rows of every ordinary table and partition in public, each as JSON with its row version
 * (xmin: a rewrite of a row with equal values still shows), sorted. sync_jobs rows after `runsUpTo`
 * are left out: the failing run records itself there, which is the one write it must make.
 */
export async function snapshotTables(db: Db, runsUpTo: number): Promise<TablesSnapshot> {
  const tables = await db.map<string>(
    `SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1`,
    [],
    (r: { relname: string }) => r.relname,
  );
  const out: TablesSnapshot = {};
  for (const table of tables) {
    const where = table === 'sync_jobs' ? `WHERE id <= ${Number(runsUpTo)}` : '';
    out[table] = await db.map<string>(
      `SELECT x.xmin::text || ' ' || to_jsonb(x)::text AS r FROM $1:name x ${where} ORDER BY 1`,
      [table],
      (r: { r: string }) => r.r,
    );
  }
  return out;
}

/** The id of the newest sync_jobs row (0 when none). */
export async function lastRunId(db: Db): Promise<number> {
  return Number((await db.one<{ id: string | null }>('SELECT max(id)::text AS id FROM sync_jobs')).id ?? 0);
}

/**
 * A trigger on `table` that raises when a row matches `when` (a trigger WHEN condition over OLD/NEW),
 * standing for a failure of that statement. Returns a function that removes it.
 */
export async function failWhen(db: Db, table: string, events: 'INSERT' | 'UPDATE' | 'DELETE' | 'INSERT OR UPDATE', when: string): Promise<() => Promise<void>> {
  const name = `fail_${table}`;
  await db.none(`CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN RAISE EXCEPTION 'injected failure on %', TG_TABLE_NAME; END $f$`);
  await db.none(`CREATE TRIGGER ${name} BEFORE ${events} ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION ${name}()`);
  return async () => {
    await db.none(`DROP TRIGGER ${name} ON ${table}`);
    await db.none(`DROP FUNCTION ${name}()`);
  };
}
