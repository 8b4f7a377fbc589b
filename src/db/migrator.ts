// Migrations run under an advisory lock (two upgrades can overlap), each in its own transaction.
import { DefiSyncError, SchemaVersionError } from '../errors.js';
import { logger } from '../logger.js';
import { VERSION } from '../version.js';
import { withConnection, type Conn, type Db } from './connection.js';
import { loadMigrations, MIGRATIONS_TABLE_SQL, MIGRATIONS_TABLE_UPGRADE_SQL, type Migration } from './migrations.js';
import { LOCK_NAMESPACE } from './locks.js';

export interface MigrateOptions {
  /** How long one attempt may wait for a lock (lock_timeout). */
  readonly lockTimeoutMs?: number;
  /** Attempts per migration before giving up. */
  readonly attempts?: number;
  /** Wait before the second attempt; doubles each time, at most MAX_BACKOFF_MS. */
  readonly firstBackoffMs?: number;
}

const DEFAULTS = { lockTimeoutMs: 5_000, attempts: 10, firstBackoffMs: 1_000 };
const MAX_BACKOFF_MS = 30_000;
/** lock_not_available: lock_timeout expired. */
const LOCK_NOT_AVAILABLE = '55P03';

export interface MigrationResult {
  readonly applied: readonly { version: number; name: string }[];
  readonly version: number;
}

type AppliedRow = { version: number; name: string; checksum: string };

export async function migrate(db: Db, migrations: readonly Migration[] = loadMigrations(), options: MigrateOptions = {}): Promise<MigrationResult> {
  const opts = { ...DEFAULTS, ...options };
  return withConnection(db, async (conn) => {
    await conn.one('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_NAMESPACE, 'defi-sync:migrate']);
    try {
      await conn.none(MIGRATIONS_TABLE_SQL);
      await conn.none(MIGRATIONS_TABLE_UPGRADE_SQL);
      const applied = await conn.manyOrNone<AppliedRow>('SELECT version, name, checksum FROM schema_migrations ORDER BY version');
      verifyApplied(applied, migrations);
      await acceptNewer(conn, migrations);
      const done = new Set(applied.map((r) => r.version));
      const result: { version: number; name: string }[] = [];
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        const t0 = performance.now();
        await applyOne(conn, m, opts);
        logger().info({ version: m.version, name: m.name, ms: Math.round(performance.now() - t0) }, 'migration applied');
        result.push({ version: m.version, name: m.name });
      }
      return { applied: result, version: Math.max(migrations.at(-1)?.version ?? 0, applied.at(-1)?.version ?? 0) };
    } finally {
      await conn.one('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, 'defi-sync:migrate']);
    }
  });
}

// Waits at most lock_timeout, then retries: a migration queued behind a running sync would make every reader queue behind it.
async function applyOne(conn: Conn, m: Migration, opts: Required<MigrateOptions>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await conn.tx(async (t) => {
        await t.one("SELECT set_config('lock_timeout', $1, true)", [`${opts.lockTimeoutMs}ms`]);
        await t.none(m.sql);
        await t.none('INSERT INTO schema_migrations (version, name, checksum, backward_compatible, applied_by) VALUES ($1, $2, $3, $4, $5)', [
          m.version, m.name, m.checksum, m.backwardCompatible, VERSION,
        ]);
      });
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw error;
      const file = `${String(m.version).padStart(4, '0')}_${m.name}`;
      if (attempt >= opts.attempts) {
        throw new DefiSyncError(
          `migration ${file} could not take the locks it needs in ${opts.attempts} attempts of ${opts.lockTimeoutMs} ms: another session (a running job?) holds a lock on a table it changes; this migration was not applied, run "defi-sync migrate" again when that session has finished`,
          { cause: error },
        );
      }
      const waitMs = Math.min(opts.firstBackoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      logger().warn({ migration: file, attempt, waitMs }, 'migration waited too long for a lock held by another session; retrying');
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

function verifyApplied(applied: readonly AppliedRow[], migrations: readonly Migration[]): void {
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

/** Jobs refuse to run on a schema that does not match this build (see acceptNewer for a newer one). */
export async function requireCurrentSchema(db: Db, migrations: readonly Migration[] = loadMigrations()): Promise<void> {
  const current = await schemaVersion(db);
  const latest = migrations.at(-1)?.version ?? 0;
  if (current === latest) return;
  if (current > latest) return acceptNewer(db, migrations);
  throw new SchemaVersionError(`the database schema is at version ${current}, this defi-sync needs ${latest}: run "defi-sync migrate" first`);
}

// After a rollback, a schema migrated by a newer build is accepted if every migration unknown here is backward-compatible.
async function acceptNewer(db: Pick<Db, 'manyOrNone'>, migrations: readonly Migration[]): Promise<void> {
  const latest = migrations.at(-1)?.version ?? 0;
  // to_jsonb: a table made by a build before these columns existed has no such columns.
  const unknown = await db.manyOrNone<{ version: number; name: string; compatible: boolean; applied_by: string | null }>(
    `SELECT version, name, coalesce((to_jsonb(m) ->> 'backward_compatible')::boolean, false) AS compatible, to_jsonb(m) ->> 'applied_by' AS applied_by
     FROM schema_migrations m WHERE version > $1 ORDER BY version`,
    [latest],
  );
  if (!unknown.length) return;
  const newest = unknown.at(-1)!;
  const breaking = unknown.find((m) => !m.compatible);
  if (breaking) {
    const build = unknown.map((m) => m.applied_by).filter(Boolean).at(-1);
    throw new SchemaVersionError(
      `the database schema is at version ${newest.version} but this defi-sync only knows up to ${latest}, and migration ${String(breaking.version).padStart(4, '0')}_${breaking.name} is not backward-compatible: run a defi-sync that knows schema version ${newest.version}${build ? ` (defi-sync ${build} or newer)` : ''}`,
    );
  }
  logger().warn(
    { schemaVersion: newest.version, knownVersion: latest },
    `the database schema is at version ${newest.version}, newer than this defi-sync knows (${latest}); the newer migrations are backward-compatible, so it runs on it`,
  );
}

/** When the warehouse was first set up: the time migration 1 was applied. */
export async function installedAt(db: Db): Promise<Date | undefined> {
  if ((await schemaVersion(db)) === 0) return undefined;
  const row = await db.oneOrNone<{ applied_at: Date }>('SELECT applied_at FROM schema_migrations WHERE version = 1');
  return row?.applied_at;
}
