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

/** Creates an empty database (migrated unless `migrated: false`). Drop it in an `after` hook (or see useTestDatabase). */
export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `defi_sync_t_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(serverUrl(), name);
  const database = openDatabase(url, 'defi-sync-test', 6);
  if (options.migrated !== false) await migrate(database.db);
  return {
    url,
    db: database.db,
    async drop() {
      await database.close();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
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
