/** The numbered SQL migrations shipped in database/migrations (NNNN_name.sql). */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrationsDir } from '../paths.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function loadMigrations(dir = migrationsDir()): readonly Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => FILE.test(f))
    .sort()
    .map((file) => {
      const [, version, name] = FILE.exec(file)!;
      const sql = readFileSync(join(dir, file), 'utf8');
      return Object.freeze({ version: Number(version), name: name!, sql, checksum: createHash('sha256').update(sql).digest('hex') });
    });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration numbers must run 0001, 0002, ... without gaps; found ${m.version} at position ${i + 1}`);
  });
  return Object.freeze(migrations);
}

export const MIGRATIONS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text        NOT NULL,
  checksum   text        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);`;
