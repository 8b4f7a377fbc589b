/**
 * Hostile secrets: an upstream that echoes the API key in its error bodies (whole, inside a URL, at
 * many offsets of a long body, in HTML and in cut-off JSON), and a DATABASE_URL password, with
 * LOG_LEVEL=debug. No 5-character piece of either secret may reach stdout, stderr, the LOG_DIR
 * files, the metrics pushed to a real Pushgateway or any table.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { Fault } from '../../replica/faults.js';
import { cliEnv, runCli, type CliResult } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';
import { snapshotTables } from '../helpers/tables.js';
import { startPushgateway, type Daemon } from '../metrics/prometheus-tools.js';

// Mixed case and digits: no 5-character piece occurs in ordinary output (UUIDs, hashes, words).
const KEY = 'Zq8TvKp3WmXr7LdN2bHy5FsQ';
const PASSWORD = 'Pw4kRz9QmT2vXn7LcJ6';
const ROLE = `secret_tester_${process.pid}`;

const t = await useTestDatabase();
let replica: TestReplica;
let gateway: Daemon;
let logDir: string;
let roleUrl: string;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

before(async () => {
  [replica, gateway] = await Promise.all([startTestReplica({ pools: 40, protocols: 10, chains: 8 }), startPushgateway()]);
  logDir = mkdtempSync(join(tmpdir(), 'defi-sync-secrets-'));
  // The CLI connects as a role whose password is the secret (ignored by a trust server, checked by one with passwords).
  await admin(`CREATE ROLE ${ROLE} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
  const u = new URL(t.url);
  u.username = ROLE;
  u.password = PASSWORD;
  roleUrl = u.toString();
  await runAll();
}, { timeout: 240_000 });
after(async () => {
  await Promise.all([replica.close(), gateway.stop()]);
  await admin(`DROP ROLE IF EXISTS ${ROLE}`);
  rmSync(logDir, { recursive: true, force: true });
});

/** Every 5-character piece of `secret` found in `text`. */
function pieces(secret: string, text: string): string[] {
  const found = new Set<string>();
  for (let i = 0; i + 5 <= secret.length; i++) if (text.includes(secret.slice(i, i + 5))) found.add(secret.slice(i, i + 5));
  return [...found];
}

/** Where a piece of a secret shows, one line each (empty when clean). */
function leaks(where: string, text: string): string[] {
  const out: string[] = [];
  for (const [name, secret] of [['API key', KEY], ['database password', PASSWORD]] as const) {
    const found = pieces(secret, text);
    if (found.length === 0) continue;
    const at = text.indexOf(found[0]!);
    out.push(`${where}: ${found.length} piece(s) of the ${name}, e.g. …${text.slice(Math.max(0, at - 60), at + 30)}…`);
  }
  return out;
}

function assertNoPiece(where: string, text: string): void {
  assert.deepEqual(leaks(where, text), []);
}

/** A body of `length` characters with the key placed at `offset`. */
function bodyWithKeyAt(offset: number, length = 400): string {
  const filler = 'upstream says: request failed, please retry later. '.repeat(20);
  return `${filler.slice(0, offset)}{key}${filler}`.slice(0, length);
}

const env = (extra: Record<string, string> = {}) =>
  cliEnv({ DATABASE_URL: roleUrl, LOG_LEVEL: 'debug', LOG_DIR: logDir, PUSHGATEWAY_URL: gateway.url, ...replica.env({ apiKey: KEY }), ...extra });

const outputs: { what: string; result: CliResult }[] = [];

async function runWithFault(what: string, job: string, route: string, fault: Fault): Promise<CliResult> {
  replica.clearFaults();
  replica.setFault(route, fault);
  try {
    const result = await runCli([job], env());
    outputs.push({ what, result });
    return result;
  } finally {
    replica.clearFaults();
  }
}

/** Bodies that carry the key: whole, in URLs, at offsets around the excerpt's cut (160 characters) and the 60-character tail of cut-off JSON. */
function hostileCases(): [string, string, string, Fault][] {
  const cases: [string, string, string, Fault][] = [
    ['the key alone', 'sync-chains', '/v2/chains', { kind: 'status', status: 403, body: '{key}' }],
    ['the key in a URL', 'sync-chains', '/v2/chains', { kind: 'status', status: 403, body: '{"error":"forbidden","url":"https://pro-api.llama.fi/{key}/api/v2/chains"}' }],
    ['a 404 naming the URL', 'sync-protocols', '/protocols', { kind: 'status', status: 404, body: 'Cannot GET /{key}/api/protocols' }],
    ['an HTML page with the URL', 'sync-protocols', '/protocols', { kind: 'html', body: `<html><body>${'<p>blocked</p>'.repeat(10)}<a href="/{key}/api/protocols">retry</a></body></html>` }],
  ];
  for (const offset of [0, 40, 140, 150, 155, 158, 160, 300]) {
    cases.push([`a long body with the key at ${offset}`, 'sync-chains', '/v2/chains', { kind: 'status', status: 403, body: bodyWithKeyAt(offset) }]);
  }
  for (const fromEnd of [10, 50, 58, 62, 70]) {
    const head = `{"status":"success","data":[{"pool":"${'b'.repeat(300)}","note":"`;
    cases.push([`cut-off JSON with the key ${fromEnd} characters from its end`, 'sync-pools', '/pools', { kind: 'status', status: 200, body: `${head}{key}${'z'.repeat(Math.max(0, fromEnd - KEY.length))}` }]);
  }
  return cases;
}

// The runs every test below inspects: a success (ordinary output in logs, metrics and tables),
// then one failing run per hostile body.
async function runAll(): Promise<void> {
  const ok = await runCli(['sync-chains'], env());
  assert.equal(ok.code, 0, ok.stderr);
  outputs.push({ what: 'success', result: ok });
  for (const [what, job, route, fault] of hostileCases()) {
    const r = await runWithFault(what, job, route, fault);
    assert.equal(r.code, 1, `${what}: ${job} fails: ${r.stderr}`);
  }
}

test('the replica echoes the key of the request in a fault body', async () => {
  replica.setFault('/v2/chains', { kind: 'status', status: 403, body: 'k={key}', times: 1 });
  assert.equal(await fetch(`${replica.url}/${KEY}/api/v2/chains`).then((res) => res.text()), `k=${KEY}`);
});

test('stdout and stderr of runs whose error bodies echo the key hold no piece of it', () => {
  assert.deepEqual(
    outputs.flatMap(({ what, result }) => [...leaks(`stdout of "${what}"`, result.stdout), ...leaks(`stderr of "${what}"`, result.stderr)]),
    [],
  );
});

test('each failed run names the redacted URL in its output and in its sync_jobs row', async () => {
  const failed = outputs.filter((o) => o.what !== 'success');
  assert.equal(failed.length, hostileCases().length);
  for (const { what, result } of failed) assert.match(result.stdout + result.stderr, /\/\*\*\*\/(api|yields)\//, `output of "${what}"`);
  const rows = await t.db.map<string>(`SELECT error_message FROM sync_jobs WHERE status = 'failed' ORDER BY id`, [], (r: { error_message: string }) => r.error_message);
  assert.equal(rows.length, failed.length);
  for (const message of rows) assert.match(message, /\/\*\*\*\/(api|yields)\//);
});

test('a database that refuses the connection does not echo the password', async () => {
  const u = new URL(roleUrl);
  u.pathname = '/no_such_database_here';
  const r = await runCli(['sync-chains'], env({ DATABASE_URL: u.toString() }));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /no_such_database_here/, 'the error names the database');
  assertNoPiece('stdout', r.stdout);
  assertNoPiece('stderr', r.stderr);
});

test('the LOG_DIR files hold no piece of a secret', () => {
  const files = readdirSync(logDir);
  assert.ok(files.includes('combined.log'));
  assert.ok(readFileSync(join(logDir, 'combined.log'), 'utf8').includes('/***/api/'), 'the logs name the redacted URL');
  assert.deepEqual(files.flatMap((f) => leaks(`LOG_DIR/${f}`, readFileSync(join(logDir, f), 'utf8'))), []);
});

test('the metrics pushed to the Pushgateway and every table hold no piece of a secret', async () => {
  const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
  assert.match(metrics, /job_name="sync-chains"/, 'the runs pushed their metrics');
  assertNoPiece('Pushgateway metrics', metrics);

  const tables = await snapshotTables(t.db, Number.MAX_SAFE_INTEGER);
  assert.ok(tables.sync_jobs!.length > 5);
  assert.deepEqual(Object.entries(tables).flatMap(([table, rows]) => leaks(`table ${table}`, rows.join('\n'))), []);
});
