/** A comparable description of a database's schema: tables, columns, constraints, indexes, views, functions. */
import type { Db } from '../../src/db/connection.js';

export async function catalogSnapshot(db: Db): Promise<Record<string, string[]>> {
  const q = async (sql: string) => (await db.manyOrNone<{ x: string }>(sql)).map((r) => r.x);
  return {
    tables: await q(`SELECT c.relname || ':' || c.relkind::text AS x FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1`),
    columns: await q(`SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS x
                      FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1`),
    constraints: await q(`SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) AS x FROM pg_constraint
                          WHERE connamespace = 'public'::regnamespace ORDER BY 1`),
    indexes: await q(`SELECT indexdef AS x FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`),
    views: await q(`SELECT viewname || ': ' || definition AS x FROM pg_views WHERE schemaname = 'public' ORDER BY 1`),
    functions: await q(`SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS x FROM pg_proc p
                        WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1`),
    migrations: await q(`SELECT version || ' ' || name || ' ' || checksum AS x FROM schema_migrations ORDER BY version`),
  };
}
