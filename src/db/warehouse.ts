// The embedded warehouse is private to this user, so it is migrated here; an external one needs `defi-sync migrate` (Helm hook).
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { logger } from '../logger.js';
import { openDatabase, type Db } from './connection.js';
import { defaultDataDir, startEmbedded, type EmbeddedServer } from './embedded.js';
import { migrate, requireCurrentSchema } from './migrator.js';

export interface Warehouse {
  readonly db: Db;
  readonly embedded: EmbeddedServer | undefined;
  close(): Promise<void>;
}

export type SchemaPolicy = 'require-current' | 'none';

export async function openWarehouse(config: Config, applicationName: string, schema: SchemaPolicy): Promise<Warehouse> {
  let embedded: EmbeddedServer | undefined;
  let url = config.databaseUrl;
  if (!url) {
    // A pod's embedded database would vanish with the pod, taking every run's work with it.
    if (config.inKubernetes) throw new ConfigError('DATABASE_URL is not set: in Kubernetes defi-sync needs an external PostgreSQL, so set DATABASE_URL (for example in the release\'s Secret).');
    embedded = await startEmbedded(config.dataDir ?? defaultDataDir());
    url = embedded.url;
    logger().info({ dataDir: embedded.dataDir }, 'using the embedded PostgreSQL (DATABASE_URL is not set)');
  }
  const database = openDatabase(url, applicationName);
  const close = async () => {
    await database.close();
    await embedded?.release();
  };
  try {
    if (schema === 'require-current') {
      if (embedded) await migrate(database.db);
      else await requireCurrentSchema(database.db);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { db: database.db, embedded, close };
}

export async function withWarehouse<T>(config: Config, applicationName: string, schema: SchemaPolicy, fn: (w: Warehouse) => Promise<T>): Promise<T> {
  const warehouse = await openWarehouse(config, applicationName, schema);
  try {
    return await fn(warehouse);
  } finally {
    await warehouse.close();
  }
}
