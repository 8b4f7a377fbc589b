/** `defi-sync migrate`: bring the warehouse schema up to this build's version. */
import type { Config } from '../config.js';
import { migrate } from '../db/migrator.js';
import { withWarehouse } from '../db/warehouse.js';

export async function cmdMigrate(config: Config, out: (s: string) => void): Promise<void> {
  // 'none': migrate is the one command allowed to meet an old schema.
  const result = await withWarehouse(config, 'defi-sync:migrate', 'none', ({ db }) =>
    migrate(db, undefined, { lockTimeoutMs: config.migrationLockTimeoutMs, attempts: config.migrationAttempts }),
  );
  out(
    result.applied.length
      ? `applied ${result.applied.length} migration(s): ${result.applied.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`).join(', ')}; schema is at version ${result.version}`
      : `schema is up to date at version ${result.version}`,
  );
}
