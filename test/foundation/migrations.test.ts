import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../../src/db/migrator.js';
import { loadMigrations, type Migration } from '../../src/db/migrations.js';
import { DefiSyncError, exitCodeFor } from '../../src/errors.js';
import { VERSION } from '../../src/version.js';
import { renderSchema } from '../../scripts/build-schema.js';
import { readFileSync } from 'node:fs';
import { catalogSnapshot } from '../helpers/catalog.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { createTestDatabase, useTestDatabase } from '../helpers/db.js';

const REQUIRED_TABLES = ['chains', 'protocols', 'pools', 'contract_mappings', 'pool_daily_snapshots', 'protocol_daily_snapshots', 'sync_jobs'];
const REQUIRED_VIEWS = ['v_sync_status', 'v_top_pools_with_contracts', 'v_protocol_summary'];

const migrated = await useTestDatabase({ migrated: false });
const viaPsql = await useTestDatabase({ migrated: false });
const empty = await useTestDatabase({ migrated: false });

test('migrate applies every migration once, then is a no-op that changes nothing', async () => {
  const first = await migrate(migrated.db);
  assert.equal(first.applied.length, loadMigrations().length);
  const before = await catalogSnapshot(migrated.db);
  const second = await migrate(migrated.db);
  assert.deepEqual(second.applied, []);
  assert.deepEqual(await catalogSnapshot(migrated.db), before);
  for (const t of REQUIRED_TABLES) assert.ok(before.tables!.some((x) => x.startsWith(`${t}:`)), `table ${t}`);
  for (const v of REQUIRED_VIEWS) assert.ok(before.tables!.includes(`${v}:v`), `view ${v}`);
});

test('database/schema.sql is generated from the migrations and up to date', () => {
  assert.equal(readFileSync('database/schema.sql', 'utf8'), renderSchema());
});

test('psql -f database/schema.sql yields the same schema as migrate, and migrate then has nothing to do', async () => {
  execFileSync('psql', ['-X', '-q', '-d', viaPsql.url, '-f', 'database/schema.sql'], { stdio: 'pipe' });
  if ((await migrate(migrated.db)).applied.length) assert.fail('migrated database was not migrated');
  assert.deepEqual(await catalogSnapshot(viaPsql.db), await catalogSnapshot(migrated.db));
  assert.deepEqual((await migrate(viaPsql.db)).applied, []);
});

test('concurrent migrate runs serialise on the advisory lock and apply each migration once', async () => {
  const env = cliEnv({ DATABASE_URL: empty.url });
  const results = await Promise.all([runCli(['migrate'], env), runCli(['migrate'], env), runCli(['migrate'], env)]);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const rows = await empty.db.many('SELECT version FROM schema_migrations');
  assert.equal(rows.length, loadMigrations().length);
  assert.equal(results.filter((r) => r.stdout.includes('applied')).length, 1);
});

test('a database newer than this build is refused with exit code 2 and left alone', async () => {
  const db = await createTestDatabase();
  try {
    await db.db.none(`INSERT INTO schema_migrations (version, name, checksum) VALUES (999, 'from_the_future', 'x')`);
    const env = cliEnv({ DATABASE_URL: db.url });
    const m = await runCli(['migrate'], env);
    assert.equal(m.code, 2);
    assert.match(m.stderr, /schema is at version 999 but this defi-sync only knows up to \d+/);
    const s = await runCli(['status'], env);
    assert.equal(s.code, 2);
    assert.equal((await db.db.one<{ n: number }>('SELECT count(*) AS n FROM schema_migrations')).n, loadMigrations().length + 1);
  } finally {
    await db.drop();
  }
});

test('jobs refuse an external database that was never migrated, naming the fix', async () => {
  const db = await createTestDatabase({ migrated: false });
  try {
    const r = await runCli(['status'], cliEnv({ DATABASE_URL: db.url }));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /run "defi-sync migrate" first/);
  } finally {
    await db.drop();
  }
});

/** A migration after this build's last one that alters a table a running sync reads. */
function nextMigration(): Migration {
  const version = loadMigrations().length + 1;
  return { version, name: 'add_probe_column', sql: 'ALTER TABLE chains ADD COLUMN probe integer;', checksum: 'probe', backwardCompatible: true };
}

/** A session that holds a lock on chains, as a running sync's open transaction does. */
async function holdChains(url: string): Promise<() => Promise<void>> {
  const holder = new pg.Client({ connectionString: url, application_name: 'running-sync' });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('SELECT count(*) FROM chains');
  return async () => {
    await holder.query('ROLLBACK');
    await holder.end();
  };
}

test('a migration behind a running sync backs off and retries instead of queueing, readers are never blocked, and it applies once the lock is free', async () => {
  const db = await createTestDatabase();
  let release: (() => Promise<void>) | undefined = await holdChains(db.url);
  try {
    const next = nextMigration();
    let settled = false;
    const migrating = migrate(db.db, [...loadMigrations(), next], { lockTimeoutMs: 200, attempts: 1000, firstBackoffMs: 20 }).finally(() => (settled = true));
    migrating.catch(() => undefined);
    // Each attempt is a new statement (a new query_start) waiting for the lock.
    const attempts = new Set<string>();
    for (let i = 0; i < 4000 && attempts.size < 3; i++) {
      const w = await db.db.oneOrNone<{ started: string }>(
        `SELECT query_start::text AS started FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE chains ADD COLUMN probe%' AND wait_event_type = 'Lock'`,
      );
      if (w) attempts.add(w.started);
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(attempts.size >= 3, 'the migration gave up its lock request and asked again');
    // Readers of the table go on: with a queued ALTER they would wait behind it until the sync ended.
    const reader = new pg.Client({ connectionString: db.url, statement_timeout: 3000 });
    await reader.connect();
    try {
      for (let i = 0; i < 5; i++) await reader.query('SELECT count(*) FROM chains');
    } finally {
      await reader.end();
    }
    assert.equal(settled, false, 'the migration keeps retrying while the sync runs');
    await release();
    release = undefined;
    const result = await migrating;
    assert.deepEqual(result.applied, [{ version: next.version, name: next.name }]);
    const row = await db.db.one('SELECT backward_compatible, applied_by FROM schema_migrations WHERE version = $1', [next.version]);
    assert.deepEqual(row, { backward_compatible: true, applied_by: VERSION });
  } finally {
    await release?.();
    await db.drop();
  }
});

test('after its bounded retries a migration that cannot get its lock stops with a clear error, exit 1, and changes nothing', async () => {
  const db = await createTestDatabase();
  const release = await holdChains(db.url);
  try {
    const next = nextMigration();
    const error = await migrate(db.db, [...loadMigrations(), next], { lockTimeoutMs: 100, attempts: 3, firstBackoffMs: 10 }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof DefiSyncError, String(error));
    assert.match(error.message, /^migration \d{4}_add_probe_column could not take the locks it needs in 3 attempts of 100 ms: another session \(a running job\?\) holds a lock/);
    assert.equal(exitCodeFor(error), 1);
    assert.equal(await db.db.oneOrNone('SELECT 1 FROM schema_migrations WHERE version = $1', [next.version]), null);
    assert.equal(await db.db.oneOrNone(`SELECT 1 FROM information_schema.columns WHERE table_name = 'chains' AND column_name = 'probe'`), null);
  } finally {
    await release();
    await db.drop();
  }
});

test('a migration file declares itself backward-compatible in its header', () => {
  const dir = mkdtempSync(join(tmpdir(), 'defi-sync-migrations-'));
  try {
    writeFileSync(join(dir, '0001_first.sql'), '-- Adds a table.\n-- backward-compatible: true\nCREATE TABLE a (x int);\n');
    writeFileSync(join(dir, '0002_second.sql'), '-- Renames a column.\nALTER TABLE a RENAME x TO y;\n-- backward-compatible: true (not in the header: ignored)\n');
    assert.deepEqual(loadMigrations(dir).map((m) => m.backwardCompatible), [true, false]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('after a rollback an older build runs on a newer schema whose unknown migrations are all backward-compatible, and otherwise exits 2 naming the build to run', async () => {
  const db = await createTestDatabase();
  try {
    const env = cliEnv({ DATABASE_URL: db.url });
    const latest = loadMigrations().length;
    await db.db.none(`INSERT INTO schema_migrations (version, name, checksum, backward_compatible, applied_by) VALUES ($1, 'add_a_column', 'x', true, '9.1.0')`, [latest + 1]);
    const status = await runCli(['status'], env);
    assert.equal(status.code, 0, status.stderr);
    const m = await runCli(['migrate'], env);
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stdout, new RegExp(`schema is up to date at version ${latest + 1}`));

    await db.db.none(`INSERT INTO schema_migrations (version, name, checksum, backward_compatible, applied_by) VALUES ($1, 'rename_a_column', 'y', false, '9.2.0')`, [latest + 2]);
    for (const args of [['status'], ['migrate']]) {
      const r = await runCli(args, env);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        r.stderr.trim(),
        `defi-sync: the database schema is at version ${latest + 2} but this defi-sync only knows up to ${latest}, and migration ${String(latest + 2).padStart(4, '0')}_rename_a_column is not backward-compatible: run a defi-sync that knows schema version ${latest + 2} (defi-sync 9.2.0 or newer)`,
      );
    }
  } finally {
    await db.drop();
  }
});
