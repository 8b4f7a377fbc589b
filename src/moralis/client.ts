/**
 * Moralis' EVM API: ERC-20 metadata of token contracts (GET /erc20/metadata?chain=..&addresses[0]=..),
 * through the HTTP machinery the DeFiLlama client uses (retries honouring Retry-After, spacing,
 * timeouts, size limit). The key travels only in the X-API-Key header: no URL, log line or
 * message built here carries it. A refused key (401/403) is a configuration error.
 */
import { AxiosError } from 'axios';
import { z } from 'zod';
import type { Config } from '../config.js';
import { CancelledError, ConfigError, DefiSyncError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { bodyText, createApiHttp, isTimeout, unreadableBody, type HttpCounters } from '../defillama/http.js';
import { RequestSpacer } from '../defillama/rate-limiter.js';
import { quotedExcerpt, redact, registerSecret } from '../redact.js';

/**
 * Addresses asked per request. Moralis' reference states no maximum for this route; 10 keeps each
 * request well inside the batch sizes it documents for its other multi-item routes.
 */
export const MORALIS_MAX_ADDRESSES = 10;

/** A failed request (other than a refused key): the run counts it and carries on. */
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

interface MoralisClientOptions {
  readonly stats: HttpCounters;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  readonly retryBaseMs?: number;
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
  const { signal } = options;
  const http = createApiHttp({
    stats: options.stats,
    log: options.log,
    timeoutMs: config.httpTimeoutMs,
    maxResponseBytes: config.maxResponseBytes,
    spacingMs: config.apiRateLimitMs,
    spacer: options.spacer ?? moralisSpacer,
    retries: 3,
    retryBaseMs: options.retryBaseMs ?? 1000,
    maxRetryAfterMs: 60_000,
    displayUrl: redact,
    headers: { 'X-API-Key': key },
  });

  return {
    async tokenMetadata(chain, addresses) {
      if (addresses.length === 0) return { tokens: [], rejected: 0 };
      if (addresses.length > MORALIS_MAX_ADDRESSES) throw new RangeError(`at most ${MORALIS_MAX_ADDRESSES} addresses per request`);
      const query = new URLSearchParams({ chain });
      addresses.forEach((a, i) => query.set(`addresses[${i}]`, a));
      const url = `${base}/erc20/metadata?${query.toString()}`;
      const shown = `${redact(base)}/erc20/metadata?chain=${chain} (${addresses.length} addresses)`;
      const res = await http.get<Buffer>(url, { signal }).catch((error: unknown) => {
        throw translate(error, shown);
      });
      return parse(res.data.toString('utf8'), new Set(addresses), shown);
    },
  };

  function translate(error: unknown, shown: string): Error {
    if (error instanceof CancelledError) return error;
    if (!(error instanceof AxiosError)) return new MoralisRequestError(`request to ${shown} failed: ${redact(errorMessage(error))}`);
    if (error.code === AxiosError.ERR_CANCELED || signal?.aborted) return new CancelledError(`request to ${shown} cancelled`);
    const unreadable = unreadableBody(error);
    if (unreadable !== undefined) return new MoralisRequestError(`${shown} returned ${unreadable}`);
    const res = error.response;
    if (!res) {
      if (isTimeout(error)) return new MoralisRequestError(`request to ${shown} timed out after ${config.httpTimeoutMs} ms (HTTP_TIMEOUT_MS), after retries`);
      return new MoralisRequestError(`request to ${shown} failed after retries: ${redact(error.code ?? error.message)}`);
    }
    const text = bodyText(res.data);
    // Masked before it is cut, so no part of a key survives the cut.
    const excerpt = quotedExcerpt(text, 160);
    if (res.status === 401 || res.status === 403) {
      return new ConfigError(`Moralis refused MORALIS_API_KEY (HTTP ${res.status} from ${shown}): set a valid key, or unset it to skip token metadata`);
    }
    const after = res.status === 429 || res.status >= 500 ? ' after retries' : '';
    return new MoralisRequestError(`Moralis answered HTTP ${res.status} from ${shown}${after}: ${excerpt}`);
  }
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
  if (value === null || value === undefined) return null;
  // NUL cannot be stored in text; a symbol is short.
  const clean = value.replace(/\0/g, '').trim();
  return clean === '' ? null : clean.slice(0, TEXT_MAX);
}

function decimalsOf(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const text = String(value).trim();
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
