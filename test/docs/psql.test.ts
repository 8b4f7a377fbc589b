/**
 * `defi-sync psql` through the real CLI: psql on DATABASE_URL with arguments passed through, and
 * `--print-url` on the embedded warehouse, which must stay up and answer while the command runs.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { cliEnv, collect, runCli, spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

const tdb = await useTestDatabase();
const dir = mkdtempSync(join(tmpdir(), 'defi-sync-psql-'));
// As root the embedded server runs as the postgres OS user, which must reach its data directory.
chmodSync(dir, 0o755);
after(async () => {
  rmSync(dir, { recursive: true, force: true });
});

/** The URL with another password (a server with trust auth ignores it), to see it hidden. */
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

test('psql runs on DATABASE_URL with its own arguments, before or after --', async () => {
  const env = cliEnv({ DATABASE_URL: tdb.url });
  const direct = await runCli(['psql', '-At', '-c', "select count(*) from pg_tables where tablename = 'sync_jobs'"], env);
  assert.equal(direct.code, 0, direct.stderr);
  assert.equal(direct.stdout.trim(), '1', 'psql reached the migrated test database, and only its output is on stdout');
  const dashed = await runCli(['psql', '--', '-At', '-c', 'select 40 + 2'], env);
  assert.equal(dashed.stdout.trim(), '42', dashed.stderr);
  const failed = await runCli(['psql', '-c', 'select * from no_such_table'], env);
  assert.equal(failed.code, 1, "psql's own exit code comes back");
  assert.match(failed.stderr, /no_such_table/);
});

test('without psql on PATH: exit 2 and one sentence naming the package', async () => {
  const r = await runCli(['psql', '-c', 'select 1'], { ...cliEnv({ DATABASE_URL: tdb.url }), PATH: dir });
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), 'defi-sync: psql was not found on PATH: install the PostgreSQL client (Debian and Ubuntu: apt-get install postgresql-client)');
});

test('--print-url with DATABASE_URL: the password hidden unless asked for, and the URL connects', async () => {
  // The test server's own password when it has one (the embedded server), else one trust auth ignores.
  const secret = new URL(tdb.url).password || 's3cret-pw';
  const url = withPassword(tdb.url, secret);
  const hidden = await runCli(['psql', '--print-url'], cliEnv({ DATABASE_URL: url }));
  assert.equal(hidden.code, 0, hidden.stderr);
  assert.equal(hidden.stdout.trim(), withPassword(tdb.url, '***'));
  assert.ok(!(hidden.stdout + hidden.stderr).includes(secret), 'the password is not printed');
  assert.match(hidden.stderr, /--show-password/);
  const shown = await runCli(['psql', '--print-url', '--show-password'], cliEnv({ DATABASE_URL: url }));
  assert.equal(shown.stdout.trim(), url);
  const client = new pg.Client({ connectionString: shown.stdout.trim() });
  await client.connect();
  try {
    assert.equal((await client.query('select count(*)::int as n from schema_migrations')).rows[0].n > 0, true);
  } finally {
    await client.end();
  }
});

test('--print-url on the embedded warehouse: it stays up while the command runs, and stops after SIGTERM', async () => {
  const env = cliEnv({ DEFI_SYNC_DATA_DIR: join(dir, 'embedded') });
  for (const showPassword of [false, true]) {
    const child = spawnCli(['psql', '--print-url', ...(showPassword ? ['--show-password'] : [])], env);
    const done = collect(child, 180_000);
    let stdout = '';
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d) => {
        stdout += d;
        const m = /^postgres:\/\/\S+$/m.exec(stdout);
        if (m) resolve(m[0]);
      });
      child.on('close', () => reject(new Error(`exited before printing a URL: ${stdout}`)));
    });
    const password = new URL(line).password;
    if (!showPassword) {
      assert.equal(password, '***', line);
      child.kill('SIGTERM');
      const r = await done;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /read it from .*embedded\/password/);
      continue;
    }
    assert.ok(password.length >= 16 && password !== '***', 'the real password when asked for');
    // Another process, well after the URL was printed: the server is still there.
    await new Promise((r) => setTimeout(r, 1500));
    const client = new pg.Client({ connectionString: line });
    await client.connect();
    const { rows } = await client.query("select count(*)::int as n from information_schema.views where table_name like 'v\\_%'");
    await client.end();
    assert.ok(rows[0].n >= 6, 'the embedded warehouse is migrated');
    child.kill('SIGTERM');
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /stays up .* Ctrl-C or SIGTERM/);
    // The last process out stopped the server: the URL no longer connects.
    const late = new pg.Client({ connectionString: line, connectionTimeoutMillis: 3000 });
    await assert.rejects(late.connect());
  }
});
