/**
 * Writes database/schema.sql from the migrations: the complete schema for operators who set up
 * with `psql -f` instead of `defi-sync migrate`. It records the migrations as applied, so a later
 * `defi-sync migrate` continues from there. `--check` fails when the file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMigrations, MIGRATIONS_TABLE_SQL } from '../src/db/migrations.js';
import { packageRoot } from '../src/paths.js';

export function renderSchema(): string {
  const migrations = loadMigrations();
  const parts = [
    '-- defi-sync: the complete warehouse schema. Generated from database/migrations by',
    '-- `npm run schema`; do not edit by hand. Apply to an empty database with:',
    '--   psql "$DATABASE_URL" -f database/schema.sql',
    '\\set ON_ERROR_STOP on',
    'BEGIN;',
    '',
    MIGRATIONS_TABLE_SQL,
    '',
  ];
  for (const m of migrations) {
    parts.push(`-- ${String(m.version).padStart(4, '0')}_${m.name}.sql`, m.sql.trimEnd(), '');
    parts.push(`INSERT INTO schema_migrations (version, name, checksum, backward_compatible) VALUES (${m.version}, '${m.name}', '${m.checksum}', ${m.backwardCompatible});`, '');
  }
  parts.push('COMMIT;', '');
  return parts.join('\n');
}

const target = join(packageRoot(), 'database', 'schema.sql');
if (process.argv[1]?.endsWith('build-schema.ts')) {
  const rendered = renderSchema();
  if (process.argv.includes('--check')) {
    const current = readFileSync(target, 'utf8');
    if (current !== rendered) {
      console.error('database/schema.sql is stale: run "npm run schema" and commit the result');
      process.exit(1);
    }
    console.log('database/schema.sql is up to date');
  } else {
    writeFileSync(target, rendered);
    console.log(`wrote ${target}`);
  }
}
