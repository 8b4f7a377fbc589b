// ERC-20 metadata of token contracts. The key travels only in the X-API-Key header: no URL, log line or message carries it.
import { z } from 'zod';
import type { Config } from '../config.js';
import { ConfigError, DefiSyncError } from '../errors.js';
import { createApiHttp, type ApiHttpOptions } from '../defillama/http.js';
import { RequestSpacer } from '../defillama/rate-limiter.js';
import { quotedExcerpt, redact, registerSecret } from '../redact.js';

/** Moralis states no maximum for this route; 10 is well inside the batch sizes it documents for other routes. */
export const MORALIS_MAX_ADDRESSES = 10;

/** A failed request other than a refused key. */
export class MoralisRequestError extends DefiSyncError {}

export interface MoralisToken {
  /** Lower-case 0x + 40 hex. */
  readonly address: string;
  readonly name: string | null;
  readonly symbol: string | null;
  readonly decimals: number | null;
  readonly possibleSpam: boolean | null;
  readonly verifiedContract: boolean | null;
}

export interface MoralisClient {
  /** Metadata of up to MORALIS_MAX_ADDRESSES addresses on one chain; records not asked for or malformed are counted in `rejected`. */
  tokenMetadata(chain: string, addresses: readonly string[]): Promise<{ tokens: MoralisToken[]; rejected: number }>;
}

interface MoralisClientOptions extends Pick<ApiHttpOptions, 'stats' | 'log' | 'signal' | 'retryBaseMs'> {
  readonly spacer?: RequestSpacer;
}

// Moralis' requests are spaced among themselves, apart from DeFiLlama's.
const moralisSpacer = new RequestSpacer();

const flag = z.union([z.boolean(), z.string()]).nullish();
const recordSchema = z.object({
  address: z.string(),
  name: z.string().nullish(),
  symbol: z.string().nullish(),
  // Documented as a string ("18"); a number is accepted too.
  decimals: z.union([z.string(), z.number()]).nullish(),
  possible_spam: flag,
  verified_contract: flag,
});

const EVM_ADDRESS = /^0x[0-9a-f]{40}$/;
const TEXT_MAX = 200;

type ClientConfig = Pick<Config, 'moralisApiKey' | 'moralisApiUrl' | 'httpTimeoutMs' | 'maxResponseBytes' | 'apiRateLimitMs'>;

export function createMoralisClient(config: ClientConfig, options: MoralisClientOptions): MoralisClient {
  const key = config.moralisApiKey;
  if (!key) throw new ConfigError('MORALIS_API_KEY is not set');
  registerSecret(key);
  const base = config.moralisApiUrl.replace(/\/+$/, '');
  const http = createApiHttp({
    ...options,
    timeoutMs: config.httpTimeoutMs,
    maxResponseBytes: config.maxResponseBytes,
    spacingMs: config.apiRateLimitMs,
    spacer: options.spacer ?? moralisSpacer,
    displayUrl: redact,
    headers: { 'X-API-Key': key },
    fail: (_kind, message) => new MoralisRequestError(message),
  });

  return {
    async tokenMetadata(chain, addresses) {
      if (addresses.length === 0) return { tokens: [], rejected: 0 };
      if (addresses.length > MORALIS_MAX_ADDRESSES) throw new RangeError(`at most ${MORALIS_MAX_ADDRESSES} addresses per request`);
      const query = new URLSearchParams({ chain });
      addresses.forEach((a, i) => query.set(`addresses[${i}]`, a));
      const url = `${base}/erc20/metadata?${query.toString()}`;
      const shown = `${redact(base)}/erc20/metadata?chain=${chain} (${addresses.length} addresses)`;
      const res = await http.get(url, shown, (status, text) => {
        if (status === 401 || status === 403) {
          return new ConfigError(`Moralis refused MORALIS_API_KEY (HTTP ${status} from ${shown}): set a valid key, or unset it to skip token metadata`);
        }
        const after = status === 429 || status >= 500 ? ' after retries' : '';
        return new MoralisRequestError(`Moralis answered HTTP ${status} from ${shown}${after}: ${quotedExcerpt(text, 160)}`);
      });
      return parse(res.data.toString('utf8'), new Set(addresses), shown);
    },
  };
}

function parse(text: string, asked: ReadonlySet<string>, shown: string): { tokens: MoralisToken[]; rejected: number } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new MoralisRequestError(`${shown} returned a body that is not JSON (${text.length} characters)`);
  }
  if (!Array.isArray(body)) throw new MoralisRequestError(`${shown} returned ${body === null ? 'null' : typeof body} where a JSON array was expected`);
  const tokens: MoralisToken[] = [];
  let rejected = 0;
  for (const item of body) {
    const parsed = recordSchema.safeParse(item);
    const address = parsed.success ? parsed.data.address.trim().toLowerCase() : '';
    if (!parsed.success || !EVM_ADDRESS.test(address) || !asked.has(address)) {
      rejected += 1;
      continue;
    }
    const r = parsed.data;
    tokens.push({
      address,
      name: textOf(r.name),
      symbol: textOf(r.symbol),
      decimals: decimalsOf(r.decimals),
      possibleSpam: flagOf(r.possible_spam),
      verifiedContract: flagOf(r.verified_contract),
    });
  }
  return { tokens, rejected };
}

function textOf(value: string | null | undefined): string | null {
  // NUL cannot be stored in text; a symbol is short.
  const clean = (value ?? '').replace(/\0/g, '').trim();
  return clean === '' ? null : clean.slice(0, TEXT_MAX);
}

function decimalsOf(value: string | number | null | undefined): number | null {
  const text = String(value ?? '').trim();
  if (!/^\d{1,3}$/.test(text)) return null;
  const n = Number(text);
  return n <= 255 ? n : null;
}

function flagOf(value: boolean | string | null | undefined): boolean | null {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return null;
}
