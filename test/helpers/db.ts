/** A fresh database per test file on the test server (embedded or TEST_DATABASE_URL). */
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import pg from 'pg';
import { openDatabase, type Db } from '../../src/db/connection.js';
import { migrate } from '../../src/db/migrator.js';
import { initLogger } from '../../src/logger.js';

// In-process code under test logs only warnings, so the runner's output stays readable.
initLogger({ logLevel: (process.env.TEST_LOG_LEVEL as 'warn' | undefined) ?? 'warn', logDir: undefined }, false);

export interface TestDatabase {
  readonly url: string;
  readonly db: Db;
  drop(): Promise<void>;
}

export function serverUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests with "npm test"');
  return url;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Mutation testing (scripts/mutate.ts) starts a test process per mutant, one after another in each
 * Stryker worker. There each process reuses its worker's databases (MUTATE_DATABASES names the
 * run, STRYKER_MUTATOR_WORKER the worker), emptied when taken, and the run drops them at its end:
 * DROP DATABASE waits for a checkpoint of the whole server, seconds on a busy one, per mutant.
 */
const reusePrefix = process.env.MUTATE_DATABASES && process.env.STRYKER_MUTATOR_WORKER !== undefined
  ? `${process.env.MUTATE_DATABASES}_${process.env.STRYKER_MUTATOR_WORKER}`
  : undefined;
let reused = 0;

/** A database of this worker's from an earlier process, emptied (its sessions ended, its schema dropped); created if there is none. */
async function takeReused(name: string): Promise<void> {
  const exists = await admin(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
  if (!exists) {
    await admin((c) => c.query(`CREATE DATABASE ${name}`));
    return;
  }
  await admin((c) => c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]));
  const c = new pg.Client({ connectionString: withDatabase(serverUrl(), name) });
  await c.connect();
  try {
    await c.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  } finally {
    await c.end();
  }
}

/** Creates an empty database (migrated unless `migrated: false`). Drop it in an `after` hook (or see useTestDatabase). */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = reusePrefix ? `${reusePrefix}_${reused++}` : `defi_sync_t_${randomBytes(5).toString('hex')}`;
  if (reusePrefix) await takeReused(name);
  else await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(serverUrl(), name);
  const database = openDatabase(url, 'defi-sync-test', 6);
  if (options.migrated !== false) await migrate(database.db);
  return {
    url,
    db: database.db,
    async drop() {
      await database.close();
      if (!reusePrefix) await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/**
 * The test file's own database, for `const t = await useTestDatabase()` at the top level: created
 * before any hook or test runs (a root-level `before` hook would start at once, beside the file's
 * own), and dropped by an `after` hook this registers, which runs before the `after` hooks
 * registered later; the drop ends any session still open on the database.
 */
export async function useTestDatabase(options: { migrated?: boolean } = {}): Promise<FileDatabase> {
  const database = await createTestDatabase(options);
  after(() => database.drop());
  return database;
}

export type FileDatabase = Pick<TestDatabase, 'url' | 'db'>;
