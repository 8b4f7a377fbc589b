/**
 * `make mutate`: StrykerJS over the modules in stryker.config.mjs, with a real PostgreSQL for the
 * tests (TEST_DATABASE_URL, or an embedded server in a temporary directory). Arguments go to
 * `stryker run`, e.g. `--mutate src/redact.ts`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbedded, type EmbeddedServer } from '../src/db/embedded.js';

let embedded: EmbeddedServer | undefined;
let dataDir: string | undefined;
let url = process.env.TEST_DATABASE_URL;
if (!url) {
  dataDir = mkdtempSync(join(tmpdir(), 'defi-sync-mutate-pg-'));
  embedded = await startEmbedded(dataDir);
  url = embedded.url;
}
const child = spawn('npx', ['stryker', 'run', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, TEST_DATABASE_URL: url, DEFI_SYNC_TEST: '1' } });
const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
if (embedded) await embedded.release();
if (dataDir) rmSync(dataDir, { recursive: true, force: true });
process.exit(code);
