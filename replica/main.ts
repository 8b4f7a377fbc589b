/**
 * `npm run replica -- --port <p> [--seed S] [--pools N] [--protocols N] [--chains N] [--data-dir DIR]
 *  [--heavy-protocol-mb N] [--fault route=kind[:arg][,key=value...]]... [--moralis-key KEY [--moralis-port P]]`: serves the offline
 *  DeFiLlama replica (and, with --moralis-key, the Moralis stand-in on its own port) until stopped.
 */
import { Command, InvalidArgumentError } from 'commander';
import { parseFaultSpec, type Fault } from './faults.js';
import { startMoralisStandIn } from './moralis.js';
import { startReplica } from './server.js';

function integer(min: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return n;
  };
}

function fault(raw: string, previous: { route: string; fault: Fault }[]): { route: string; fault: Fault }[] {
  try {
    return [...previous, parseFaultSpec(raw)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const program = new Command('replica')
  .description('Offline replica of the DeFiLlama API (free and pro URL layouts on one port).')
  .option('--port <port>', 'port to listen on (0: any free port)', integer(0), 0)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--seed <seed>', 'seed of the generated data', integer(0), 1)
  .option('--pools <n>', 'pools on day 0', integer(0), 17_000)
  .option('--protocols <n>', 'protocols on day 0', integer(0), 8_000)
  .option('--chains <n>', 'chains', integer(1), 400)
  .option('--history-days <n>', 'longest history served by /chart and /protocol', integer(1), 365)
  .option('--start-date <YYYY-MM-DD>', 'date of day 0 (default: today, UTC)')
  .option('--data-dir <dir>', 'serve recorded responses from this directory instead of generated data')
  .option('--heavy-protocol-mb <n>', "make the largest protocol's /protocol body about N MB (real shape: grown tokens and tokensInUsd series)", integer(0), 0)
  .option('--pro-only', 'answer /poolsOld with 402 unless called through the pro layout /<key>/yields/poolsOld')
  .option('--fault <spec>', 'route=kind[:arg][,key=value...], e.g. /pools=status:429,retryAfter=1,times=2 (repeatable)', fault, [])
  .option('--moralis-key <key>', "also serve Moralis' /erc20/metadata, requiring this X-API-Key")
  .option('--moralis-port <port>', 'port of the Moralis stand-in (0: any free port)', integer(0), 0)
  .showHelpAfterError();

program.parse();
const o = program.opts<{
  port: number; host: string; seed: number; pools: number; protocols: number; chains: number; historyDays: number;
  startDate?: string; dataDir?: string; proOnly?: boolean; fault: { route: string; fault: Fault }[]; heavyProtocolMb: number;
  moralisKey?: string; moralisPort: number;
}>();

if (o.startDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(o.startDate)) program.error('--start-date must be YYYY-MM-DD');

const replica = await startReplica({
  port: o.port, host: o.host, seed: o.seed, pools: o.pools, protocols: o.protocols, chains: o.chains,
  historyDays: o.historyDays, startDate: o.startDate, dataDir: o.dataDir, proOnly: o.proOnly, faults: o.fault,
  heavyProtocolMb: o.heavyProtocolMb,
});
const started = performance.now();
replica.warm();
const what = o.dataDir ? `recorded responses from ${o.dataDir}` : `seed ${o.seed}, ${o.pools} pools, ${o.protocols} protocols, ${o.chains} chains, day 0 = ${replica.date}`;
console.log(`DeFiLlama replica at ${replica.url} (${what}; ready in ${Math.round(performance.now() - started)} ms)`);
console.log(`  DEFILLAMA_API_URL=${replica.url} DEFILLAMA_YIELDS_URL=${replica.url} DEFILLAMA_PRO_API_URL=${replica.url}`);
console.log(`  control: POST ${replica.url}/__replica/next-day, POST|DELETE ${replica.url}/__replica/faults, GET ${replica.url}/__replica/state`);
const moralis = o.moralisKey ? await startMoralisStandIn({ apiKey: o.moralisKey, host: o.host, port: o.moralisPort }) : undefined;
// The key was given on this command line; it is not echoed back.
if (moralis) console.log(`Moralis stand-in: MORALIS_API_URL=${moralis.url} (MORALIS_API_KEY: the --moralis-key value)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all([replica.close(), moralis?.close()]).finally(() => process.exit(0));
  });
}
