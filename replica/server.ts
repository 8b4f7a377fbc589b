/**
 * The offline DeFiLlama replica: one HTTP server that answers the API's routes (free layout
 * /protocols, /pools, ... and pro layout /<key>/api/..., /<key>/yields/...) from generated or
 * recorded data, with a "next day" switch and per-route fault injection. Tests start it
 * in-process; `npm run replica` serves it until stopped. Control endpoints live under /__replica/.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { echoKey, FaultTable, normaliseRoute, parseFault, type Fault } from './faults.js';
import { hostileBody, type HostileCase } from './hostile.js';
import { GeneratedSource, LIST_ROUTES, RecordedSource, type Body, type ListRoute, type Source } from './sources.js';

export type { Fault } from './faults.js';

export interface ReplicaOptions {
  /** Seed of the generated data (default 1). */
  seed?: number;
  /** Pools on day 0 (default 17,000). */
  pools?: number;
  /** Protocols on day 0 (default 8,000). */
  protocols?: number;
  /** Chains (default 400). */
  chains?: number;
  /** Longest history served by /chart and /protocol, in days (default 365). */
  historyDays?: number;
  /** Day 0 as YYYY-MM-DD (default: today, UTC). */
  startDate?: string;
  /** Serve recorded responses from this directory instead of generated data. */
  dataDir?: string;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Port; 0 (the default) takes any free port. */
  port?: number;
  /** Answer /poolsOld with 402 unless it is called through the pro layout (/<key>/yields/poolsOld). */
  proOnly?: boolean;
  /** Faults set from the start. */
  faults?: readonly { route: string; fault: Fault }[];
  /** Generated data: the largest protocol's /protocol body is about this many MB (real shape, grown token series). */
  heavyProtocolMb?: number;
}

export interface Replica {
  /** Base URL; serves DEFILLAMA_API_URL, DEFILLAMA_YIELDS_URL and DEFILLAMA_PRO_API_URL alike. */
  readonly url: string;
  /** The day being served (0 = startDate). Setting it switches the data. */
  day: number;
  /** YYYY-MM-DD of the day being served (undefined for recorded data). */
  readonly date: string | undefined;
  nextDay(): void;
  setFault(route: string, fault: Fault | null): void;
  clearFaults(): void;
  /** Requests answered (or refused) per route ("/pools", "/chart/*", ...); "*" is the total. */
  requests(route?: string): number;
  resetRequests(): void;
  /** Builds and compresses the list routes of the current day now, instead of on first request. */
  warm(): void;
  readonly source: Source;
  /** The latest requests (at most 10,000), oldest first: for tests of spacing, headers and retries. */
  readonly requestLog: readonly RequestLogEntry[];
  close(): Promise<void>;
}

export interface RequestLogEntry {
  /** performance.now() of this process when the request arrived. */
  at: number;
  method: string;
  /** The path as requested (with the key, for pro-layout requests). */
  path: string;
  /** The route without the key prefix ("/pools", "/chart/<uuid>"). */
  route: string;
  pro: boolean;
  userAgent: string | undefined;
  acceptEncoding: string | undefined;
}

const REQUEST_LOG_MAX = 10_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const API_ROUTES = new Set(['protocols', 'protocol', 'v2']);
const YIELDS_ROUTES = new Set(['pools', 'poolsOld', 'chart']);
const GZIP_MIN_BYTES = 1024;

interface Cached {
  raw: Buffer;
  gz?: Buffer;
}

function todayUtc(): string {
  return new Date().toISOString().slice(0, 10);
}

export async function startReplica(options: ReplicaOptions = {}): Promise<Replica> {
  const source: Source = options.dataDir
    ? new RecordedSource(options.dataDir)
    : new GeneratedSource({
        seed: options.seed ?? 1,
        pools: options.pools ?? 17_000,
        protocols: options.protocols ?? 8_000,
        chains: options.chains ?? 400,
        historyDays: options.historyDays ?? 365,
        startDate: options.startDate ?? todayUtc(),
      }, options.heavyProtocolMb);
  const faults = new FaultTable();
  if (options.proOnly) faults.set('/poolsOld', { kind: 'pro-only' });
  for (const { route, fault } of options.faults ?? []) faults.set(route, fault);

  let day = 0;
  const cache = new Map<string, Cached>();
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const requestLog: RequestLogEntry[] = [];

  const count = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);

  function cachedList(route: ListRoute): Cached | undefined {
    const key = `${day}${route}`;
    let entry = cache.get(key);
    if (!entry) {
      const body = source.list(route, day);
      if (!body) return undefined;
      entry = { raw: Buffer.from(body.text()) };
      cache.set(key, entry);
    }
    return entry;
  }

  function setDay(next: number): void {
    if (!Number.isInteger(next) || next < 0) throw new Error(`day must be a non-negative integer, got ${next}`);
    day = next;
    cache.clear();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, req, 500, 'text/plain', Buffer.from(`replica error: ${(error as Error).message}`));
      else res.destroy();
    });
  });
  // Long bodies at low speed must not be cut by Node's defaults.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://replica');
    const path = url.pathname;
    if (path.startsWith('/__replica/')) return control(req, res, path.slice('/__replica/'.length));
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, req, 405, 'text/plain', Buffer.from('Method Not Allowed'));

    // Pro layout: /<key>/api/<route> or /<key>/yields/<route>.
    let route = path;
    let pro = false;
    const proMatch = /^\/([^/]+)\/(api|yields)(\/.*)$/.exec(path);
    if (proMatch) {
      const family = proMatch[2];
      route = proMatch[3] as string;
      const first = route.split('/')[1] ?? '';
      if ((family === 'api' && !API_ROUTES.has(first)) || (family === 'yields' && !YIELDS_ROUTES.has(first))) {
        return notFound(res, req);
      }
      pro = true;
    }
    const norm = normaliseRoute(route);
    if (requestLog.length >= REQUEST_LOG_MAX) requestLog.splice(0, requestLog.length - REQUEST_LOG_MAX + 1);
    requestLog.push({
      at: performance.now(), method: req.method ?? 'GET', path, route: norm, pro,
      userAgent: req.headers['user-agent'], acceptEncoding: req.headers['accept-encoding'] as string | undefined,
    });
    count('*');
    count(norm);
    const slash = norm.indexOf('/', 1);
    if (slash > 0 && !norm.startsWith('/v2/')) count(`${norm.slice(0, slash)}/*`);

    const fault = faults.take(norm);
    if (fault) {
      const handled = await applyFault(fault, req, res, norm, pro, proMatch ? decodeURIComponent(proMatch[1] as string) : undefined);
      if (handled) return;
    }
    return serve(req, res, norm, undefined);
  }

  /** Returns true when the fault produced the response (or deliberately none). */
  async function applyFault(fault: Fault, req: IncomingMessage, res: ServerResponse, route: string, pro: boolean, key: string | undefined): Promise<boolean> {
    switch (fault.kind) {
      case 'status': {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers['Retry-After'] = String(fault.retryAfter);
        const body = fault.body === undefined ? statusBody(fault.status) : echoKey(fault.body, key);
        send(res, req, fault.status, body.startsWith('{') ? 'application/json' : 'text/plain', Buffer.from(body), headers);
        return true;
      }
      case 'pro-only':
        if (pro) return false;
        send(res, req, 402, 'application/json', Buffer.from(JSON.stringify({ message: 'Upgrade to the paid API plan to access this endpoint: https://defillama.com/subscription' })));
        return true;
      case 'slow':
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve();
          }, fault.delayMs);
          timers.add(t);
        });
        return false;
      case 'timeout':
        // Never answer; close() drops the connection.
        return true;
      case 'html':
        send(res, req, fault.status ?? 200, 'text/html; charset=UTF-8', Buffer.from(fault.body === undefined ? HTML_ERROR_PAGE : echoKey(fault.body, key)));
        return true;
      case 'truncate':
        serve(req, res, route, 'truncate');
        return true;
      case 'malformed':
        serve(req, res, route, { malformed: fault.count });
        return true;
      case 'hostile':
        serve(req, res, route, { hostile: fault.cases });
        return true;
      case 'wrong-shape':
        serve(req, res, route, 'wrong-shape');
        return true;
    }
  }

  type Alteration = undefined | 'truncate' | 'wrong-shape' | { malformed: number } | { hostile: readonly HostileCase[] };

  function serve(req: IncomingMessage, res: ServerResponse, route: string, alter: Alteration): void {
    let body: Body | undefined;
    let cached: Cached | undefined;
    if ((LIST_ROUTES as readonly string[]).includes(route)) {
      if (alter === undefined) {
        cached = cachedList(route as ListRoute);
        if (!cached) return notFound(res, req);
      } else {
        body = source.list(route as ListRoute, day);
        if (!body) return notFound(res, req);
      }
    } else if (route.startsWith('/protocol/')) {
      const slug = decodeURIComponent(route.slice('/protocol/'.length));
      body = source.protocol(slug, day);
      // The real API answers 400 with a plain-text body (its spec says 404).
      if (!body) return send(res, req, 400, 'text/plain; charset=utf-8', Buffer.from('Protocol not found'));
    } else if (route.startsWith('/chart/')) {
      const id = decodeURIComponent(route.slice('/chart/'.length));
      if (!UUID.test(id)) return send(res, req, 400, 'application/json; charset=utf-8', Buffer.from(JSON.stringify('invalid configID!')));
      body = source.chart(id, day) ?? { text: () => '{"status":"success","data":[]}', value: () => ({ status: 'success', data: [] }) };
    } else {
      return notFound(res, req);
    }

    if (cached) return sendJson(req, res, cached);
    const b = body as Body;
    let text: string;
    if (alter === 'truncate') {
      const full = b.text();
      text = full.slice(0, Math.max(1, Math.floor(full.length * 0.6)));
    } else if (alter === 'wrong-shape') {
      const value = b.value();
      if (Array.isArray(value)) text = JSON.stringify({ message: 'Internal error', code: 'UNEXPECTED' });
      else if (value && typeof value === 'object' && 'status' in value) text = JSON.stringify({ status: 'error', data: 'upstream query failed' });
      else text = JSON.stringify([value]);
    } else if (alter && typeof alter === 'object' && 'hostile' in alter) {
      text = hostileBody(b.value(), route, alter.hostile);
    } else if (alter && typeof alter === 'object') {
      text = JSON.stringify(breakRecords(b.value(), alter.malformed));
    } else {
      text = b.text();
    }
    return sendJson(req, res, { raw: Buffer.from(text) }, false);
  }

  function sendJson(req: IncomingMessage, res: ServerResponse, entry: Cached, keep = true): void {
    const gzip = acceptsGzip(req) && entry.raw.length >= GZIP_MIN_BYTES;
    if (gzip && !entry.gz) {
      const gz = gzipSync(entry.raw, { level: 1 });
      if (keep) entry.gz = gz;
      else return send(res, req, 200, 'application/json; charset=utf-8', gz, { 'Content-Encoding': 'gzip', 'Cache-Control': 'max-age=600' });
    }
    if (gzip) return send(res, req, 200, 'application/json; charset=utf-8', entry.gz as Buffer, { 'Content-Encoding': 'gzip', 'Cache-Control': 'max-age=600' });
    return send(res, req, 200, 'application/json; charset=utf-8', entry.raw, { 'Cache-Control': 'max-age=600' });
  }

  function notFound(res: ServerResponse, req: IncomingMessage): void {
    send(res, req, 404, 'application/json', Buffer.from(JSON.stringify({ message: 'Not Found' })));
  }

  async function control(req: IncomingMessage, res: ServerResponse, action: string): Promise<void> {
    const reply = (status: number, value: unknown) => send(res, req, status, 'application/json', Buffer.from(JSON.stringify(value)));
    try {
      if (req.method === 'GET' && action === 'state') return reply(200, state());
      if (req.method === 'POST' && action === 'next-day') {
        setDay(day + 1);
        return reply(200, { day, date: source.date(day) ?? null });
      }
      if (req.method === 'POST' && action === 'day') {
        const body = (await readJson(req)) as { day?: unknown };
        setDay(Number(body.day));
        return reply(200, { day, date: source.date(day) ?? null });
      }
      if (req.method === 'POST' && action === 'faults') {
        const body = (await readJson(req)) as { route?: unknown; fault?: unknown };
        if (typeof body.route !== 'string') throw new Error('"route" must be a string such as "/pools" or "/chart/*"');
        faults.set(body.route, body.fault === null || body.fault === undefined ? null : parseFault(body.fault));
        return reply(200, { faults: faults.list() });
      }
      if (req.method === 'DELETE' && action === 'faults') {
        faults.clear();
        return reply(200, { faults: [] });
      }
      if (req.method === 'DELETE' && action === 'requests') {
        counts.clear();
        requestLog.length = 0;
        return reply(200, { requests: {} });
      }
      return reply(404, { message: `unknown control endpoint ${req.method} /__replica/${action}` });
    } catch (error) {
      return reply(400, { message: (error as Error).message });
    }
  }

  function state() {
    return {
      day,
      date: source.date(day) ?? null,
      source: source.kind,
      options: { seed: options.seed ?? 1, pools: options.pools ?? 17_000, protocols: options.protocols ?? 8_000, chains: options.chains ?? 400, dataDir: options.dataDir ?? null },
      counts: source.counts(day) ?? null,
      heavyProtocol: source instanceof GeneratedSource ? (source.heavyProtocolSlug(day) ?? null) : null,
      faults: faults.list(),
      requests: Object.fromEntries(counts),
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;

  return {
    url,
    get day() {
      return day;
    },
    set day(next: number) {
      setDay(next);
    },
    get date() {
      return source.date(day);
    },
    source,
    nextDay: () => setDay(day + 1),
    setFault: (route, fault) => faults.set(route, fault),
    clearFaults: () => faults.clear(),
    requests: (route = '*') => counts.get(normaliseRoute(route)) ?? 0,
    resetRequests: () => {
      counts.clear();
      requestLog.length = 0;
    },
    requestLog,
    warm() {
      for (const route of LIST_ROUTES) {
        const entry = cachedList(route);
        if (entry && !entry.gz && entry.raw.length >= GZIP_MIN_BYTES) entry.gz = gzipSync(entry.raw, { level: 1 });
      }
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function acceptsGzip(req: IncomingMessage): boolean {
  return /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
}

function send(res: ServerResponse, req: IncomingMessage, status: number, type: string, body: Buffer, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(body.length), ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 1_000_000) reject(new Error('control body too large'));
    });
    req.on('end', () => {
      try {
        resolve(text.trim() === '' ? {} : JSON.parse(text));
      } catch {
        reject(new Error('control body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function statusBody(status: number): string {
  if (status === 429) return 'Too Many Requests';
  if (status === 402) return JSON.stringify({ message: 'Upgrade to the paid API plan to access this endpoint: https://defillama.com/subscription' });
  if (status === 403) return 'error code: 1020';
  if (status >= 500) return status === 502 ? 'Bad Gateway' : status === 503 ? 'Service Unavailable' : 'Internal Server Error';
  return JSON.stringify({ message: `HTTP ${status}` });
}

/** Breaks `count` records spread over the list, in three ways: a wrong type, a missing key field, a wrong key type. */
function breakRecords(value: unknown, count: number): unknown {
  const envelope = value && typeof value === 'object' && !Array.isArray(value) && Array.isArray((value as { data?: unknown }).data);
  const records = (envelope ? (value as { data: unknown[] }).data : value) as unknown[];
  if (!Array.isArray(records) || records.length === 0) return value;
  const out = records.slice();
  const n = Math.min(count, out.length);
  for (let k = 0; k < n; k++) {
    const index = Math.floor(((k + 0.5) * out.length) / n);
    const rec = { ...(out[index] as Record<string, unknown>) };
    const keyField = 'pool' in rec ? 'pool' : 'timestamp' in rec ? 'timestamp' : 'slug' in rec ? 'name' : 'name';
    const numberField = 'tvlUsd' in rec ? 'tvlUsd' : 'tvl' in rec ? 'tvl' : 'chainId';
    switch (k % 3) {
      case 0:
        rec[numberField] = 'a lot';
        break;
      case 1:
        delete rec[keyField];
        break;
      default:
        rec[keyField] = 12345;
        break;
    }
    out[index] = rec;
  }
  return envelope ? { ...(value as object), data: out } : out;
}

const HTML_ERROR_PAGE = `<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head>
<body><div class="main-wrapper"><h1>api.llama.fi</h1><p>Checking if the site connection is secure. Please enable JavaScript and cookies to continue.</p>
<div class="footer">Performance &amp; security by Cloudflare · Ray ID: 7d1f0c2b9a8e4f21</div></div></body></html>`;
