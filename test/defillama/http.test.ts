/**
 * The DeFiLlama client's HTTP behaviour against small scripted servers on loopback, in-process:
 * what each attempt and retry counts and logs, which statuses are retried, a timeout per attempt,
 * redirects, spacing from the configuration, the error raised for each kind of answer and the
 * key masked in it. (client.test.ts runs the client against the replica.)
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
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
import { RequestSpacer, sharedSpacer } from '../../src/defillama/rate-limiter.js';
import { emptyStats } from '../../src/runs/stats.js';
import { VERSION } from '../../src/version.js';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

interface Scripted {
  readonly url: string;
  /** Requests received: path, arrival (performance.now()) and headers. */
  readonly requests: { path: string; at: number; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

/** A server answering its n-th request with answers[n] (the last one from then on). */
async function scripted(...answers: Answer[]): Promise<Scripted> {
  const requests: Scripted['requests'] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', at: performance.now(), headers: req.headers });
    answers[Math.min(requests.length - 1, answers.length - 1)]!(req, res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Answer => (_req, res) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
};
const text = (status: number, body: string, contentType = 'text/plain'): Answer => (_req, res) => {
  res.writeHead(status, { 'Content-Type': contentType });
  res.end(body);
};
const after = (ms: number, answer: Answer): Answer => (req, res) => void setTimeout(() => answer(req, res), ms);
/** Never answers (until the server closes). */
const silent: Answer = () => undefined;
/** Drops the connection without an answer. */
const hangUp: Answer = (req) => req.socket.destroy();

function envFor(url: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DEFILLAMA_API_URL: url, DEFILLAMA_YIELDS_URL: url, DEFILLAMA_PRO_API_URL: url, API_RATE_LIMIT_MS: '0', HTTP_TIMEOUT_MS: '3000', ...extra };
}

function client(server: Scripted, env: Record<string, string> = {}, options: Partial<ClientOptions> = {}, config?: Config) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  const stats = emptyStats();
  const c = createDefiLlamaClient(config ?? loadConfig(envFor(server.url, env)), { stats, log, retryBaseMs: 1, spacer: new RequestSpacer(), ...options });
  return { client: c, stats, lines };
}

async function using<T>(server: Scripted, fn: (s: Scripted) => Promise<T>): Promise<T> {
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/** The error a call rejects with. */
async function failure(call: Promise<unknown>): Promise<Error> {
  return call.then(
    () => assert.fail('expected the call to fail'),
    (e: unknown) => e as Error,
  );
}

test('every attempt is counted and logged at debug; every retry is counted and warned with what failed', async () => {
  await using(await scripted(text(503, 'busy'), text(429, 'slow down'), silent, hangUp, json([])), async (s) => {
    const { client: c, stats, lines } = client(s, { HTTP_TIMEOUT_MS: '200' }, { retries: 4 });
    const t0 = performance.now();
    assert.deepEqual(await c.chains(), { records: [], rejected: [] });
    const took = performance.now() - t0;
    assert.deepEqual([stats.apiCalls, stats.retries, stats.rateLimitHits], [5, 4, 1]);

    const warns = lines.filter((l) => l.level === 40);
    assert.deepEqual(warns.map((l) => l.msg), [
      'retrying HTTP 503 (retry 1)',
      'retrying HTTP 429 (retry 2)',
      'retrying a timeout (retry 3)',
      'retrying a network error (ECONNRESET) (retry 4)',
    ]);
    assert.deepEqual(warns.map((l) => [l.url, l.attempt, l.status]), [
      [`${s.url}/v2/chains`, 1, 503],
      [`${s.url}/v2/chains`, 2, 429],
      [`${s.url}/v2/chains`, 3, undefined],
      [`${s.url}/v2/chains`, 4, undefined],
    ]);
    assert.match(String(warns[2]!.code), /^(ECONNABORTED|ETIMEDOUT)$/);
    assert.equal(warns[3]!.code, 'ECONNRESET');

    const calls = lines.filter((l) => l.msg === 'api call');
    assert.deepEqual(calls.map((l) => [l.url, l.status]), [
      [`${s.url}/v2/chains`, 503],
      [`${s.url}/v2/chains`, 429],
      [`${s.url}/v2/chains`, undefined],
      [`${s.url}/v2/chains`, undefined],
      [`${s.url}/v2/chains`, 200],
    ]);
    assert.ok(calls.every((l) => l.level === 20 && typeof l.ms === 'number' && l.ms >= 0 && l.ms <= took + 1), `attempts of ${took} ms in all: ${calls.map((l) => l.ms).join(', ')}`);
    assert.ok((calls[2]!.ms as number) >= 190, `the timed-out attempt took its timeout: ${calls[2]!.ms} ms`);
    assert.deepEqual([calls[0]!.bytes, calls[1]!.bytes, calls[2]!.bytes, calls[4]!.bytes], [4, 9, undefined, 2]);
    assert.deepEqual([calls[2]!.code, calls[3]!.code], [warns[2]!.code, 'ECONNRESET']);
    const parsed = lines.filter((l) => l.msg === 'api response parsed');
    assert.deepEqual(parsed.map((l) => [l.url, l.bytes, l.level, typeof l.ms]), [[`${s.url}/v2/chains`, 2, 20, 'number']]);
    assert.ok((parsed[0]!.ms as number) >= 0 && (parsed[0]!.ms as number) <= took + 1, `${parsed[0]!.ms} of ${took} ms`);
  });
});

test('at info level no debug line is written', async () => {
  await using(await scripted(json([])), async (s) => {
    const lines: string[] = [];
    const c = createDefiLlamaClient(loadConfig(envFor(s.url)), { stats: emptyStats(), log: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }), spacer: new RequestSpacer() });
    await c.chains();
    assert.deepEqual(lines, []);
  });
});

test('the timeout is per attempt: a retry gets the whole HTTP_TIMEOUT_MS again', async () => {
  // Three answers of 150 ms each: 450 ms in all, more than the timeout, each well within it.
  await using(await scripted(after(150, text(503, 'busy')), after(150, text(502, 'bad gateway')), after(150, json([]))), async (s) => {
    const { client: c, stats } = client(s, { HTTP_TIMEOUT_MS: '400' });
    assert.deepEqual((await c.chains()).records, []);
    assert.equal(stats.retries, 2);
  });
});

test('429 and 500 to 599 are retried; other statuses are not', async () => {
  for (const [status, requests] of [[428, 1], [429, 4], [430, 1], [499, 1], [500, 4], [599, 4], [600, 1]] as const) {
    await using(await scripted(text(status, `answer ${status}`)), async (s) => {
      const { client: c, stats } = client(s);
      await failure(c.protocols());
      assert.deepEqual([s.requests.length, stats.retries], [requests, requests - 1], `HTTP ${status}`);
    });
  }
});

test('each kind of failing answer raises its own error, naming the URL, the status and an excerpt of the body', async () => {
  const cases: [Answer, (url: string) => RegExp, new (...args: never[]) => Error, string][] = [
    [text(403, 'forbidden here'), (u) => new RegExp(`^DeFiLlama refused the request to ${u}/protocols \\(HTTP 403\\): "forbidden here"$`), UpstreamRefusedError, 'protocols'],
    [text(429, 'too many'), (u) => new RegExp(`^DeFiLlama refused the request to ${u}/protocols \\(HTTP 429 after retries\\): "too many"$`), UpstreamRefusedError, 'protocols'],
    [text(503, 'down for maintenance'), (u) => new RegExp(`^DeFiLlama answered HTTP 503 from ${u}/protocols after retries: "down for maintenance"$`), UpstreamServerError, 'protocols'],
    [text(402, 'pay'), (u) => new RegExp(`^${u}/protocols is a pro-only route \\(HTTP 402\\): set DEFILLAMA_API_KEY to use it$`), ProRequiredError, 'protocols'],
    [text(401, 'who are you'), (u) => new RegExp(`^unexpected HTTP 401 from ${u}/protocols: "who are you"$`), InvalidResponseError, 'protocols'],
    // The not-found bodies name a missing item only where an item was asked for.
    [text(404, 'Protocol not found'), (u) => new RegExp(`^unexpected HTTP 404 from ${u}/protocols: "Protocol not found"$`), InvalidResponseError, 'protocols'],
    [text(404, 'Protocol not found'), (u) => new RegExp(`^protocol gone not found upstream \\(HTTP 404 from ${u}/protocol/gone: "Protocol not found"\\)$`), ItemNotFoundError, 'protocol'],
    [text(400, 'bad request'), (u) => new RegExp(`^unexpected HTTP 400 from ${u}/protocol/gone: "bad request"$`), InvalidResponseError, 'protocol'],
    [text(400, 'invalid configID!'), (u) => new RegExp(`^pool gone not found upstream \\(HTTP 400 from ${u}/chart/gone: "invalid configID!"\\)$`), ItemNotFoundError, 'chart'],
    [text(410, 'invalid configID!'), (u) => new RegExp(`^unexpected HTTP 410 from ${u}/chart/gone: "invalid configID!"$`), InvalidResponseError, 'chart'],
  ];
  for (const [answer, message, type, route] of cases) {
    await using(await scripted(answer), async (s) => {
      const { client: c } = client(s);
      const call = route === 'protocols' ? c.protocols() : route === 'protocol' ? c.protocol('gone') : c.poolChart('gone');
      const error = await failure(call);
      assert.ok(error instanceof type, `${error.name}: ${error.message}`);
      assert.match(error.message, message(s.url));
    });
  }
  // An error body sent gzip-encoded is decoded for its excerpt.
  const gzipped: Answer = (_req, res) => {
    res.writeHead(503, { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip' });
    res.end(gzipSync('down for maintenance'));
  };
  const decoded = await using(await scripted(gzipped), async (s) => failure(client(s).client.chains()));
  assert.match(decoded.message, /after retries: "down for maintenance"$/);
});

test('bodies that are not what the route returns: each named, with an excerpt', async () => {
  const cases: [Answer, 'chains' | 'pools' | 'protocol', RegExp][] = [
    [json(''), 'chains', /\/v2\/chains returned an empty body$/],
    [json('   \n '), 'chains', /\/v2\/chains returned an empty body$/],
    [text(200, '[1, 2, 3]', 'text/html; charset=utf-8'), 'chains', /\/v2\/chains returned an HTML page instead of JSON: "\[1, 2, 3\]"$/],
    [json('  <p>maintenance</p>'), 'chains', /\/v2\/chains returned an HTML page instead of JSON: "<p>maintenance<\/p>"$/],
    [json('null'), 'chains', /\/v2\/chains returned null where a JSON array was expected: "null"$/],
    [json('"text"'), 'chains', /\/v2\/chains returned a string where a JSON array was expected: "\\"text\\""$/],
    [json('{"a":1}'), 'chains', /\/v2\/chains returned an object where a JSON array was expected: "{\\"a\\":1}"$/],
    [json('"Internal {error'), 'chains', /\/v2\/chains returned a body that is not valid JSON \(16 characters\): "\\"Internal {error"$/],
    [json('{"a": nope}'), 'chains', /\/v2\/chains returned a body that is not valid JSON \(11 characters\): "{\\"a\\": nope}"$/],
    [json('[1] x'), 'chains', /\/v2\/chains returned a body that is not valid JSON \(5 characters\): "\[1\] x"$/],
    [json('[1,2'), 'chains', /\/v2\/chains returned a truncated JSON body \(4 characters\): "\[1,2" … ending "\[1,2"$/],
    [json('[{"a":"xy'), 'chains', /\/v2\/chains returned a truncated JSON body \(9 characters\)/],
    [json('[7]'), 'pools', /\/pools returned an array where a {status, data} object was expected: "\[7\]"$/],
    [json('7'), 'pools', /\/pools returned a number where a {status, data} object was expected: "7"$/],
    [json({ status: 'fail', data: [] }), 'pools', /\/pools returned status "fail" instead of "success": "{\\"status\\":\\"fail\\",\\"data\\":\[\]}"$/],
    [json({ status: 'success' }), 'pools', /\/pools returned nothing in "data" where an array was expected$/],
    [json({ status: 'success', data: { a: 1 } }), 'pools', /\/pools returned an object in "data" where an array was expected$/],
    [json('[{"name":"x"}]'), 'protocol', /\/protocol\/p returned an array instead of a protocol object$/],
    [json('true'), 'protocol', /\/protocol\/p returned a boolean instead of a protocol object$/],
    [json({ name: 7 }), 'protocol', /\/protocol\/p returned a protocol that does not match the expected shape: /],
    [text(200, '{"name":"x"}', 'text/html'), 'protocol', /\/protocol\/p returned an HTML page instead of JSON: "{\\"name\\":\\"x\\"}"$/],
    [json('{"name":"x","tvl":[{"date":1,'), 'protocol', /\/protocol\/p returned a truncated JSON body \(29 characters\): .* … ending "{\\"name\\":\\"x\\",\\"tvl\\":\[{\\"date\\":1,"$/],
    [json('{"name":"x"} trailing'), 'protocol', /\/protocol\/p returned a body that is not valid JSON \(21 characters\)/],
  ];
  for (const [answer, route, message] of cases) {
    await using(await scripted(answer), async (s) => {
      const { client: c, stats } = client(s);
      const error = await failure(route === 'chains' ? c.chains() : route === 'pools' ? c.pools() : c.protocol('p'));
      assert.ok(error instanceof InvalidResponseError, `${error.name}: ${error.message}`);
      assert.match(error.message, message);
      assert.ok(error.message.startsWith(s.url), error.message);
      assert.equal(stats.retries, 0, 'an unusable body is not asked for again');
    });
  }
});

test('a cut-off body ends its message with its last 60 characters, masked before they are cut', async () => {
  const key = 'Tq4cutKEYz8Wm2Lp';
  for (const fromEnd of [0, 10, 58, 62]) {
    const body = `{"status":"success","data":[{"pool":"${'p'.repeat(200)}","note":"key=${key}${'z'.repeat(fromEnd)}`;
    await using(await scripted(json(body)), async (s) => {
      const { client: c } = client(s, { DEFILLAMA_API_KEY: key });
      const error = await failure(c.pools());
      assert.match(error.message, /returned a truncated JSON body \(\d+ characters\): .* … ending "/);
      const tail = /… ending (".*")$/.exec(error.message)![1]!;
      assert.equal(JSON.parse(tail).length <= 60, true, tail);
      for (let n = 4; n <= key.length; n++) assert.ok(!error.message.includes(key.slice(0, n)) && !error.message.includes(key.slice(-n)), `${fromEnd}: ${error.message}`);
      if (fromEnd === 0) assert.ok(tail.endsWith('***"'), tail);
    });
  }
});

test('a key too short to be registered as a secret is still masked in every URL shown, raw or encoded', async () => {
  for (const key of ['k9z', 'k 9']) {
    await using(await scripted(text(500, 'down')), async (s) => {
      const { client: c, lines } = client(s, { DEFILLAMA_API_KEY: key });
      const error = await failure(c.protocols());
      assert.match(error.message, new RegExp(`from ${s.url}/\\*\\*\\*/api/protocols after retries`));
      assert.equal(s.requests[0]!.path, `/${encodeURIComponent(key)}/api/protocols`, 'the request carried the key');
      for (const text of [error.message, ...lines.map((l) => JSON.stringify(l))]) assert.ok(!text.includes(`/${encodeURIComponent(key)}/`) && !text.includes(`/${key}/`), text);
    });
  }
});

test('a key set in a configuration built in code is masked in bodies too', async () => {
  const key = 'CodeBuiltKey7Hq2';
  await using(await scripted(text(403, `your key ${key} is not allowed`)), async (s) => {
    const config = { ...loadConfig(envFor(s.url)), defillamaApiKey: key };
    const error = await failure(client(s, {}, {}, config).client.protocols());
    assert.match(error.message, /\(HTTP 403\): "your key \*\*\* is not allowed"$/);
  });
});

test('requests name defi-sync and its version, ask for JSON and accept gzip; gzip bodies are decoded', async () => {
  const gz: Answer = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    res.end(gzipSync(JSON.stringify([{ name: 'Ethereum', gecko_id: 'ethereum', tokenSymbol: 'ETH', cmcId: '1027', chainId: 1, tvl: 1 }])));
  };
  await using(await scripted(gz), async (s) => {
    const { records, rejected } = await client(s).client.chains();
    assert.deepEqual([records.map((r) => r.name), rejected], [['Ethereum'], []]);
    const headers = s.requests[0]!.headers;
    assert.equal(headers['user-agent'], `defi-sync/${VERSION}`);
    assert.equal(headers.accept, 'application/json');
    assert.match(String(headers['accept-encoding']), /gzip/);
  });
});

test('without a key, up to 3 redirects are followed', async () => {
  const redirect = (to: string): Answer => (_req, res) => {
    res.writeHead(302, { Location: to });
    res.end();
  };
  await using(await scripted(redirect('/a'), redirect('/b'), redirect('/c'), json([])), async (s) => {
    assert.deepEqual((await client(s).client.chains()).records, []);
    assert.deepEqual(s.requests.map((r) => r.path), ['/v2/chains', '/a', '/b', '/c']);
  });
});

test('API_RATE_LIMIT_MS spaces request starts through the process-wide spacer, across clients', async () => {
  sharedSpacer.reset();
  await using(await scripted(json([])), async (s) => {
    const config = loadConfig(envFor(s.url, { API_RATE_LIMIT_MS: '120' }));
    const make = () => createDefiLlamaClient(config, { stats: emptyStats(), log: pino({ level: 'silent' }) });
    const [a, b] = [make(), make()];
    const t0 = performance.now();
    await Promise.all([a.chains(), b.chains(), a.chains()]);
    const at = s.requests.map((r) => r.at - t0).sort((x, y) => x - y);
    at.forEach((t, k) => assert.ok(t >= k * 120 - 2, `request ${k} arrived ${t.toFixed(1)} ms after the start`));
  });
});

test('malformed records: one warning with the counts and the first five by position; keys read from strings and numbers', async () => {
  const point = (timestamp: unknown, tvlUsd: unknown) => ({ timestamp, tvlUsd, apy: 1 });
  const data = [point('2024-01-01T00:00:00.000Z', 1), point(1_700_000_000, 'x'), 'junk', point('2024-01-02T00:00:00.000Z', 'y'), null, point(true, 'z'), [1], point('t', 'w')];
  await using(await scripted(json({ status: 'success', data })), async (s) => {
    const { client: c, lines } = client(s);
    const chart = await c.poolChart('pool-1');
    assert.equal(chart.records.length, 1);
    assert.deepEqual(chart.rejected.map((r) => [r.index, r.key]), [[1, '1700000000'], [2, undefined], [3, '2024-01-02T00:00:00.000Z'], [4, undefined], [5, undefined], [6, undefined], [7, 't']]);
    const warns = lines.filter((l) => l.level === 40);
    assert.equal(warns.length, 1);
    const w = warns[0]!;
    assert.equal(w.msg, `7 malformed record(s) rejected from ${s.url}/chart/pool-1`);
    assert.deepEqual([w.url, w.rejected, w.accepted], [`${s.url}/chart/pool-1`, 7, 1]);
    assert.deepEqual((w.sample as { index: number }[]).map((r) => r.index), [1, 2, 3, 4, 5]);
  });
  await using(await scripted(json([{ name: 'Ethereum', tvl: 1 }])), async (s) => {
    const { client: c, lines } = client(s);
    const batch = await c.batch('chains');
    assert.equal(batch.length, 1);
    c.reportRejected(batch);
    assert.deepEqual(lines.filter((l) => l.level === 40), [], 'nothing rejected, nothing said');
  });
});

test('a refused connection and a request that never answers: errors naming the URL and what happened, after retries', async () => {
  const down = await scripted(json([]));
  await down.close();
  const { client: c, stats } = client(down);
  const refused = await failure(c.chains());
  assert.ok(refused instanceof NetworkError);
  assert.equal(refused.message, `request to ${down.url}/v2/chains failed after retries: ECONNREFUSED`);
  assert.equal(stats.retries, 3);

  await using(await scripted(silent), async (s) => {
    const timedOut = await failure(client(s, { HTTP_TIMEOUT_MS: '100' }).client.chains());
    assert.ok(timedOut instanceof RequestTimeoutError);
    assert.equal(timedOut.message, `request to ${s.url}/v2/chains timed out after 100 ms (HTTP_TIMEOUT_MS), after retries`);
    assert.equal(s.requests.length, 4);
  });
});

test('every route asks its own path on its own host and validates what it gets', async () => {
  const pool = { pool: '00000000-0000-4000-8000-000000000001', chain: 'Ethereum', project: 'p', symbol: 'S', tvlUsd: 1 };
  const bodies: Record<string, unknown> = {
    '/a/v2/chains': [{ name: 'Ethereum', tvl: 1 }],
    '/a/protocols': [{ id: '1', name: 'P', slug: 'p', tvl: 1, chains: ['Ethereum'], chainTvls: { Ethereum: 1 } }],
    '/a/protocol/p%20q': { id: '1', name: 'P', tvl: [{ date: 1_700_000_000, totalLiquidityUSD: 1 }], chainTvls: {} },
    '/y/pools': { status: 'success', data: [pool] },
    '/y/poolsOld': { status: 'success', data: [{ ...pool, pool_old: '0xab' }] },
    '/y/chart/c%2Fd': { status: 'success', data: [{ timestamp: '2024-01-01T00:00:00.000Z', tvlUsd: 1, apy: 1 }] },
  };
  const route: Answer = (req, res) => (req.url! in bodies ? json(bodies[req.url!]) : text(404, `no route ${req.url}`))(req, res);
  await using(await scripted(route), async (s) => {
    const { client: c } = client(s, { DEFILLAMA_API_URL: `${s.url}/a/`, DEFILLAMA_YIELDS_URL: `${s.url}/y` });
    assert.deepEqual((await c.chains()).records.map((r) => r.name), ['Ethereum']);
    assert.deepEqual((await c.protocols()).records.map((r) => r.slug), ['p']);
    assert.equal((await c.protocol('p q')).name, 'P');
    assert.deepEqual((await c.pools()).records.map((r) => r.pool), [pool.pool]);
    assert.deepEqual((await c.poolsOld()).records.map((r) => r.pool_old), ['0xab']);
    assert.equal((await c.poolChart('c/d')).records.length, 1);
    const batch = await c.batch('pools');
    assert.deepEqual([batch.length, batch.source], [1, `${s.url}/y/pools`]);
    assert.deepEqual(s.requests.map((r) => r.path), ['/a/v2/chains', '/a/protocols', '/a/protocol/p%20q', '/y/pools', '/y/poolsOld', '/y/chart/c%2Fd', '/y/pools']);
  });
});

test('Retry-After is honoured in seconds and as an HTTP date, and capped', { timeout: 15_000 }, async () => {
  const limited = (retryAfter: string): Answer => (_req, res) => {
    res.writeHead(429, { 'Retry-After': retryAfter });
    res.end('slow down');
  };
  await using(await scripted(limited('0.3'), json([])), async (s) => {
    const { client: c, stats } = client(s, {}, { retryBaseMs: 1 });
    await c.chains();
    assert.ok(s.requests[1]!.at - s.requests[0]!.at >= 295, `waited ${s.requests[1]!.at - s.requests[0]!.at} ms`);
    assert.deepEqual([stats.rateLimitHits, stats.retries], [1, 1]);
  });
  // HTTP dates have whole seconds: the next whole second at least 300 ms away.
  const target = Math.ceil((Date.now() + 300) / 1000) * 1000;
  await using(await scripted(limited(new Date(target).toUTCString()), json([])), async (s) => {
    await client(s, {}, { retryBaseMs: 1 }).client.chains();
    assert.ok(Date.now() >= target - 5, `retried ${target - Date.now()} ms before the date`);
    assert.equal(s.requests.length, 2);
  });
  // Asked for an hour: waits the cap (the test's bound fails it otherwise).
  await using(await scripted(limited('3600'), json([])), async (s) => {
    await client(s, {}, { maxRetryAfterMs: 20 }).client.chains();
    assert.equal(s.requests.length, 2);
  });
  // Unreadable: the back-off applies.
  await using(await scripted(limited('soon'), json([])), async (s) => {
    await client(s, {}, { retryBaseMs: 200 }).client.chains();
    assert.ok(s.requests[1]!.at - s.requests[0]!.at >= 95, 'the back-off, at least half its base');
  });
});

test('retryAfterMs reads seconds and HTTP dates; anything else is no answer', () => {
  const now = Date.parse('2025-03-01T12:00:00Z');
  assert.equal(retryAfterMs('3', now), 3000);
  assert.equal(retryAfterMs(' 2 ', now), 2000);
  assert.equal(retryAfterMs('1.5', now), 1500);
  assert.equal(retryAfterMs(0, now), 0);
  assert.equal(retryAfterMs('Sat, 01 Mar 2025 12:00:05 GMT', now), 5000);
  assert.equal(retryAfterMs('Sat, 01 Mar 2025 11:00:00 GMT', now), 0);
  assert.equal(retryAfterMs('12', now), 12_000);
  assert.equal(retryAfterMs('1.25', now), 1250);
  for (const unreadable of ['soon', '', '  ', undefined, null, 'x5', '5x']) assert.equal(retryAfterMs(unreadable, now), undefined, String(unreadable));
});

test('back-off: each retry waits about twice as long as the one before', async () => {
  await using(await scripted(text(503, 'a'), text(503, 'b'), text(503, 'c'), json([])), async (s) => {
    await client(s, {}, { retryBaseMs: 40 }).client.chains();
    const gaps = s.requests.slice(1).map((r, i) => r.at - s.requests[i]!.at);
    // base·2^(n-1), scaled by a factor in [0.5, 1.5): 20–60, 40–120, 80–240 ms.
    assert.ok(gaps[0]! >= 19 && gaps[1]! >= 39 && gaps[2]! >= 79, `gaps ${gaps.join(', ')}`);
    assert.ok(gaps[2]! > gaps[0]!, `gaps ${gaps.join(', ')}`);
  });
});

test('retries take their turn in the spacing too', async () => {
  await using(await scripted(text(503, 'a'), text(503, 'b'), json([])), async (s) => {
    const t0 = performance.now();
    await client(s, {}, { rateLimitMs: 120 }).client.chains();
    s.requests.forEach((r, k) => assert.ok(r.at - t0 >= k * 120 - 2, `attempt ${k} arrived ${(r.at - t0).toFixed(1)} ms after the start`));
  });
});

test('MAX_RESPONSE_BYTES: a larger body, plain or once decompressed, fails without retries; one that meets it exactly loads', async () => {
  const body = JSON.stringify([{ name: 'Ethereum', tvl: 1, note: 'x'.repeat(3000) }]);
  const gz: Answer = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    res.end(gzipSync(body));
  };
  assert.ok(gzipSync(body).length < 200);
  for (const answer of [json(body), gz]) {
    await using(await scripted(answer), async (s) => {
      const { client: c, stats } = client(s, { MAX_RESPONSE_BYTES: String(body.length - 1) });
      const error = await failure(c.chains());
      assert.ok(error instanceof InvalidResponseError);
      assert.equal(error.message, `response from ${s.url}/v2/chains is larger than MAX_RESPONSE_BYTES (${body.length - 1} bytes)`);
      assert.deepEqual([s.requests.length, stats.retries], [1, 0]);
    });
    await using(await scripted(answer), async (s) => {
      assert.equal((await client(s, { MAX_RESPONSE_BYTES: String(body.length) }).client.chains()).records.length, 1);
    });
  }
});

test('a gzip body damaged on the way is asked for again; one that stays damaged fails the call, naming the URL', async () => {
  const damaged: Answer = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    res.end(Buffer.from('definitely not gzip'));
  };
  const good: Answer = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    res.end(gzipSync('[]'));
  };
  await using(await scripted(damaged, good), async (s) => {
    const { client: c, stats } = client(s);
    assert.deepEqual((await c.chains()).records, []);
    assert.deepEqual([s.requests.length, stats.retries], [2, 1]);
  });
  await using(await scripted(damaged), async (s) => {
    const error = await failure(client(s).client.chains());
    assert.ok(error instanceof InvalidResponseError, `${error.name}: ${error.message}`);
    assert.ok(error.message.startsWith(`${s.url}/v2/chains returned `), error.message);
    assert.equal(s.requests.length, 4, 'the first answer and 3 retries');
  });
});

test('the abort signal cancels a request in flight, and one not yet sent', async () => {
  await using(await scripted(silent), async (s) => {
    const controller = new AbortController();
    const { client: c } = client(s, {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const error = await failure(c.chains());
    assert.ok(error instanceof CancelledError, `${error.name}: ${error.message}`);
    assert.equal(error.message, `request to ${s.url}/v2/chains cancelled`);
    assert.equal(s.requests.length, 1);
    await assert.rejects(c.pools(), CancelledError);
    assert.equal(s.requests.length, 1, 'nothing is sent once cancelled');
  });
});

test('the records kept whole (chains, protocols, pools) are refused when nested too deep; the others are not checked', async () => {
  const deep = (levels: number): unknown => (levels === 0 ? 'bottom' : { d: deep(levels - 1) });
  const pool = (n: number, extra = {}) => ({ pool: `00000000-0000-4000-8000-00000000000${n}`, chain: 'Ethereum', project: 'p', symbol: 'S', tvlUsd: 1, ...extra });
  const bodies: Record<string, unknown> = {
    '/v2/chains': [{ name: 'Ethereum', tvl: 1 }, { name: 'Deep', tvl: 1, extra: deep(40) }],
    '/protocols': [{ id: '1', name: 'P', slug: 'p', tvl: 1 }, { id: '2', name: 'D', slug: 'deep', tvl: 1, extra: deep(40) }],
    '/pools': { status: 'success', data: [pool(1), pool(2, { extra: deep(40) })] },
    '/poolsOld': { status: 'success', data: [pool(1), pool(2, { extra: deep(40) })] },
  };
  await using(await scripted((req, res) => json(bodies[req.url!])(req, res)), async (s) => {
    const { client: c } = client(s);
    for (const [route, key] of [[c.chains(), 'Deep'], [c.protocols(), 'deep'], [c.pools(), pool(2).pool]] as const) {
      const { records, rejected } = await route;
      assert.equal(records.length, 1);
      assert.deepEqual(rejected.map((r) => [r.key, r.reason]), [[key, 'extra: nested deeper than 32 levels']]);
    }
    assert.equal((await c.poolsOld()).records.length, 2, 'poolsOld records are not stored whole');
  });
});

test('a rejected record is named by its route\'s key field', async () => {
  const bodies: Record<string, unknown> = {
    '/v2/chains': [{ name: 'Broken', tvl: 'x' }],
    '/protocols': [{ id: '1', name: 'P', slug: 'broken', tvl: 'x' }],
    '/pools': { status: 'success', data: [{ pool: 'p-1', chain: 'Ethereum', project: 'p', symbol: 'S', tvlUsd: 'x' }] },
    '/poolsOld': { status: 'success', data: [{ pool: 'p-2', chain: 7 }] },
  };
  await using(await scripted((req, res) => json(bodies[req.url!])(req, res)), async (s) => {
    const { client: c } = client(s);
    const keys = [];
    for (const route of [c.chains(), c.protocols(), c.pools(), c.poolsOld()]) keys.push((await route).rejected.map((r) => r.key));
    assert.deepEqual(keys, [['Broken'], ['broken'], ['p-1'], ['p-2']]);
  });
});

test('with a key, every route goes to the pro host, under /<key>/api or /<key>/yields', async () => {
  const envelope = { status: 'success', data: [] };
  const bodies: Record<string, unknown> = {
    '/KEY/api/v2/chains': [],
    '/KEY/api/protocols': [],
    '/KEY/api/protocol/p': { id: '1', name: 'P' },
    '/KEY/yields/pools': envelope,
    '/KEY/yields/poolsOld': envelope,
    '/KEY/yields/chart/c': envelope,
  };
  await using(await scripted((req, res) => (req.url! in bodies ? json(bodies[req.url!]) : text(404, 'no route'))(req, res)), async (s) => {
    const { client: c } = client(s, { DEFILLAMA_API_KEY: 'KEY', DEFILLAMA_API_URL: 'http://127.0.0.1:9', DEFILLAMA_YIELDS_URL: 'http://127.0.0.1:9' });
    await c.chains();
    await c.protocols();
    await c.protocol('p');
    await c.pools();
    await c.poolsOld();
    await c.poolChart('c');
    assert.deepEqual(s.requests.map((r) => r.path), Object.keys(bodies));
  });
});

test('/protocol bodies are read without their token series; one nested deeper than the parser allows is refused', async () => {
  const series = [{ date: 1, tokens: { ETH: 1 } }];
  const detail = { id: '1', name: 'P', tvl: [{ date: 1_700_000_000, totalLiquidityUSD: 1 }], tokens: series, tokensInUsd: series, chainTvls: { Ethereum: { tvl: [], tokens: series } } };
  await using(await scripted(json(detail)), async (s) => {
    const read = await client(s).client.protocol('p');
    assert.equal(read.name, 'P');
    assert.deepEqual(['tokens' in read, 'tokensInUsd' in read, 'tokens' in (read.chainTvls as Record<string, object>).Ethereum!], [false, false, false]);
  });
  const deep = (levels: number): unknown => (levels === 0 ? 1 : [deep(levels - 1)]);
  await using(await scripted(json({ id: '1', name: 'P', extra: deep(70) })), async (s) => {
    const error = await failure(client(s).client.protocol('p'));
    assert.ok(error instanceof InvalidResponseError);
    assert.match(error.message, new RegExp(`^${s.url}/protocol/p returned a body that could not be read: `));
  });
});

test('a body in an encoding the client does not ask for fails at once, without retries', async () => {
  await using(await scripted((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'x-unknown' });
    res.end(Buffer.from([0x1f, 0x8b, 0, 1, 2, 3]));
  }), async (s) => {
    const { client: c, stats } = client(s);
    const error = await failure(c.chains());
    assert.ok(error instanceof InvalidResponseError, `${error.name}: ${error.message}`);
    assert.deepEqual([s.requests.length, stats.retries], [1, 0]);
  });
});

test('the warning about rejected records lists them by position, however they were read', async () => {
  const data = Array.from({ length: 8 }, (_, i) => ({ name: `C${i}`, tvl: i % 2 ? 'x' : i }));
  await using(await scripted(json(data)), async (s) => {
    const { client: c, lines } = client(s);
    const batch = await c.batch('chains');
    // Read from the last record to the first, as the bulk writer does.
    for (let i = batch.length - 1; i >= 0; i--) batch.at(i);
    c.reportRejected(batch);
    const warn = lines.find((l) => l.level === 40)!;
    assert.deepEqual((warn.sample as { index: number }[]).map((r) => r.index), [1, 3, 5, 7]);
    assert.deepEqual([warn.rejected, warn.accepted], [4, 4]);
  });
});
