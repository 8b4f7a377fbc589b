/**
 * On-chain verification against a real EVM node (ganache on loopback): a deployed contract is
 * confirmed (1.0, is_contract true), an externally owned account is marked not a contract,
 * verdicts are cached, misconfigured or dead endpoints never fail the job, and RPC URLs with
 * keys never appear in output or tables.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { getAddress } from 'viem';
import { checkCode, codeVerdict } from '../../src/contracts/verify/code-checker.js';
import { rpcEndpointFor } from '../../src/contracts/verify/rpc-endpoints.js';
import { logger } from '../../src/logger.js';
import { closedPort } from '../helpers/ports.js';
import { cliEnv, logLines, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startEvmNode, type EvmNode } from './evm-node.js';

const POOL = '11111111-2222-4333-8444-555555555555';
const KEY_IN_URL = 'sEcReTkEy9876543210';

let node: EvmNode;
const database = await useTestDatabase();
let contract: string;
let eoa: string;
let yields: Server;
let yieldsUrl: string;

before(async () => {
  node = await startEvmNode(1);
  contract = await node.deploy('0x600160005260206000f3');
  eoa = node.accounts[1]!;
  // /poolsOld answers 402 (no pro key): the optional source is skipped, verification still runs.
  yields = createServer((_req, res) => {
    res.writeHead(402, { 'content-type': 'text/plain' });
    res.end('Upgrade to the paid API plan');
  });
  await new Promise<void>((resolve) => yields.listen(0, '127.0.0.1', resolve));
  yieldsUrl = `http://127.0.0.1:${(yields.address() as AddressInfo).port}`;
  await database.db.none(
    `INSERT INTO pools (pool_id, chain, project, symbol, tvl_usd, underlying_tokens, reward_tokens, raw)
     VALUES ($1, 'Ethereum', 'demo', 'DEMO', 1000000, $2, $3, '{}')`,
    [POOL, [getAddress(contract)], [eoa.toLowerCase()]],
  );
});

after(async () => {
  await node?.close();
  await new Promise((resolve) => yields?.close(resolve));
});

function env(extra: Record<string, string>) {
  return cliEnv({ DATABASE_URL: database.url, DEFILLAMA_YIELDS_URL: yieldsUrl, ...extra });
}

interface Row {
  address: string;
  contract_type: string;
  confidence: number;
  is_contract: boolean | null;
  verified_at: Date | null;
  verification_method: string | null;
  xmin: string;
}

const rows = () => database.db.manyOrNone<Row>('SELECT address, contract_type, confidence, is_contract, verified_at, verification_method, xmin::text FROM contract_mappings ORDER BY contract_type');

test('checkCode: code present is a contract, an account is not, an EIP-7702 delegation is not', async () => {
  const endpoint = { chainKey: 'ethereum', url: node.url, method: 'eth_getCode via RPC_URL_ETHEREUM' };
  const out = await checkCode(endpoint, [contract.toLowerCase(), eoa.toLowerCase()], { expectedChainId: 1, batchSize: 100, pauseMs: 0, timeoutMs: 5000, retries: 1, retryDelayMs: 10, log: logger() });
  assert.equal(out.warning, undefined);
  assert.equal(out.failed, 0);
  assert.deepEqual(out.results, [
    { address: contract.toLowerCase(), isContract: true, codeSize: 10 },
    { address: eoa.toLowerCase(), isContract: false, codeSize: 0 },
  ]);
  assert.equal(out.httpRequests, 2, 'eth_chainId, then one batch for both addresses');
  assert.deepEqual(codeVerdict(eoa, `0xef0100${contract.slice(2)}`), { address: eoa, isContract: false, codeSize: 23 });
});

test('checkCode: a node of another chain or a dead endpoint gives a warning, never an exception', async () => {
  const wrong = await checkCode({ chainKey: 'arbitrum', url: node.url, method: 'eth_getCode via RPC_URL_ARBITRUM' }, [contract], {
    expectedChainId: 42161, batchSize: 100, pauseMs: 0, timeoutMs: 5000, retries: 0, retryDelayMs: 10, log: logger(),
  });
  assert.match(wrong.warning ?? '', /answers chain id 1, expected 42161/);
  assert.deepEqual(wrong.results, []);

  const dead = await checkCode({ chainKey: 'base', url: `http://127.0.0.1:${await closedPort()}/v2/${KEY_IN_URL}`, method: 'eth_getCode via RPC_URL_BASE' }, [contract], {
    batchSize: 100, pauseMs: 0, timeoutMs: 2000, retries: 1, retryDelayMs: 10, log: logger(),
  });
  assert.equal(dead.results.length, 0);
  assert.equal(dead.failed, 1);
  assert.ok(dead.warning);
});

test('rpc endpoints: RPC_URL_<CHAINKEY> first, then Alchemy for the chains it serves; the URL is never the method', () => {
  const config = { rpcUrls: { ethereum: 'https://rpc.example/key123456' }, alchemyApiKey: 'alchemy-key-0123456789' };
  const own = rpcEndpointFor(config, 'ethereum')!;
  assert.equal(own.url, 'https://rpc.example/key123456');
  assert.equal(own.method, 'eth_getCode via RPC_URL_ETHEREUM');
  const alchemy = rpcEndpointFor(config, 'arbitrum')!;
  assert.equal(alchemy.url, 'https://arb-mainnet.g.alchemy.com/v2/alchemy-key-0123456789');
  assert.equal(alchemy.method, 'eth_getCode via Alchemy (arb-mainnet)');
  assert.equal(rpcEndpointFor(config, 'solana'), undefined);
  assert.equal(rpcEndpointFor({ rpcUrls: {}, alchemyApiKey: undefined }, 'ethereum'), undefined);
});

test('map-contracts verifies mapped addresses on the local node, caches the verdicts and redacts the RPC URL', async () => {
  // ganache serves only "/": the key rides in the query, as some providers put it.
  const rpcUrl = `${node.url}/?key=${KEY_IN_URL}`;
  const first = await runCli(['map-contracts'], env({ RPC_URL_ETHEREUM: rpcUrl }));
  assert.equal(first.code, 0, first.stderr + first.stdout);
  for (const text of [first.stdout, first.stderr]) {
    assert.ok(!text.includes(KEY_IN_URL), 'the RPC URL key must not be printed');
    assert.ok(!text.includes(node.url), 'the RPC URL must not be printed');
  }

  const [reward, underlying] = await rows();
  assert.equal(underlying!.address, contract.toLowerCase());
  assert.equal(underlying!.contract_type, 'underlying_token');
  assert.equal(underlying!.is_contract, true);
  assert.equal(underlying!.confidence, 1);
  assert.equal(underlying!.verification_method, 'eth_getCode via RPC_URL_ETHEREUM');
  assert.ok(underlying!.verified_at instanceof Date);

  assert.equal(reward!.address, eoa.toLowerCase());
  assert.equal(reward!.is_contract, false, 'no code: not a contract');
  assert.equal(reward!.confidence, 0.6, 'an account keeps the confidence of its sources');

  const view = await database.db.one<{ contracts: { address: string }[] }>('SELECT contracts FROM v_top_pools_with_contracts WHERE pool_id = $1', [POOL]);
  assert.deepEqual(view.contracts.map((c) => c.address), [getAddress(contract)], 'the view shows contracts, not accounts');

  const cache = await database.db.manyOrNone('SELECT chain_key, address, is_contract, code_size, method FROM contract_verifications ORDER BY is_contract');
  assert.deepEqual(cache, [
    { chain_key: 'ethereum', address: eoa.toLowerCase(), is_contract: false, code_size: 0, method: 'eth_getCode via RPC_URL_ETHEREUM' },
    { chain_key: 'ethereum', address: contract.toLowerCase(), is_contract: true, code_size: 10, method: 'eth_getCode via RPC_URL_ETHEREUM' },
  ]);
  const tables = JSON.stringify(await database.db.manyOrNone('SELECT * FROM sync_jobs')) + JSON.stringify(await database.db.manyOrNone('SELECT * FROM contract_mappings'));
  assert.ok(!tables.includes(KEY_IN_URL) && !tables.includes(node.url), 'no RPC URL in any table');

  const run = await database.db.one<{ details: { poolsOld: string; warnings: string[]; verification: { checked: number; cached: number } } }>(
    `SELECT details FROM sync_jobs WHERE job_name = 'map-contracts' ORDER BY id DESC LIMIT 1`,
  );
  assert.equal(run.details.poolsOld, 'unavailable');
  assert.ok(run.details.warnings.some((w) => /poolsOld skipped: needs a pro API key \(HTTP 402\)/.test(w)));
  assert.equal(run.details.verification.checked, 2);

  // Within the re-check window the cache answers: no RPC call, no row changes.
  const before = await rows();
  const second = await runCli(['map-contracts'], env({ RPC_URL_ETHEREUM: `http://127.0.0.1:${await closedPort()}/${KEY_IN_URL}` }));
  assert.equal(second.code, 0, second.stderr + second.stdout);
  assert.deepEqual(await rows(), before, 'a rerun with the cache fresh rewrites nothing');
  const again = logLines(second.stdout).find((l) => l.msg === 'map-contracts succeeded');
  assert.ok(again);
  const rerun = await database.db.one<{ details: { verification: { checked: number; cached: number } } }>(
    `SELECT details FROM sync_jobs WHERE job_name = 'map-contracts' ORDER BY id DESC LIMIT 1`,
  );
  assert.equal(rerun.details.verification.cached, 2);
  assert.equal(rerun.details.verification.checked, 0);
});

test('map-contracts succeeds with a dead RPC endpoint, recording a warning', async () => {
  await database.db.none('DELETE FROM contract_verifications');
  const out = await runCli(['map-contracts', '--recheck-days', '1'], env({ RPC_URL_ETHEREUM: `http://127.0.0.1:${await closedPort()}/${KEY_IN_URL}` }));
  assert.equal(out.code, 0, out.stderr + out.stdout);
  assert.ok(!out.stdout.includes(KEY_IN_URL) && !out.stderr.includes(KEY_IN_URL));
  const run = await database.db.one<{ details: { warnings: string[]; verification: { failed: number } } }>(
    `SELECT details FROM sync_jobs WHERE job_name = 'map-contracts' ORDER BY id DESC LIMIT 1`,
  );
  assert.ok(run.details.warnings.some((w) => w.startsWith('on-chain verification:')), JSON.stringify(run.details.warnings));
  assert.equal(run.details.verification.failed, 2);
  assert.ok(!JSON.stringify(run.details).includes(KEY_IN_URL));
  // An unreachable node loses nothing: the mappings keep the verdicts they had.
  const kept = await rows();
  assert.deepEqual(kept.map((r) => [r.is_contract, r.confidence]), [[false, 0.6], [true, 1]]);

  // The next run with a live node checks the addresses again (the cache was emptied) and
  // refreshes when they were verified.
  const live = await runCli(['map-contracts'], env({ RPC_URL_ETHEREUM: node.url }));
  assert.equal(live.code, 0, live.stderr + live.stdout);
  const [reward, underlying] = await rows();
  assert.deepEqual([underlying!.is_contract, underlying!.confidence, reward!.is_contract, reward!.confidence], [true, 1, false, 0.6]);
  assert.ok(underlying!.verified_at!.getTime() > kept[1]!.verified_at!.getTime(), 'verified_at moves to the new check');
  const again = await runCli(['map-contracts'], env({ RPC_URL_ETHEREUM: node.url }));
  assert.equal(again.code, 0);
  const unchanged = await database.db.one<{ records_updated: number; records_created: number }>(
    `SELECT records_updated, records_created FROM sync_jobs WHERE job_name = 'map-contracts' ORDER BY id DESC LIMIT 1`,
  );
  assert.deepEqual([unchanged.records_created, unchanged.records_updated], [0, 0], 'verdicts written through the merge compare equal on the next run');
});

test('--no-verify skips the node entirely; a bad option value is a usage error', async () => {
  const out = await runCli(['map-contracts', '--no-verify'], env({ RPC_URL_ETHEREUM: node.url }));
  assert.equal(out.code, 0, out.stderr + out.stdout);
  const run = await database.db.one<{ details: { verification: { skipped: string } } }>(
    `SELECT details FROM sync_jobs WHERE job_name = 'map-contracts' ORDER BY id DESC LIMIT 1`,
  );
  assert.equal(run.details.verification.skipped, '--no-verify');
  const bad = await runCli(['map-contracts', '--recheck-days', 'soon'], env({}));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /option '--recheck-days <days>' argument 'soon' is invalid\. It must be a whole number from 1 to 36500\./);
  const huge = await runCli(['map-contracts', '--recheck-days', '99999999999999'], env({}));
  assert.equal(huge.code, 2, huge.stderr + huge.stdout);
  assert.equal(huge.stderr.trim(), "error: option '--recheck-days <days>' argument '99999999999999' is invalid. It must be a whole number from 1 to 36500.");
});
