/**
 * The demo (README's first command): serves the offline DeFiLlama replica (and the Moralis
 * stand-in, for token metadata), runs the daily
 * pipeline (`run-all`) with the real CLI on the embedded PostgreSQL, then prints `status` and a
 * few rows of the views. No configuration needed; the warehouse stays in the embedded data
 * directory, so `defi-sync status` afterwards sees the same data.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { openDatabase } from '../src/db/connection.js';
import { defaultDataDir, startEmbedded } from '../src/db/embedded.js';
import { initLogger } from '../src/logger.js';
import { packageRoot } from '../src/paths.js';
import { startMoralisStandIn } from '../replica/moralis.js';
import { startReplica } from '../replica/server.js';
import { renderTable } from '../src/status/table.js';

const cli = join(packageRoot(), 'dist', 'src', 'bin.js');
initLogger({ logLevel: 'warn', logDir: undefined });

function run(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit', env });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const dataDir = process.env.DEFI_SYNC_DATA_DIR || defaultDataDir();
const replica = await startReplica({ port: 0 });
console.log(`\n== offline DeFiLlama replica at ${replica.url}`);
// A key for the local stand-in only: the demo never talks to Moralis itself.
const moralisKey = 'demo-moralis-key';
const moralis = await startMoralisStandIn({ apiKey: moralisKey });
console.log(`== Moralis stand-in at ${moralis.url}`);
// Keep the embedded server up across the CLI runs below; each run attaches to it.
const server = await startEmbedded(dataDir);
console.log(`== embedded PostgreSQL in ${dataDir}\n`);

const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATABASE_URL: '',
  DEFI_SYNC_DATA_DIR: dataDir,
  DEFILLAMA_API_URL: replica.url,
  DEFILLAMA_YIELDS_URL: replica.url,
  DEFILLAMA_PRO_API_URL: replica.url,
  DEFILLAMA_API_KEY: '',
  MORALIS_API_KEY: moralisKey,
  MORALIS_API_URL: moralis.url,
  API_RATE_LIMIT_MS: process.env.API_RATE_LIMIT_MS ?? '0',
};

let code = 1;
try {
  console.log('== defi-sync run-all');
  code = await run(['run-all'], env);
  console.log('\n== defi-sync status');
  await run(['status'], env);

  const { db, close } = openDatabase(server.url, 'defi-sync:demo', 1);
  try {
    const top = await db.manyOrNone(
      `SELECT project, chain, symbol, round(tvl_usd) AS tvl_usd, round(apy::numeric, 2) AS apy, contract_count,
              contracts -> 0 ->> 'address' AS top_contract, contracts -> 0 ->> 'symbol' AS top_symbol
       FROM v_top_pools_with_contracts LIMIT 8`,
    );
    console.log('\n== v_top_pools_with_contracts (top 8 by TVL)');
    console.log(renderTable(['PROJECT', 'CHAIN', 'SYMBOL', 'TVL USD', 'APY %', 'CONTRACTS', 'TOP CONTRACT', 'TOKEN'], top.map((r) => [r.project, r.chain, r.symbol, String(r.tvl_usd), String(r.apy ?? '-'), String(r.contract_count), r.top_contract ?? '-', r.top_symbol ?? '-'])));
    const protocols = await db.manyOrNone(
      `SELECT coalesce(name, '(' || slug || ')') AS name, category, round(tvl) AS tvl, pool_count, round(pool_tvl_usd) AS pool_tvl, round(avg_apy::numeric, 2) AS avg_apy
       FROM v_protocol_summary WHERE pool_count > 0 LIMIT 8`,
    );
    console.log('\n== v_protocol_summary (top 8 with pools)');
    console.log(renderTable(['PROTOCOL', 'CATEGORY', 'TVL', 'POOLS', 'POOL TVL', 'AVG APY %'], protocols.map((r) => [r.name, r.category ?? '-', String(r.tvl ?? '-'), String(r.pool_count), String(r.pool_tvl), String(r.avg_apy ?? '-')])));
    const runs = await db.manyOrNone(`SELECT job_name, status, duration_ms, records_processed, records_created, records_failed FROM v_sync_status ORDER BY job_name`);
    console.log('\n== v_sync_status');
    console.log(renderTable(['JOB', 'STATUS', 'MS', 'PROCESSED', 'CREATED', 'FAILED'], runs.map((r) => [r.job_name, r.status, String(r.duration_ms), String(r.records_processed), String(r.records_created), String(r.records_failed)])));
  } finally {
    await close();
  }
} finally {
  await replica.close();
  await moralis.close();
  await server.release();
}
console.log(code === 0 ? '\nDemo finished: the warehouse is ready. Try `npx defi-sync status`, or `npx defi-sync psql` to query it.' : `\nrun-all exited with ${code}.`);
process.exit(code);
