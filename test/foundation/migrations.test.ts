import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { migrate } from '../../src/db/migrator.js';
import { loadMigrations } from '../../src/db/migrations.js';
import { renderSchema } from '../../scripts/build-schema.js';
import { readFileSync } from 'node:fs';
import { catalogSnapshot } from '../helpers/catalog.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const REQUIRED_TABLES = ['chains', 'protocols', 'pools', 'contract_mappings', 'pool_daily_snapshots', 'protocol_daily_snapshots', 'sync_jobs'];
const REQUIRED_VIEWS = ['v_sync_status', 'v_top_pools_with_contracts', 'v_protocol_summary'];

let migrated: TestDatabase;
let viaPsql: TestDatabase;
let empty: TestDatabase;

before(async () => {
  [migrated, viaPsql, empty] = await Promise.all([createTestDatabase({ migrated: false }), createTestDatabase({ migrated: false }), createTestDatabase({ migrated: false })]);
});
after(async () => {
  await Promise.all([migrated.drop(), viaPsql.drop(), empty.drop()]);
});

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
