/**
 * Token metadata through Moralis, end to end: pools loaded from the replica by the real sync
 * jobs, map-contracts run as a child process against the loopback Moralis stand-in (which
 * requires the X-API-Key header and answers 429 once). The key must reach the header and nowhere
 * else: no URL, output line, log file or sync_jobs row.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startMoralisStandIn, type MoralisStandIn } from '../../replica/moralis.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

const KEY = 'mOrAlIs-KeY-0123456789abcdef';
// An EVM chain Moralis does not serve (chain id 534352): its tokens are skipped and counted.
const SCROLL_POOL = '99999999-2222-4333-8444-555555555555';
const SCROLL_TOKEN = '0x5300000000000000000000000000000000000004';

let replica: TestReplica;
const database = await useTestDatabase();
let moralis: MoralisStandIn;
let logDir: string;

const env = (extra: Record<string, string> = {}) =>
  cliEnv({ DATABASE_URL: database.url, ...replica.env(), MORALIS_API_KEY: KEY, MORALIS_API_URL: moralis.url, LOG_DIR: logDir, ...extra });

async function cli(args: string[], extra: Record<string, string> = {}) {
  const out = await runCli(args, env(extra));
  assert.equal(out.code, 0, `${args.join(' ')}: ${out.stderr}\n${out.stdout.slice(-3000)}`);
  return out;
}

interface Summary {
  candidates: number;
  unsupported: number;
  unsupportedChains: Record<string, number>;
  fresh: number;
  asked: number;
  requests: number;
  answered: number;
  unanswered: number;
  failed: number;
  rejected: number;
}

async function lastRun() {
  return database.db.one<{ status: string; error_message: string | null; rate_limit_hits: number; retries: number; details: { tokenMetadata: Summary; warnings?: string[] } }>(
    `SELECT status, error_message, rate_limit_hits, retries, details FROM sync_jobs WHERE job_name = 'map-contracts' ORDER BY id DESC LIMIT 1`,
  );
}

function logFiles(): string {
  return readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8')).join('\n');
}

before(async () => {
  replica = await startTestReplica({ pools: 400 });
  logDir = mkdtempSync(join(tmpdir(), 'defi-sync-moralis-logs-'));
  moralis = await startMoralisStandIn({ apiKey: KEY, rateLimitFirst: 1, retryAfterSeconds: 1 });
  const plain = cliEnv({ DATABASE_URL: database.url, ...replica.env() });
  for (const job of ['sync-chains', 'sync-protocols', 'sync-pools']) {
    const out = await runCli([job], plain);
    assert.equal(out.code, 0, out.stderr + out.stdout);
  }
  await database.db.none(
    `INSERT INTO pools (pool_id, chain, project, symbol, tvl_usd, underlying_tokens, raw) VALUES ($1, 'Scroll', 'demo', 'SCR', 1000, $2, '{}')`,
    [SCROLL_POOL, [SCROLL_TOKEN]],
  );
});

after(async () => {
  await replica?.close();
  await moralis?.close();
  if (logDir) rmSync(logDir, { recursive: true, force: true });
});

test('map-contracts stores token metadata in batches, retries a 429 and keeps the key to the header', async () => {
  const out = await cli(['map-contracts'], { LOG_LEVEL: 'debug' });

  const stored = await database.db.manyOrNone<{ chain_key: string; address: string; symbol: string; decimals: number; source: string }>(
    'SELECT chain_key, address, symbol, decimals, source FROM token_metadata',
  );
  const served = moralis.requests.filter((r) => r.status === 200);
  assert.ok(stored.length >= 100, `${stored.length} token_metadata rows`);
  assert.ok(served.length < stored.length, `${served.length} requests for ${stored.length} tokens`);
  assert.ok(served.every((r) => r.addresses <= 10));
  assert.ok(stored.every((r) => r.source === 'moralis' && Number.isInteger(r.decimals) && /^T[0-9A-F]{4}$/.test(r.symbol)));

  // The first request was refused with 429 and retried after Retry-After.
  assert.equal(moralis.requests[0]!.status, 429);
  const run = await lastRun();
  assert.equal(run.status, 'succeeded');
  assert.ok(run.rate_limit_hits >= 1 && run.retries >= 1, JSON.stringify(run));
  const s = run.details.tokenMetadata;
  assert.equal(s.answered, stored.length);
  assert.equal(s.requests, served.length);
  assert.equal(s.failed, 0);

  // Scroll is not served: skipped and counted, never asked.
  assert.ok(s.unsupportedChains.scroll! >= 1, JSON.stringify(s));
  assert.ok(s.unsupported >= 1);
  assert.ok(!stored.some((r) => r.chain_key === 'scroll'));
  assert.ok(moralis.requests.every((r) => !r.url.includes(SCROLL_TOKEN)));

  // The key: in every request's header, in nothing else.
  assert.ok(moralis.requests.every((r) => r.headers['x-api-key'] === KEY));
  assert.ok(moralis.requests.every((r) => !r.url.includes(KEY)));
  assert.ok(out.stdout.includes('"api call"'), 'debug logging was on');
  assert.ok(!out.stdout.includes(KEY) && !out.stderr.includes(KEY), 'the key is in no output line');
  assert.ok(logFiles().length > 0 && !logFiles().includes(KEY), 'the key is in no log file');
  const tables = JSON.stringify(await database.db.manyOrNone('SELECT * FROM sync_jobs')) + JSON.stringify(await database.db.manyOrNone('SELECT * FROM token_metadata'));
  assert.ok(!tables.includes(KEY), 'the key is in no table');

  // Moralis' answer is on-chain evidence for mappings without an RPC verdict.
  const evidence = await database.db.manyOrNone<{ confidence: number; is_contract: boolean; verification_method: string }>(
    `SELECT cm.confidence, cm.is_contract, cm.verification_method FROM contract_mappings cm
     JOIN token_metadata tm USING (chain_key, address) WHERE cm.is_active`,
  );
  assert.ok(evidence.length >= stored.length);
  assert.ok(evidence.every((m) => m.confidence === 1 && m.is_contract === true && m.verification_method === 'ERC-20 metadata via Moralis'));

  // The top pools show the symbols.
  const symbols = await database.db.one<{ n: number }>(
    `SELECT count(*)::int AS n FROM v_top_pools_with_contracts, jsonb_array_elements(contracts) c WHERE c ->> 'symbol' IS NOT NULL`,
  );
  assert.ok(symbols.n > 0);
});

test('within --recheck-days nothing is asked again; older rows are refreshed', async () => {
  const before = moralis.requests.length;
  await cli(['map-contracts']);
  assert.equal(moralis.requests.length, before, 'every row is fresh: no request');
  const fresh = (await lastRun()).details.tokenMetadata;
  assert.equal(fresh.asked, 0);
  assert.equal(fresh.fresh, fresh.candidates - fresh.unsupported);

  const stale = await database.db.map<string>(
    `UPDATE token_metadata SET fetched_at = now() - interval '10 days', symbol = 'OLD'
     WHERE (chain_key, address) IN (SELECT chain_key, address FROM token_metadata ORDER BY chain_key, address LIMIT 15) RETURNING address`,
    [],
    (r: { address: string }) => r.address,
  );
  await cli(['map-contracts', '--recheck-days', '30']);
  assert.equal(moralis.requests.length, before, '10 days old is fresh within 30 days');

  await cli(['map-contracts', '--recheck-days', '7']);
  const s = (await lastRun()).details.tokenMetadata;
  assert.equal(s.asked, 15);
  assert.equal(s.answered, 15);
  const asked = moralis.requests.slice(before).flatMap((r) => [...new URL(r.url, 'http://x').searchParams.values()]);
  assert.deepEqual(stale.filter((a) => !asked.includes(a)), [], 'every stale address was asked');
  const refreshed = await database.db.one<{ old: number; recent: number }>(
    `SELECT count(*) FILTER (WHERE symbol = 'OLD')::int AS old, count(*) FILTER (WHERE fetched_at > now() - interval '1 hour')::int AS recent FROM token_metadata`,
  );
  assert.equal(refreshed.old, 0);
});

test('a failing Moralis request is counted and the mappings are written all the same', async () => {
  await database.db.none(`UPDATE token_metadata SET fetched_at = now() - interval '10 days' WHERE address IN (SELECT address FROM token_metadata ORDER BY address LIMIT 3)`);
  // The stand-in answers 404 outside its route.
  await database.db.none(`UPDATE pools SET is_active = false WHERE pool_id = $1`, [SCROLL_POOL]);
  const out = await cli(['map-contracts'], { MORALIS_API_URL: `${moralis.url}/missing` });
  assert.ok(!out.stdout.includes(KEY) && !out.stderr.includes(KEY));
  const run = await lastRun();
  assert.equal(run.status, 'succeeded');
  assert.equal(run.details.tokenMetadata.failed, 3);
  assert.ok(run.details.warnings?.some((w) => /^token metadata: .*HTTP 404/.test(w)), JSON.stringify(run.details.warnings));
  const scroll = await database.db.one<{ n: number }>('SELECT count(*)::int AS n FROM contract_mappings WHERE pool_id = $1 AND is_active', [SCROLL_POOL]);
  assert.equal(scroll.n, 0, 'the mappings of the run were written');
});

test('a key Moralis refuses is a configuration error: exit 2, naming MORALIS_API_KEY, database unchanged', async () => {
  const wrong = 'wrong-key-9876543210';
  await database.db.none(`UPDATE token_metadata SET fetched_at = now() - interval '10 days'`);
  await database.db.none(`UPDATE pools SET is_active = true WHERE pool_id = $1`, [SCROLL_POOL]);
  const snapshot = async () => JSON.stringify(await database.db.manyOrNone('SELECT * FROM contract_mappings ORDER BY id')) + JSON.stringify(await database.db.manyOrNone('SELECT * FROM token_metadata ORDER BY chain_key, address'));
  const beforeRun = await snapshot();
  const out = await runCli(['map-contracts'], env({ MORALIS_API_KEY: wrong }));
  assert.equal(out.code, 2, out.stderr + out.stdout);
  assert.match(out.stderr + out.stdout, /MORALIS_API_KEY/);
  assert.ok(!(out.stderr + out.stdout).includes(wrong), 'the refused key is not printed either');
  const run = await lastRun();
  assert.equal(run.status, 'failed');
  assert.match(run.error_message ?? '', /Moralis refused MORALIS_API_KEY \(HTTP 401/);
  assert.ok(!JSON.stringify(run).includes(wrong));
  assert.equal(await snapshot(), beforeRun, 'nothing was written');
});
