// database/migrations/NNNN_name.sql. A header `-- backward-compatible: true` means the previous build still
// runs on the schema (after a rollback); without it, the previous build refuses it.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrationsDir } from '../paths.js';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
  readonly backwardCompatible: boolean;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const COMPATIBLE = /^--\s*backward-compatible:\s*true\s*$/m;

export function loadMigrations(dir = migrationsDir()): readonly Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => FILE.test(f))
    .sort()
    .map((file) => {
      const [, version, name] = FILE.exec(file)!;
      const sql = readFileSync(join(dir, file), 'utf8');
      return Object.freeze({
        version: Number(version), name: name!, sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
        backwardCompatible: COMPATIBLE.test(header(sql)),
      });
    });
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration numbers must run 0001, 0002, ... without gaps; found ${m.version} at position ${i + 1}`);
  });
  return Object.freeze(migrations);
}

function header(sql: string): string {
  const lines = sql.split('\n');
  const end = lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('--'));
  return lines.slice(0, end === -1 ? lines.length : end).join('\n');
}

/** applied_by names the build that applied a migration: the one to go back to after a rollback. */
export const MIGRATIONS_TABLE_SQL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version             integer PRIMARY KEY,
  name                text        NOT NULL,
  checksum            text        NOT NULL,
  applied_at          timestamptz NOT NULL DEFAULT now(),
  backward_compatible boolean     NOT NULL DEFAULT false,
  applied_by          text
);`;

/** Brings a schema_migrations table made by an earlier build up to MIGRATIONS_TABLE_SQL. */
export const MIGRATIONS_TABLE_UPGRADE_SQL = `ALTER TABLE schema_migrations
  ADD COLUMN IF NOT EXISTS backward_compatible boolean NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS applied_by text;`;
