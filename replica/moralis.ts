/**
 * A loopback stand-in for Moralis' GET /api/v2.2/erc20/metadata, on its own port: it requires the
 * X-API-Key header (401 otherwise), refuses chains Moralis does not serve and batches over the
 * limit (400), can answer 429 with Retry-After a few times first, and answers the documented
 * shape (decimals as a string) with metadata derived from each address.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MORALIS_CHAINS } from '../src/moralis/chains.js';
import { MORALIS_MAX_ADDRESSES } from '../src/moralis/client.js';

export interface MoralisStandInOptions {
  /** The key the X-API-Key header must carry. */
  readonly apiKey: string;
  readonly host?: string;
  readonly port?: number;
  /** Answer this many metadata requests with 429 before serving (default 0). */
  readonly rateLimitFirst?: number;
  /** Retry-After of those answers, seconds (default 1). */
  readonly retryAfterSeconds?: number;
}

export interface MoralisRequest {
  /** The request line's path and query, as sent. */
  readonly url: string;
  readonly status: number;
  readonly addresses: number;
  /** Every header, lower-case names: to check what travelled where. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface MoralisStandIn {
  /** The value for MORALIS_API_URL. */
  readonly url: string;
  readonly requests: readonly MoralisRequest[];
  close(): Promise<void>;
}

const ROUTE = '/api/v2.2/erc20/metadata';

export async function startMoralisStandIn(options: MoralisStandInOptions): Promise<MoralisStandIn> {
  const requests: MoralisRequest[] = [];
  let toRefuse = options.rateLimitFirst ?? 0;
  const server = createServer((req, res) => {
    const { status, body, headers } = answer(req);
    requests.push({ url: req.url ?? '', status, addresses: Array.isArray(body) ? body.length : 0, headers: { ...req.headers } });
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  });

  function answer(req: IncomingMessage): { status: number; body: unknown; headers?: Record<string, string> } {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (req.method !== 'GET' || url.pathname !== ROUTE) return { status: 404, body: { message: `no route ${req.method} ${url.pathname}` } };
    if (req.headers['x-api-key'] !== options.apiKey) return { status: 401, body: { message: 'Invalid key' } };
    if (toRefuse > 0) {
      toRefuse -= 1;
      return { status: 429, body: { message: 'Too many requests' }, headers: { 'retry-after': String(options.retryAfterSeconds ?? 1) } };
    }
    const chain = url.searchParams.get('chain') ?? 'eth';
    if (!MORALIS_CHAINS.has(chain)) return { status: 400, body: { message: `chain must be one of the supported chains, got ${chain}` } };
    const addresses = [...url.searchParams.entries()].filter(([k]) => /^addresses(\[\d+\])?$/.test(k)).map(([, v]) => v);
    if (addresses.length === 0) return { status: 400, body: { message: 'addresses is required' } };
    if (addresses.length > MORALIS_MAX_ADDRESSES) return { status: 400, body: { message: `at most ${MORALIS_MAX_ADDRESSES} addresses` } };
    return { status: 200, body: addresses.map((a) => token(chain, a)) };
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/api/v2.2`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The documented record, with values derived from the address. */
function token(chain: string, address: string): Record<string, unknown> {
  const lower = address.toLowerCase();
  const h = createHash('sha256').update(`${chain}:${lower}`).digest();
  const symbol = `T${lower.slice(2, 6).toUpperCase()}`;
  return {
    address: lower,
    address_label: null,
    name: `Token ${symbol}`,
    symbol,
    decimals: String([6, 8, 18][h[0]! % 3]),
    logo: null,
    logo_hash: null,
    thumbnail: null,
    total_supply: String(h.readUInt32BE(1) * 1000),
    block_number: String(h.readUInt32BE(5) % 20_000_000),
    validated: 1,
    created_at: '2024-01-01T00:00:00.000Z',
    possible_spam: h[9]! % 10 === 0,
    verified_contract: h[10]! % 2 === 0,
  };
}
