import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initLogger, logUncaught } from '../../src/logger.js';
import { registerSecret } from '../../src/redact.js';
import { closedPort } from '../helpers/ports.js';
import { cliEnv, logLines, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

const t = await useTestDatabase();
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'defi-sync-logs-'));
});
after(async () => {
  rmSync(dir, { recursive: true, force: true });
});

test('stdout carries pino JSON lines when it is not a terminal', async () => {
  const r = await runCli(['migrate'], cliEnv({ DATABASE_URL: t.url, LOG_LEVEL: 'debug' }));
  assert.equal(r.code, 0, r.stderr);
  const lines = logLines(r.stdout);
  assert.ok(lines.length > 0);
  for (const l of lines) assert.equal(l.app, 'defi-sync');
  // debug level: database statements with their timing
  assert.ok(lines.some((l) => l.msg === 'sql' && typeof l.ms === 'number'), 'debug logs SQL with timings');
});

test('with LOG_DIR, combined.log gets every line and error.log the errors', async () => {
  const logDir = join(dir, 'run');
  const r = await runCli(['migrate'], cliEnv({ DATABASE_URL: t.url, LOG_DIR: logDir }));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(logDir, 'combined.log')));
  const bad = await runCli(['sync-chains'], cliEnv({ DATABASE_URL: t.url, LOG_DIR: logDir, DEFILLAMA_API_URL: `http://127.0.0.1:${await closedPort()}`, HTTP_TIMEOUT_MS: '2000' }));
  assert.equal(bad.code, 1, bad.stderr);
  const errors = readFileSync(join(logDir, 'error.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
  assert.ok(errors.length >= 1);
  assert.ok(errors.every((e) => e.level === 'error' || e.level === 'fatal'));
  assert.ok(errors.some((e) => e.msg.startsWith('sync-chains failed')));
});

test('an uncaught exception is written to exceptions.log, redacted', () => {
  const logDir = join(dir, 'uncaught');
  registerSecret('sup3r-secret-key');
  initLogger({ logLevel: 'silent', logDir }, false);
  logUncaught('exception', new Error('boom while calling https://pro-api.llama.fi/sup3r-secret-key/api/protocols'));
  const text = readFileSync(join(logDir, 'exceptions.log'), 'utf8');
  assert.match(text, /boom while calling https:\/\/pro-api\.llama\.fi\/\*\*\*\/api\/protocols/);
  assert.ok(!text.includes('sup3r-secret-key'));
  initLogger({ logLevel: 'warn', logDir: undefined }, false);
});
