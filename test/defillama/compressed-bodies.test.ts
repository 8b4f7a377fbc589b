/**
 * Compressed response bodies through the real client and a loopback server: each encoding decodes,
 * MAX_RESPONSE_BYTES bounds the decompressed size (a bomb is cut off, not inflated), bodies damaged
 * on the way are asked for again and then named, an unknown encoding is refused by name, and error
 * pages reach their excerpt decompressed and masked.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { createDefiLlamaClient } from '../../src/defillama/client.js';
import { InvalidResponseError, UpstreamServerError } from '../../src/defillama/errors.js';
import { RequestSpacer } from '../../src/defillama/rate-limiter.js';
import { emptyStats } from '../../src/runs/stats.js';

/** A /v2/chains body of 20,000 records: over 1 MB, many zlib chunks. */
const CHAINS = Array.from({ length: 20_000 }, (_, i) => ({ name: `chain-${i}`, gecko_id: null, tvl: i * 7, tokenSymbol: 'T', cmcId: null, chainId: i }));
const json = Buffer.from(JSON.stringify(CHAINS));

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>;

const servers: Server[] = [];
after(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A loopback server answering with `handler`; `served()` counts requests. */
async function serve(handler: Handler): Promise<{ url: string; served: () => number }> {
  let n = 0;
  const server = createServer((req, res) => void handler(req, res, ++n));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served: () => n };
}

function encoded(bytes: Buffer, encoding?: string, status = 200): Handler {
  return (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...(encoding ? { 'Content-Encoding': encoding } : {}) });
    res.end(bytes);
  };
}

function makeClient(url: string, env: Record<string, string> = {}) {
  const config = loadConfig({ DEFILLAMA_API_URL: url, API_RATE_LIMIT_MS: '0', HTTP_TIMEOUT_MS: '5000', ...env });
  const stats = emptyStats();
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const client = createDefiLlamaClient(config, { stats, log, retryBaseMs: 5, spacer: new RequestSpacer() });
  return { client, stats, lines };
}

const ENCODINGS: [string, string | undefined, Buffer][] = [
  ['gzip', 'gzip', gzipSync(json)],
  ['gzip in two members', 'gzip', Buffer.concat([gzipSync(json.subarray(0, 1000)), gzipSync(json.subarray(1000))])],
  ['x-gzip', 'x-gzip', gzipSync(json)],
  ['deflate (zlib-wrapped)', 'deflate', deflateSync(json)],
  ['deflate (raw)', 'deflate', deflateRawSync(json)],
  ['br', 'br', brotliCompressSync(json)],
  ['identity', 'identity', json],
  ['no encoding', undefined, json],
];

test('gzip, deflate (wrapped or raw) and br bodies decode; identity bodies pass', async () => {
  for (const [what, encoding, bytes] of ENCODINGS) {
    const { url } = await serve(encoded(bytes, encoding));
    // At the largest limit MAX_RESPONSE_BYTES accepts too.
    for (const limit of ['134217728', '524288000']) {
      const chains = await makeClient(url, { MAX_RESPONSE_BYTES: limit }).client.chains();
      assert.deepEqual(chains.rejected, [], what);
      assert.equal(chains.records.length, CHAINS.length, what);
      assert.equal(chains.records.at(-1)!.name, 'chain-19999', what);
    }
  }
});

test('MAX_RESPONSE_BYTES bounds the decompressed size, whatever the encoding, without retries', async () => {
  for (const [what, encoding, bytes] of ENCODINGS) {
    const { url, served } = await serve(encoded(bytes, encoding));
    const { client, stats } = makeClient(url, { MAX_RESPONSE_BYTES: String(json.length - 1) });
    await assert.rejects(
      client.chains(),
      (e: unknown) => e instanceof InvalidResponseError && e.message === `response from ${url}/v2/chains is larger than MAX_RESPONSE_BYTES (${json.length - 1} bytes)`,
      what,
    );
    assert.equal(stats.retries, 0, what);
    assert.equal(served(), 1, what);
    assert.equal((await makeClient(url, { MAX_RESPONSE_BYTES: String(json.length) }).client.chains()).records.length, CHAINS.length, `${what}: a limit the body meets exactly is enough`);
  }
});

test('a decompression bomb is cut off at the limit instead of being inflated', async () => {
  // 4,096 gzip members of 16 MiB of zeros each: 64 GiB once decompressed, from 64 MB sent.
  const member = gzipSync(Buffer.alloc(16 << 20));
  const members = 4096;
  let written = 0;
  let closed: Promise<unknown> = Promise.resolve();
  const { url } = await serve(async (_req, res) => {
    closed = once(res, 'close');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    while (written < members && !res.destroyed) {
      written += 1;
      if (!res.write(member)) await Promise.race([once(res, 'drain'), closed]);
    }
    res.end();
  });
  const { client, stats } = makeClient(url, { MAX_RESPONSE_BYTES: String(1 << 20) });
  await assert.rejects(client.chains(), (e: unknown) => e instanceof InvalidResponseError && /larger than MAX_RESPONSE_BYTES \(1048576 bytes\)/.test(e.message));
  await closed;
  assert.equal(stats.retries, 0);
  assert.ok(written < members / 2, `the client stopped reading (${written} of ${members} members sent)`);
});

test('a body damaged on the way is asked for again; one that stays damaged fails the call, named', async () => {
  const gz = gzipSync(json);
  const corrupt: [string, Handler, RegExp][] = [
    ['gzip', encoded(Buffer.from('definitely not gzip'), 'gzip'), /a body that does not decompress \(incorrect header check\)/],
    ['gzip damaged inside', encoded(Buffer.concat([gz.subarray(0, 1000), Buffer.alloc(200, 0x55), gz.subarray(1200)]), 'gzip'), /a body that does not decompress \(/],
    ['gzip with a wrong checksum', encoded(Buffer.concat([gz.subarray(0, -8), Buffer.from([0, 0, 0, 0]), gz.subarray(-4)]), 'gzip'), /a body that does not decompress \(incorrect data check\)/],
    ['deflate', encoded(Buffer.from('definitely not deflate'), 'deflate'), /a body that does not decompress \(/],
    ['br', encoded(Buffer.from('definitely not brotli at all'), 'br'), /a body that does not decompress \(/],
    ...(['gzip', undefined] as const).map((encoding): [string, Handler, RegExp] => [
      `a ${encoding ?? 'plain'} body whose connection breaks off`,
      (_req, res) => {
        const bytes = encoding ? gz : json;
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(bytes.length), ...(encoding ? { 'Content-Encoding': encoding } : {}) });
        res.write(bytes.subarray(0, bytes.length >> 1), () => res.socket?.destroy());
      },
      /a body cut short \(/,
    ]),
  ];
  for (const [what, damaged, named] of corrupt) {
    let failing = 1;
    const { url, served } = await serve((req, res, n) => (n <= failing ? damaged(req, res, n) : encoded(gz, 'gzip')(req, res, n)));
    const { client, stats, lines } = makeClient(url);
    assert.equal((await client.chains()).records.length, CHAINS.length, what);
    assert.equal(served(), 2, what);
    assert.equal(stats.retries, 1, what);
    assert.ok(lines.some((l) => l.level === 40 && /^retrying /.test(String(l.msg)) && named.test(String(l.msg))), `${what}: ${JSON.stringify(lines.filter((l) => l.level === 40))}`);

    failing = Infinity;
    const before = served();
    await assert.rejects(
      client.chains(),
      (e: unknown) => e instanceof InvalidResponseError && e.message.startsWith(`${url}/v2/chains returned a body`) && named.test(e.message) && e.message.endsWith(', after retries'),
      what,
    );
    assert.equal(served() - before, 4, `${what}: the first answer and 3 retries`);
  }
});

test('a compressed stream that ends early but cleanly reaches the parser, named as truncated, not retried', async () => {
  const gz = gzipSync(json);
  const { url, served } = await serve(encoded(gz.subarray(0, gz.length >> 1), 'gzip'));
  const { client, stats } = makeClient(url);
  await assert.rejects(client.chains(), (e: unknown) => e instanceof InvalidResponseError && /returned a truncated JSON body/.test(e.message) && e.message.includes('chain-0'));
  assert.equal(stats.retries, 0);
  assert.equal(served(), 1);
});

test('a body in an encoding the client cannot read is refused by name, without retries', async () => {
  const { url, served } = await serve(encoded(json, 'bzip2'));
  const { client, stats } = makeClient(url);
  await assert.rejects(client.chains(), (e: unknown) => e instanceof InvalidResponseError && e.message === `${url}/v2/chains returned a body in an unknown encoding ("bzip2")`);
  assert.equal(stats.retries, 0);
  assert.equal(served(), 1);
});

test('error pages reach their excerpt decompressed and masked', async () => {
  const key = 'llama-pro-key-7a2e91c04b';
  for (const [encoding, compress] of [['gzip', gzipSync], ['br', brotliCompressSync], ['deflate', deflateRawSync]] as const) {
    const page = `<html><body>Bad Gateway: upstream /${key}/yields/pools refused</body></html>`;
    const { url } = await serve(encoded(compress(page), encoding, 502));
    const { client } = makeClient(url, { DEFILLAMA_API_KEY: key, DEFILLAMA_PRO_API_URL: url });
    const error = await client.pools().then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e as Error,
    );
    assert.ok(error instanceof UpstreamServerError, String(error));
    assert.match(error.message, /HTTP 502 .* after retries: .*Bad Gateway: upstream /, encoding);
    assert.ok(!error.message.includes(key), `${encoding}: ${error.message}`);
  }
  // A large page: only its start is read into the excerpt.
  const { url } = await serve(encoded(gzipSync(`<html>Service Unavailable ${'x'.repeat(2 << 20)}</html>`), 'gzip', 503));
  const { client } = makeClient(url);
  await assert.rejects(client.chains(), (e: unknown) => e instanceof UpstreamServerError && /Service Unavailable x+/.test(e.message) && e.message.length < 2000);
});
