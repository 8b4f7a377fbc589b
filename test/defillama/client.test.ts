import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { CancelledError } from '../../src/errors.js';
import { createDefiLlamaClient, type ClientOptions } from '../../src/defillama/client.js';
import { retryAfterMs } from '../../src/defillama/http.js';
import {
  InvalidResponseError,
  ItemNotFoundError,
  NetworkError,
  ProRequiredError,
  RequestTimeoutError,
  UpstreamRefusedError,
  UpstreamServerError,
} from '../../src/defillama/errors.js';
import { RequestSpacer } from '../../src/defillama/rate-limiter.js';
import { emptyStats } from '../../src/runs/stats.js';
import { VERSION } from '../../src/version.js';
import { closedPort } from '../helpers/ports.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

let replica: TestReplica;
before(async () => {
  replica = await startTestReplica();
});
after(async () => {
  await replica.close();
});

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

function makeClient(env: Record<string, string> = {}, options: Partial<ClientOptions> = {}, base: TestReplica = replica) {
  const config = loadConfig({ ...base.env(), HTTP_TIMEOUT_MS: '3000', ...env });
  const stats = emptyStats();
  const { log, lines } = captureLogger();
  const client = createDefiLlamaClient(config, { stats, log, retryBaseMs: 5, spacer: new RequestSpacer(), ...options });
  return { client, stats, lines, config };
}

async function fresh(): Promise<void> {
  replica.clearFaults();
  replica.resetRequests();
}

test('fetches every route and validates every record of the replica', async () => {
  await fresh();
  const { client, stats } = makeClient();
  const chains = await client.chains();
  const protocols = await client.protocols();
  const pools = await client.pools();
  const poolsOld = await client.poolsOld();
  for (const r of [chains, protocols, pools, poolsOld]) assert.deepEqual(r.rejected, []);
  assert.equal(chains.records.length, 40);
  assert.equal(protocols.records.length, 80);
  assert.equal(pools.records.length, 300);
  assert.equal(poolsOld.records.length, 300);
  assert.ok(poolsOld.records.some((p) => typeof p.pool_old === 'string'));

  const withTvl = protocols.records.find((p) => typeof p.tvl === 'number' && p.tvl > 0)!;
  const detail = await client.protocol(withTvl.slug);
  assert.equal(detail.name, withTvl.name);
  assert.ok((detail.tvl ?? []).length > 1);
  const chart = await client.poolChart(pools.records[0]!.pool);
  assert.deepEqual(chart.rejected, []);
  assert.ok(chart.records.length > 1);
  assert.equal(stats.apiCalls, 6);
  assert.equal(stats.retries, 0);
  assert.equal(stats.processed + stats.failed, 0, 'the client never counts records');
});

test('sends a User-Agent naming defi-sync and its version, accepts gzip, and logs each call with its timing at debug', async () => {
  await fresh();
  const { client, lines } = makeClient();
  await client.pools();
  const entry = replica.requestLog.at(-1)!;
  assert.equal(entry.userAgent, `defi-sync/${VERSION}`);
  assert.match(entry.acceptEncoding ?? '', /gzip/);
  const call = lines.find((l) => l.msg === 'api call');
  assert.ok(call, 'a debug line per API call');
  assert.equal(call.status, 200);
  assert.equal(typeof call.ms, 'number');
  assert.match(String(call.url), /\/pools$/);
});

test('a 5xx burst is retried with exponential back-off, then succeeds', async () => {
  await fresh();
  replica.setFault('/pools', { kind: 'status', status: 503, times: 3 });
  const { client, stats, lines } = makeClient({}, { retryBaseMs: 100 });
  const result = await client.pools();
  assert.equal(result.records.length, 300);
  assert.equal(replica.requests('/pools'), 4);
  assert.equal(stats.retries, 3);
  assert.equal(stats.apiCalls, 4);
  assert.equal(stats.rateLimitHits, 0);
  const at = replica.requestLog.filter((e) => e.route === '/pools').map((e) => e.at);
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  // base·2^(n-1) with jitter in [0.5, 1.5): 50–150, 100–300, 200–600 ms
  assert.ok(gaps[0]! >= 45, `first back-off ${gaps[0]}`);
  assert.ok(gaps[2]! > gaps[0]!, `back-off grows: ${gaps.join(', ')}`);
  assert.ok(gaps[2]! >= 195, `third back-off ${gaps[2]}`);
  assert.equal(lines.filter((l) => l.level === 40 && String(l.msg).startsWith('retrying')).length, 3);
});

test('429 honours Retry-After in seconds', async () => {
  await fresh();
  replica.setFault('/v2/chains', { kind: 'status', status: 429, retryAfter: 1, times: 1 });
  const { client, stats } = makeClient();
  const started = performance.now();
  await client.chains();
  assert.ok(performance.now() - started >= 950, 'waited the second Retry-After asked for');
  assert.equal(stats.rateLimitHits, 1);
  assert.equal(stats.retries, 1);
});

test('429 honours Retry-After as an HTTP date', async () => {
  await fresh();
  const when = new Date(Date.now() + 2500).toUTCString(); // whole seconds: 1.5–2.5 s from now
  replica.setFault('/v2/chains', { kind: 'status', status: 429, retryAfter: when, times: 1 });
  const { client, stats } = makeClient();
  const started = performance.now();
  await client.chains();
  assert.ok(performance.now() - started >= 1400, 'waited until the date');
  assert.equal(stats.rateLimitHits, 1);
});

// Bounded: without the cap the client would wait the hour asked for, and this fails instead.
test('Retry-After is capped', { timeout: 15_000 }, async () => {
  await fresh();
  replica.setFault('/v2/chains', { kind: 'status', status: 429, retryAfter: 3600, times: 1 });
  const { client, stats } = makeClient({}, { maxRetryAfterMs: 20 });
  const result = await client.chains();
  assert.equal(result.records.length, 40);
  assert.deepEqual([stats.rateLimitHits, stats.retries], [1, 1]);
});

test('retryAfterMs reads seconds and HTTP dates', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  assert.equal(retryAfterMs('3', now), 3000);
  assert.equal(retryAfterMs('Sat, 01 Mar 2025 12:00:05 GMT', now), 5000);
  assert.equal(retryAfterMs('Sat, 01 Mar 2025 11:00:00 GMT', now), 0);
  assert.equal(retryAfterMs('soon', now), undefined);
  assert.equal(retryAfterMs(undefined, now), undefined);
});

test('429 on every attempt: UpstreamRefusedError after 3 retries', async () => {
  await fresh();
  replica.setFault('/protocols', { kind: 'status', status: 429 });
  const { client, stats } = makeClient();
  await assert.rejects(client.protocols(), (e: unknown) => e instanceof UpstreamRefusedError && /HTTP 429/.test(e.message));
  assert.equal(replica.requests('/protocols'), 4);
  assert.equal(stats.rateLimitHits, 4);
  assert.equal(stats.retries, 3);
});

test('5xx on every attempt: UpstreamServerError', async () => {
  await fresh();
  replica.setFault('/protocols', { kind: 'status', status: 500 });
  const { client } = makeClient();
  await assert.rejects(client.protocols(), UpstreamServerError);
  assert.equal(replica.requests('/protocols'), 4);
});

test('other 4xx are never retried', async () => {
  await fresh();
  const { client, stats } = makeClient();
  replica.setFault('/protocols', { kind: 'status', status: 403 });
  await assert.rejects(client.protocols(), (e: unknown) => e instanceof UpstreamRefusedError && /HTTP 403/.test(e.message));
  replica.setFault('/v2/chains', { kind: 'status', status: 404 });
  await assert.rejects(client.chains(), (e: unknown) => e instanceof InvalidResponseError && /HTTP 404/.test(e.message));
  replica.setFault('/pools', { kind: 'status', status: 401 });
  await assert.rejects(client.pools(), InvalidResponseError);
  assert.equal(replica.requests('/protocols'), 1);
  assert.equal(replica.requests('/v2/chains'), 1);
  assert.equal(replica.requests('/pools'), 1);
  assert.equal(stats.retries, 0);
});

test('items that do not exist: ItemNotFoundError on the two 400 bodies, without retries', async () => {
  await fresh();
  const { client, stats } = makeClient();
  await assert.rejects(client.protocol('no-such-protocol'), (e: unknown) => e instanceof ItemNotFoundError && /^protocol no-such-protocol not found upstream .*Protocol not found/.test(e.message));
  await assert.rejects(client.poolChart('not-a-uuid'), (e: unknown) => e instanceof ItemNotFoundError && /invalid configID/.test(e.message));
  assert.equal(stats.apiCalls, 2);
  // A well-formed id the API does not know answers an empty series.
  const empty = await client.poolChart('00000000-0000-4000-8000-000000000000');
  assert.deepEqual(empty, { records: [], rejected: [] });
});

test('402 on a pro-only route without a key: ProRequiredError; with a key the pro layout is used', async () => {
  const pro = await startTestReplica({ proOnly: true });
  try {
    const free = makeClient({}, {}, pro);
    await assert.rejects(free.client.poolsOld(), (e: unknown) => e instanceof ProRequiredError && /DEFILLAMA_API_KEY/.test(e.message));
    assert.equal(pro.requests('/poolsOld'), 1, 'not retried');
    const keyed = makeClient({ DEFILLAMA_API_KEY: 'pro-key-0123456789' }, {}, pro);
    const result = await keyed.client.poolsOld();
    assert.equal(result.records.length, 300);
    const entry = pro.requestLog.at(-1)!;
    assert.equal(entry.path, '/pro-key-0123456789/yields/poolsOld');
    assert.equal(entry.pro, true);
    await keyed.client.protocols();
    assert.equal(pro.requestLog.at(-1)!.path, '/pro-key-0123456789/api/protocols');
  } finally {
    await pro.close();
  }
});

test('a request that never answers: RequestTimeoutError after retries', async () => {
  await fresh();
  replica.setFault('/v2/chains', { kind: 'timeout' });
  const { client, stats } = makeClient({ HTTP_TIMEOUT_MS: '150' });
  await assert.rejects(client.chains(), (e: unknown) => e instanceof RequestTimeoutError && /HTTP_TIMEOUT_MS/.test(e.message));
  assert.equal(replica.requests('/v2/chains'), 4);
  assert.equal(stats.retries, 3);
});

test('a slow answer within the timeout is fine', async () => {
  await fresh();
  replica.setFault('/v2/chains', { kind: 'slow', delayMs: 150 });
  const { client } = makeClient({ HTTP_TIMEOUT_MS: '3000' });
  assert.equal((await client.chains()).records.length, 40);
});

test('whole-response failures name the redacted URL, what was wrong and an excerpt', async () => {
  await fresh();
  const { client, stats } = makeClient();
  replica.setFault('/pools', { kind: 'truncate', times: 1 });
  await assert.rejects(client.pools(), (e: unknown) => e instanceof InvalidResponseError && /\/pools returned a truncated JSON body/.test(e.message) && e.message.includes('{\\"status\\":\\"success\\"'));
  replica.setFault('/protocols', { kind: 'html', times: 1 });
  await assert.rejects(client.protocols(), (e: unknown) => e instanceof InvalidResponseError && /\/protocols returned an HTML page/.test(e.message) && /DOCTYPE/.test(e.message));
  replica.setFault('/v2/chains', { kind: 'wrong-shape', times: 1 });
  await assert.rejects(client.chains(), (e: unknown) => e instanceof InvalidResponseError && /an object where a JSON array was expected/.test(e.message));
  replica.setFault('/pools', { kind: 'wrong-shape', times: 1 });
  await assert.rejects(client.pools(), (e: unknown) => e instanceof InvalidResponseError && /status "error" instead of "success"/.test(e.message));
  const slug = (await replica.get<{ slug: string }[]>('/protocols'))[0]!.slug;
  replica.setFault('/protocol/*', { kind: 'wrong-shape', times: 1 });
  await assert.rejects(client.protocol(slug), (e: unknown) => e instanceof InvalidResponseError && /instead of a protocol object/.test(e.message));
  replica.setFault('/pools', { kind: 'status', status: 200, body: 'not json at all', times: 1 });
  await assert.rejects(client.pools(), (e: unknown) => e instanceof InvalidResponseError && /not valid JSON/.test(e.message) && /not json at all/.test(e.message));
  assert.equal(stats.retries, 0, 'an unusable body is not retried');
});

test('a body over MAX_RESPONSE_BYTES is refused without retries', async () => {
  await fresh();
  const { client, stats } = makeClient({ MAX_RESPONSE_BYTES: '2048' });
  await assert.rejects(client.pools(), (e: unknown) => e instanceof InvalidResponseError && /MAX_RESPONSE_BYTES/.test(e.message));
  assert.equal(stats.retries, 0);
  assert.equal(replica.requests('/pools'), 1);
});

test('a compressed body that would exceed MAX_RESPONSE_BYTES once decompressed is refused', async () => {
  await fresh();
  const url = `${replica.env().DEFILLAMA_YIELDS_URL}/pools`;
  // node:http, which (unlike fetch) hands over the bytes as sent.
  const size = (encoding: string) =>
    new Promise<number>((resolve, reject) => {
      get(url, { headers: { 'Accept-Encoding': encoding } }, (res) => {
        let n = 0;
        res.on('data', (chunk: Buffer) => (n += chunk.length));
        res.on('end', () => resolve(n));
      }).on('error', reject);
    });
  const compressed = await size('gzip');
  const plain = await size('identity');
  assert.ok(compressed < plain / 2, `the replica compresses /pools (${compressed} of ${plain} bytes)`);
  replica.resetRequests();
  const limit = Math.floor((compressed + plain) / 2);
  const { client, stats } = makeClient({ MAX_RESPONSE_BYTES: String(limit) });
  await assert.rejects(client.pools(), (e: unknown) => e instanceof InvalidResponseError && e.message.includes(`larger than MAX_RESPONSE_BYTES (${limit} bytes)`));
  assert.equal(stats.retries, 0);
  assert.equal(replica.requests('/pools'), 1);
  const { client: roomy } = makeClient({ MAX_RESPONSE_BYTES: String(plain) });
  assert.equal((await roomy.pools()).records.length, 300, 'a limit the body meets exactly is enough');
});

test('malformed records are rejected one by one with their reason; the rest load; the log gets one line with a sample', async () => {
  await fresh();
  replica.setFault('/pools', { kind: 'malformed', count: 3, times: 1 });
  const { client, lines } = makeClient();
  const result = await client.pools();
  assert.equal(result.records.length, 297);
  assert.equal(result.rejected.length, 3);
  const reasons = result.rejected.map((r) => r.reason).join(' | ');
  assert.match(reasons, /tvlUsd: .*expected number/);
  assert.match(reasons, /pool: /);
  assert.ok(result.rejected.every((r) => Number.isInteger(r.index)));
  assert.ok(result.rejected.some((r) => typeof r.key === 'string' && /^[0-9a-f-]{36}$/.test(r.key)), 'the pool id names the record when it is there');

  replica.setFault('/protocols', { kind: 'malformed', count: 20, times: 1 });
  const protocols = await client.protocols();
  assert.equal(protocols.rejected.length, 20);
  assert.equal(protocols.records.length, 60);
  const warns = lines.filter((l) => l.level === 40 && /malformed record/.test(String(l.msg)));
  assert.equal(warns.length, 2, 'one line per response, not per record');
  const last = warns.at(-1)!;
  assert.equal(last.rejected, 20);
  assert.equal((last.sample as unknown[]).length, 5);
});

test('a refused connection: NetworkError after retries', async () => {
  const port = await closedPort();
  const config = loadConfig({ DEFILLAMA_API_URL: `http://127.0.0.1:${port}`, API_RATE_LIMIT_MS: '0' });
  const stats = emptyStats();
  const client = createDefiLlamaClient(config, { stats, log: captureLogger().log, retryBaseMs: 5, spacer: new RequestSpacer() });
  await assert.rejects(client.chains(), NetworkError);
  assert.equal(stats.apiCalls, 4);
  assert.equal(stats.retries, 3);
});

test('the abort signal cancels a request in flight', async () => {
  await fresh();
  replica.setFault('/v2/chains', { kind: 'timeout' });
  const controller = new AbortController();
  const { client } = makeClient({ HTTP_TIMEOUT_MS: '60000' }, { signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  await assert.rejects(client.chains(), CancelledError);
  assert.equal(replica.requests('/v2/chains'), 1);
});

test('request starts are spaced by the rate limit whatever the concurrency, across clients', async () => {
  await fresh();
  const spacer = new RequestSpacer();
  const a = makeClient({}, { spacer, rateLimitMs: 100 });
  const b = makeClient({}, { spacer, rateLimitMs: 100 });
  const t0 = performance.now();
  await Promise.all([a.client.chains(), b.client.chains(), a.client.chains(), b.client.chains(), a.client.chains(), b.client.chains()]);
  // A request can arrive late (scheduling, parsing in this process) but never before its slot.
  const at = replica.requestLog.filter((e) => e.route === '/v2/chains').map((e) => e.at).sort((x, y) => x - y);
  assert.equal(at.length, 6);
  at.forEach((t, k) => assert.ok(t - t0 >= k * 100 - 2, `request ${k} arrived ${(t - t0).toFixed(1)} ms after the start`));
});

test('retries also wait for their turn in the spacing', async () => {
  await fresh();
  replica.setFault('/v2/chains', { kind: 'status', status: 503, times: 2 });
  const { client } = makeClient({}, { rateLimitMs: 150, retryBaseMs: 1 });
  const t0 = performance.now();
  await client.chains();
  const at = replica.requestLog.filter((e) => e.route === '/v2/chains').map((e) => e.at);
  assert.equal(at.length, 3);
  at.forEach((t, k) => assert.ok(t - t0 >= k * 150 - 2, `attempt ${k} arrived ${(t - t0).toFixed(1)} ms after the start`));
});
