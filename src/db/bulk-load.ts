/**
 * Filling an empty table fast. Inside the caller's transaction, the table's indexes (and the
 * primary-key and unique constraints no foreign key depends on) are dropped, the rows loaded,
 * and the indexes built again: one sort per index instead of maintaining each one row by row,
 * as PostgreSQL's "Populating a Database" advises. If the load fails, the transaction's rollback
 * restores them. The DROP locks the table until commit, which only delays readers of a table
 * that is still empty.
 */
import type { Queryable } from './connection.js';

/** Below this many rows, maintaining the indexes row by row costs less than the DDL. */
const BULK_LOAD_MIN_ROWS = 5000;

const DEFERRABLE = `
  SELECT 'constraint' AS kind, format('%I', c.conname) AS name,
         format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid)) AS def
  FROM pg_constraint c
  WHERE c.conrelid = $1::regclass AND c.contype IN ('p', 'u')
    AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid)
  UNION ALL
  SELECT 'index', i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
  FROM pg_index i
  WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
  ORDER BY 1, 2`;

/**
 * Runs `load` into the empty `table`: for about `rows` rows or more (BULK_LOAD_MIN_ROWS) with its
 * indexes built afterwards, for fewer with them maintained row by row.
 */
export function fillEmptyTable<T>(tx: Queryable, table: string, rows: number, load: () => Promise<T>): Promise<T> {
  return rows >= BULK_LOAD_MIN_ROWS ? withIndexesBuiltAfter(tx, table, load) : load();
}

/**
 * Runs `load` with the table's indexes dropped and rebuilds them afterwards, in the transaction
 * `tx` belongs to. `table` is a name from code, never input.
 */
async function withIndexesBuiltAfter<T>(tx: Queryable, table: string, load: () => Promise<T>): Promise<T> {
  const deferred = await tx.manyOrNone<{ kind: 'constraint' | 'index'; name: string; def: string }>(DEFERRABLE, [table]);
  const drops = deferred.map((d) => (d.kind === 'constraint' ? `ALTER TABLE ${table} DROP CONSTRAINT ${d.name}` : `DROP INDEX ${d.name}`));
  if (drops.length > 0) await tx.none(drops.join(';\n'));
  const result = await load();
  // Constraints first: their indexes are what later runs' ON CONFLICT clauses need.
  if (deferred.length > 0) await tx.none(deferred.map((d) => d.def).join(';\n'));
  return result;
}
