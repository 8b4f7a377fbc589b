/**
 * The Moralis client against loopback servers: the documented answer is read (decimals and flags
 * as strings), records not asked for or malformed are rejected and counted, a 429 is retried
 * after Retry-After through the shared HTTP machinery, 401/403 are configuration errors naming
 * MORALIS_API_KEY (exit 2), the key is sent only as the X-API-Key header, a gzip error page is
 * excerpted decompressed and masked, and a body that does not decompress is retried, then named.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { RequestSpacer } from '../../src/defillama/rate-limiter.js';
import { ConfigError, exitCodeFor } from '../../src/errors.js';
import { emptyStats } from '../../src/runs/stats.js';
import { logger } from '../../src/logger.js';
import { moralisChainForKey } from '../../src/moralis/chains.js';
import { createMoralisClient, MoralisRequestError } from '../../src/moralis/client.js';
import { startMoralisStandIn } from '../../replica/moralis.js';

const KEY = 'client-test-key-0123456789';
const A = '0x1111111111111111111111111111111111111111';
const B = '0x2222222222222222222222222222222222222222';

const servers: Server[] = [];
after(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A server that answers every request with `status` and `body`, recording what it was sent. */
async function serve(status: number, body: unknown, seen: { url: string; headers: IncomingHttpHeaders }[] = []): Promise<string> {
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2.2`;
}

function client(url: string, stats = emptyStats()) {
  const config = { moralisApiKey: KEY, moralisApiUrl: url, httpTimeoutMs: 5000, maxResponseBytes: 1 << 20, apiRateLimitMs: 0 };
  return createMoralisClient(config, { stats, log: logger(), retryBaseMs: 5, spacer: new RequestSpacer() });
}

test('chain keys map to the names Moralis accepts; other chains have none', () => {
  assert.equal(moralisChainForKey('ethereum'), 'eth');
  assert.equal(moralisChainForKey('bsc'), 'bsc');
  assert.equal(moralisChainForKey('avax'), 'avalanche');
  assert.equal(moralisChainForKey('xdai'), 'gnosis');
  assert.equal(moralisChainForKey('scroll'), undefined);
  assert.equal(moralisChainForKey('solana'), undefined);
});

test('the documented shape is read; records not asked for or malformed are rejected; the key is only a header', async () => {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const url = await serve(200, [
    { address: A.toUpperCase().replace('0X', '0x'), name: 'Alpha', symbol: 'ALP', decimals: '18', possible_spam: 'false', verified_contract: true },
    { address: B, name: null, symbol: '', decimals: '', possible_spam: true },
    { address: '0x3333333333333333333333333333333333333333', name: 'Not asked', symbol: 'NA', decimals: '6' },
    { name: 'no address' },
  ], seen);
  const out = await client(url).tokenMetadata('eth', [A, B]);
  assert.deepEqual(out.tokens, [
    { address: A, name: 'Alpha', symbol: 'ALP', decimals: 18, possibleSpam: false, verifiedContract: true },
    { address: B, name: null, symbol: null, decimals: null, possibleSpam: true, verifiedContract: null },
  ]);
  assert.equal(out.rejected, 2);
  assert.equal(seen.length, 1);
  const sent = new URL(seen[0]!.url, 'http://x');
  assert.equal(sent.pathname, '/api/v2.2/erc20/metadata');
  assert.deepEqual([...sent.searchParams.entries()], [['chain', 'eth'], ['addresses[0]', A], ['addresses[1]', B]]);
  assert.equal(seen[0]!.headers['x-api-key'], KEY);
  assert.ok(!seen[0]!.url.includes(KEY));
});

test('401 and 403 are configuration errors naming MORALIS_API_KEY (exit 2); other statuses are request errors', async () => {
  for (const status of [401, 403]) {
    const error = await client(await serve(status, { message: `refused ${KEY}` })).tokenMetadata('eth', [A]).catch((e: unknown) => e);
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(exitCodeFor(error), 2);
    assert.match(error.message, new RegExp(`Moralis refused MORALIS_API_KEY \\(HTTP ${status}`));
    assert.ok(!error.message.includes(KEY));
  }
  const other = await client(await serve(400, { message: `bad chain; key was ${KEY}` })).tokenMetadata('eth', [A]).catch((e: unknown) => e);
  assert.ok(other instanceof MoralisRequestError, String(other));
  assert.match(other.message, /HTTP 400/);
  assert.ok(!other.message.includes(KEY), 'a body echoing the key is redacted');
  // Wherever the excerpt's cut falls, no part of the key survives it.
  for (const at of [100, 150, 155, 159, 160]) {
    const cut = await client(await serve(400, `${'e'.repeat(at - 5)}key=${KEY} and more`)).tokenMetadata('eth', [A]).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e as Error,
    );
    assert.match(cut.message, /HTTP 400/);
    for (let n = 3; n <= KEY.length; n++) assert.ok(!cut.message.includes(KEY.slice(0, n)), `key at ${at} leaks ${KEY.slice(0, n)}: ${cut.message}`);
  }
});

test('a gzip error page reaches the excerpt decompressed and masked; a body that does not decompress is retried, then named', async () => {
  let requests = 0;
  let answer: { status: number; body: Buffer } = { status: 400, body: gzipSync(`{"message":"bad chain; key was ${KEY}"}`) };
  const server = createServer((_req, res) => {
    requests += 1;
    res.writeHead(answer.status, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
    res.end(answer.body);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2.2`;

  const page = await client(url).tokenMetadata('eth', [A]).catch((e: unknown) => e as Error);
  assert.ok(page instanceof MoralisRequestError, String(page));
  assert.match(page.message, /HTTP 400 .*bad chain; key was /);
  assert.ok(!page.message.includes(KEY), page.message);

  answer = { status: 200, body: Buffer.from('definitely not gzip') };
  requests = 0;
  const stats = emptyStats();
  const broken = await client(url, stats).tokenMetadata('eth', [A]).catch((e: unknown) => e as Error);
  assert.ok(broken instanceof MoralisRequestError, String(broken));
  assert.match(broken.message, /erc20\/metadata\?chain=eth \(1 addresses\) returned a body that does not decompress \(incorrect header check\), after retries$/);
  assert.deepEqual([requests, stats.retries], [4, 3]);
});

test('a body over MAX_RESPONSE_BYTES is named as such, not retried, and no part of the key is shown', async () => {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const url = await serve(200, [{ address: A, name: 'x'.repeat(1 << 20) }], seen);
  const error = await client(url).tokenMetadata('eth', [A]).catch((e: unknown) => e as Error);
  assert.ok(error instanceof MoralisRequestError, String(error));
  assert.match(error.message, /erc20\/metadata\?chain=eth \(1 addresses\) is larger than MAX_RESPONSE_BYTES \(1048576 bytes\)$/);
  assert.ok(!error.message.includes(KEY), error.message);
  assert.equal(seen.length, 1);
});

test('a 429 is retried after Retry-After and counted; the stand-in serves the retry', async () => {
  const standIn = await startMoralisStandIn({ apiKey: KEY, rateLimitFirst: 1, retryAfterSeconds: 0 });
  try {
    const stats = emptyStats();
    const out = await client(standIn.url, stats).tokenMetadata('base', [A]);
    assert.equal(out.tokens.length, 1);
    assert.equal(typeof out.tokens[0]!.decimals, 'number');
    assert.deepEqual(standIn.requests.map((r) => r.status), [429, 200]);
    assert.deepEqual([stats.apiCalls, stats.rateLimitHits, stats.retries], [2, 1, 1]);
  } finally {
    await standIn.close();
  }
});

test('a redirect is not followed: the key never reaches another host', async () => {
  const elsewhere: { url: string; headers: IncomingHttpHeaders }[] = [];
  const target = await serve(200, [], elsewhere);
  const server = createServer((req, res) => {
    res.writeHead(302, { location: `${target}${req.url?.replace(/^\/api\/v2\.2/, '') ?? ''}` });
    res.end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stats = emptyStats();
  await assert.rejects(client(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2.2`, stats).tokenMetadata('eth', [A]), MoralisRequestError);
  assert.equal(elsewhere.length, 0, 'the redirect target was never asked');
});
