/**
 * Applies migrations under a Postgres advisory lock (two upgrades can overlap), each in its own
 * transaction, recorded in schema_migrations. Refuses a database newer than this build.
 */
import { SchemaVersionError } from '../errors.js';
import { logger } from '../logger.js';
import { withConnection, type Db } from './connection.js';
import { loadMigrations, MIGRATIONS_TABLE_SQL, type Migration } from './migrations.js';
import { LOCK_NAMESPACE } from './locks.js';

export interface MigrationResult {
  readonly applied: readonly { version: number; name: string }[];
  readonly version: number;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

export async function migrate(db: Db, migrations: readonly Migration[] = loadMigrations()): Promise<MigrationResult> {
  return withConnection(db, async (conn) => {
    await conn.one('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_NAMESPACE, 'defi-sync:migrate']);
    try {
      await conn.none(MIGRATIONS_TABLE_SQL);
      const applied = await conn.manyOrNone<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
      verifyApplied(applied, migrations);
      const done = new Set(applied.map((r) => r.version));
      const result: { version: number; name: string }[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        const t0 = performance.now();
        await conn.tx(async (t) => {
          await t.none(m.sql);
          await t.none('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
        });
        logger().info({ version: m.version, name: m.name, ms: Math.round(performance.now() - t0) }, 'migration applied');
        result.push({ version: m.version, name: m.name });
      }
      return { applied: result, version: migrations.at(-1)?.version ?? 0 };
    } finally {
      await conn.one('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, 'defi-sync:migrate']);
    }
  });
}

function verifyApplied(applied: readonly AppliedRow[], migrations: readonly Migration[]): void {
  const latest = migrations.at(-1)?.version ?? 0;
  const newest = applied.at(-1)?.version ?? 0;
  if (newest > latest) {
    throw new SchemaVersionError(
      `the database schema is at version ${newest} but this defi-sync only knows up to ${latest}: upgrade defi-sync instead of running an older build against it`,
    );
  }
  for (const row of applied) {
    const m = migrations[row.version - 1];
    if (m && m.checksum !== row.checksum) {
      throw new SchemaVersionError(
        `migration ${String(row.version).padStart(4, '0')}_${row.name} was changed after it was applied to this database (checksum differs)`,
      );
    }
  }
}

/** The schema version recorded in the database (0 when never migrated). */
export async function schemaVersion(db: Db): Promise<number> {
  const exists = await db.one<{ t: string | null }>("SELECT to_regclass('schema_migrations')::text AS t");
  if (!exists.t) return 0;
  const row = await db.one<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
  return row.v ?? 0;
}

/** Jobs refuse to run on a schema that does not match this build. */
export async function requireCurrentSchema(db: Db, migrations: readonly Migration[] = loadMigrations()): Promise<void> {
  const current = await schemaVersion(db);
  const latest = migrations.at(-1)?.version ?? 0;
  if (current === latest) return;
  if (current > latest) {
    throw new SchemaVersionError(`the database schema is at version ${current} but this defi-sync only knows up to ${latest}: upgrade defi-sync`);
  }
  throw new SchemaVersionError(`the database schema is at version ${current}, this defi-sync needs ${latest}: run "defi-sync migrate" first`);
}

/** When the warehouse was first set up: the time migration 1 was applied. */
export async function installedAt(db: Db): Promise<Date | undefined> {
  if ((await schemaVersion(db)) === 0) return undefined;
  const row = await db.oneOrNone<{ applied_at: Date }>('SELECT applied_at FROM schema_migrations WHERE version = 1');
  return row?.applied_at;
}
