/**
 * The PostgreSQL server the tests, the mutation run and the benchmark work on: the one a setting
 * names (TEST_DATABASE_URL, BENCH_DATABASE_URL), else an embedded server in a temporary directory
 * that close() stops and removes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded } from '../src/db/embedded.js';

export interface ScratchServer {
  readonly url: string;
  /** Where it comes from, for the run's first line. */
  readonly origin: string;
  close(): Promise<void>;
}

export async function serverFrom(setting: string, label: string): Promise<ScratchServer> {
  const given = process.env[setting];
  if (given) return { url: given, origin: setting, close: async () => undefined };
  const dataDir = mkdtempSync(join(tmpdir(), `defi-sync-${label}-pg-`));
  const embedded = await startEmbedded(dataDir);
  return {
    url: embedded.url,
    origin: `an embedded PostgreSQL in ${dataDir}`,
    async close() {
      await embedded.release();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
