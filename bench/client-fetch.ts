/**
 * Child process of the client benchmark: fetches, parses and validates /pools from the replica
 * at the given URL with the real client, then prints one JSON line of figures. Run on its own so
 * its peak RSS is the client's alone.
 *
 *   node dist/bench/client-fetch.js <replica url> [pools|poolsOld|protocols]
 */
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { createDefiLlamaClient } from '../src/defillama/client.js';
import { emptyStats } from '../src/runs/stats.js';

const [url, route = 'pools'] = process.argv.slice(2);
if (!url) throw new Error('usage: client-fetch <replica url> [pools|poolsOld|protocols]');
const config = loadConfig({ DEFILLAMA_API_URL: url, DEFILLAMA_YIELDS_URL: url, API_RATE_LIMIT_MS: '0' });
const client = createDefiLlamaClient(config, { stats: emptyStats(), log: pino({ level: 'warn' }) });
const rssBefore = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = route === 'poolsOld' ? await client.poolsOld() : route === 'protocols' ? await client.protocols() : await client.pools();
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    route,
    records: result.records.length,
    rejected: result.rejected.length,
    ms: Math.round(ms),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    rssBeforeMb: Math.round(rssBefore / 1e6),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
