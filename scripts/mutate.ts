/**
 * `make mutate`: StrykerJS over the modules in stryker.config.mjs, with a real PostgreSQL for the
 * tests (TEST_DATABASE_URL, or an embedded server in a temporary directory). Arguments go to
 * `stryker run`, e.g. `--mutate src/redact.ts`.
 */
import { spawn } from 'node:child_process';
import { serverFrom } from './scratch-postgres.js';

const server = await serverFrom('TEST_DATABASE_URL', 'mutate');
const child = spawn('npx', ['stryker', 'run', ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, TEST_DATABASE_URL: server.url, DEFI_SYNC_TEST: '1' } });
const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
await server.close();
process.exit(code);
