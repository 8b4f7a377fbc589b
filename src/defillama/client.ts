// No message built here carries an unredacted URL, so errors can be logged or stored in sync_jobs as they are.
import type { z } from 'zod';
import type { Config } from '../config.js';
import { errorMessage } from '../errors.js';
import { quotedExcerpt, redactUrl, registerSecret } from '../redact.js';
import {
  InvalidResponseError,
  ItemNotFoundError,
  NetworkError,
  ProRequiredError,
  RequestTimeoutError,
  UpstreamRefusedError,
  UpstreamServerError,
} from './errors.js';
import { sharedSpacer, type RequestSpacer } from './rate-limiter.js';
import {
  apiChainSchema,
  apiChartPointSchema,
  apiPoolOldSchema,
  apiPoolSchema,
  apiProtocolDetailSchema,
  apiProtocolSchema,
  type ApiChain,
  type ApiChartPoint,
  type ApiPool,
  type ApiPoolOld,
  type ApiProtocol,
  type ApiProtocolDetail,
} from './schemas.js';
import { createApiHttp, type ApiHttpOptions } from './http.js';
import { parseProtocolBody } from './protocol-body.js';
import { buildUrl, type ApiFamily } from './urls.js';
import { formatIssues, RecordBatch, type Validated } from './validate.js';

export interface CurrentStateRecords {
  chains: ApiChain;
  protocols: ApiProtocol;
  pools: ApiPool;
}
export type CurrentStateRoute = keyof CurrentStateRecords;

export interface ClientOptions extends Pick<ApiHttpOptions, 'stats' | 'log' | 'signal' | 'retries' | 'retryBaseMs' | 'maxRetryAfterMs'> {
  /** Overrides config.apiRateLimitMs (e.g. a shard's share of the budget). */
  rateLimitMs?: number;
  /** Defaults to the process-wide spacer; tests isolate themselves with their own. */
  spacer?: RequestSpacer;
}

export interface DefiLlamaClient {
  chains(): Promise<Validated<ApiChain>>;
  protocols(): Promise<Validated<ApiProtocol>>;
  pools(): Promise<Validated<ApiPool>>;
  /** ProRequiredError on 402. */
  poolsOld(): Promise<Validated<ApiPoolOld>>;
  /** ItemNotFoundError on 400 "Protocol not found". */
  protocol(slug: string): Promise<ApiProtocolDetail>;
  /** ItemNotFoundError on 400 "invalid configID!". */
  poolChart(poolId: string): Promise<Validated<ApiChartPoint>>;
  /** Like chains() etc., but each record is validated when read, so a writer validates while it writes; then call reportRejected. */
  batch<K extends CurrentStateRoute>(route: K): Promise<RecordBatch<CurrentStateRecords[K]>>;
  /** One warning line for the malformed records of a batch (none when all were valid). */
  reportRejected(batch: RecordBatch<unknown>): void;
}

const EXCERPT_CHARS = 160;
const NOT_FOUND_BODIES = [/protocol not found/i, /invalid configid/i];
const FAILURES = { network: NetworkError, timeout: RequestTimeoutError, body: InvalidResponseError };

export function createDefiLlamaClient(config: Config, options: ClientOptions): DefiLlamaClient {
  // loadConfig registers it too; a config built in code must not leak the key either.
  registerSecret(config.defillamaApiKey);
  const key = config.defillamaApiKey;
  const keySegments = key ? [...new Set([`/${key}/`, `/${encodeURIComponent(key)}/`])] : [];
  /** Masks the key's URL segment (even a key too short for registerSecret) and every registered secret. */
  const displayUrl = (text: string): string => redactUrl(keySegments.reduce((out, k) => out.replaceAll(k, '/***/'), text));
  const { log } = options;
  const http = createApiHttp({
    ...options,
    timeoutMs: config.httpTimeoutMs,
    maxResponseBytes: config.maxResponseBytes,
    spacingMs: options.rateLimitMs ?? config.apiRateLimitMs,
    spacer: options.spacer ?? sharedSpacer,
    displayUrl,
    fail: (kind, message) => new FAILURES[kind](message),
  });

  // `parse` replaces JSON.parse (see protocol-body.ts); when it fails, the body is parsed again the usual way for the diagnosis.
  async function getJson(family: ApiFamily, path: string, notFound?: string, parse?: (body: Buffer) => Promise<unknown>): Promise<{ body: unknown; url: string }> {
    const url = buildUrl(config, family, path);
    const shown = displayUrl(url);
    const started = performance.now();
    const res = await http.get(url, shown, (status, text) => statusError(status, text, shown, notFound));
    const parseText = () => parseBody(res.data.toString('utf8'), res.headers['content-type'], shown, displayUrl);
    const body = parse && !/text\/html/i.test(String(res.headers['content-type'] ?? ''))
      ? await parse(res.data).catch((error: unknown) => {
        parseText();
        throw new InvalidResponseError(`${shown} returned a body that could not be read: ${displayUrl(errorMessage(error))}`);
      })
      : parseText();
    if (log.isLevelEnabled('debug')) {
      log.debug({ url: shown, ms: Math.round(performance.now() - started), bytes: res.data.length }, 'api response parsed');
    }
    return { body, url: shown };
  }

  function statusError(status: number, text: string, shown: string, notFound: string | undefined): Error {
    const excerptText = excerpt(text, displayUrl);
    if ((status === 400 || status === 404) && notFound !== undefined && NOT_FOUND_BODIES.some((re) => re.test(text))) {
      return new ItemNotFoundError(`${notFound} not found upstream (HTTP ${status} from ${shown}: ${excerptText})`);
    }
    if (status === 402) return new ProRequiredError(`${shown} is a pro-only route (HTTP 402): set DEFILLAMA_API_KEY to use it`);
    if (status === 403 || status === 429) {
      const after = status === 429 ? ' after retries' : '';
      return new UpstreamRefusedError(`DeFiLlama refused the request to ${shown} (HTTP ${status}${after}): ${excerptText}`);
    }
    if (status >= 500) return new UpstreamServerError(`DeFiLlama answered HTTP ${status} from ${shown} after retries: ${excerptText}`);
    return new InvalidResponseError(`unexpected HTTP ${status} from ${shown}: ${excerptText}`);
  }

  async function fetchBatch<S extends z.ZodType>(
    family: ApiFamily, path: string, schema: S, keyName: string, notFound?: string, keptWhole = false,
  ): Promise<RecordBatch<z.output<S>>> {
    const { body, url } = await getJson(family, path, notFound);
    // The api routes answer a bare array, the yields routes an envelope.
    const items = family === 'api' ? expectArray(body, url) : expectEnvelope(body, url);
    return new RecordBatch<z.output<S>>(items, schema, keyField(keyName), url, keptWhole);
  }

  function reportRejected(batch: RecordBatch<unknown>): void {
    const { rejected, source } = batch;
    if (rejected.length === 0) return;
    const sample = [...rejected].sort((a, b) => a.index - b.index).slice(0, 5);
    const fields = { url: source, rejected: rejected.length, accepted: batch.length - rejected.length, sample };
    log.warn(fields, `${rejected.length} malformed record(s) rejected from ${source}`);
  }

  const currentState: { [K in CurrentStateRoute]: () => Promise<RecordBatch<CurrentStateRecords[K]>> } = {
    // Current-state records are stored whole (the raw column).
    chains: () => fetchBatch('api', '/v2/chains', apiChainSchema, 'name', undefined, true),
    protocols: () => fetchBatch('api', '/protocols', apiProtocolSchema, 'slug', undefined, true),
    pools: () => fetchBatch('yields', '/pools', apiPoolSchema, 'pool', undefined, true),
  };

  const validated = async <T>(batch: Promise<RecordBatch<T>>): Promise<Validated<T>> => {
    const b = await batch;
    const result = b.all();
    reportRejected(b);
    return result;
  };

  return {
    chains: () => validated(currentState.chains()),
    protocols: () => validated(currentState.protocols()),
    pools: () => validated(currentState.pools()),
    batch: (route) => currentState[route](),
    reportRejected,
    poolsOld: () => validated(fetchBatch('yields', '/poolsOld', apiPoolOldSchema, 'pool')),
    poolChart: (poolId) =>
      validated(fetchBatch('yields', `/chart/${encodeURIComponent(poolId)}`, apiChartPointSchema, 'timestamp', `pool ${poolId}`)),
    async protocol(slug) {
      // Parsed without its token series, which are most of a large body and never read.
      const { body, url } = await getJson('api', `/protocol/${encodeURIComponent(slug)}`, `protocol ${slug}`, parseProtocolBody);
      if (!isPlainObject(body)) throw new InvalidResponseError(`${url} returned ${typeName(body)} instead of a protocol object`);
      const parsed = apiProtocolDetailSchema.safeParse(body);
      if (!parsed.success) {
        throw new InvalidResponseError(`${url} returned a protocol that does not match the expected shape: ${formatIssues(parsed.error.issues)}`);
      }
      return parsed.data;
    },
  };
}

function parseBody(text: string, contentType: unknown, url: string, mask: (s: string) => string): unknown {
  const trimmed = text.trimStart();
  if (trimmed === '') throw new InvalidResponseError(`${url} returned an empty body`);
  if (trimmed.startsWith('<') || /text\/html/i.test(String(contentType ?? ''))) {
    throw new InvalidResponseError(`${url} returned an HTML page instead of JSON: ${excerpt(text, mask)}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const message = errorMessage(error);
    // Truncated: the parser ran out of input (trailing text after a whole value errs before the end).
    const at = /at position (\d+)/.exec(message);
    const truncated = /^[[{]/.test(trimmed) && (/end of JSON input/i.test(message) || (at !== null && Number(at[1]) >= text.length));
    const what = truncated ? 'a truncated JSON body' : 'a body that is not valid JSON';
    // Masked before it is cut, like excerpt(): a wider window, masked, then its last 60 characters.
    const tail = truncated ? ` … ending ${JSON.stringify(mask(text.slice(-4096)).slice(-60))}` : '';
    throw new InvalidResponseError(`${url} returned ${what} (${text.length} characters): ${excerpt(text, mask)}${tail}`);
  }
}

function expectArray(body: unknown, url: string): unknown[] {
  if (Array.isArray(body)) return body;
  throw new InvalidResponseError(`${url} returned ${typeName(body)} where a JSON array was expected: ${excerpt(JSON.stringify(body))}`);
}

/** The yields routes answer `{status: "success", data: [...]}`. */
function expectEnvelope(body: unknown, url: string): unknown[] {
  if (!isPlainObject(body)) {
    throw new InvalidResponseError(`${url} returned ${typeName(body)} where a {status, data} object was expected: ${excerpt(JSON.stringify(body))}`);
  }
  if (body.status !== 'success') {
    throw new InvalidResponseError(`${url} returned status ${JSON.stringify(body.status)} instead of "success": ${excerpt(JSON.stringify(body))}`);
  }
  if (!Array.isArray(body.data)) {
    throw new InvalidResponseError(`${url} returned ${typeName(body.data)} in "data" where an array was expected`);
  }
  return body.data;
}

function keyField(field: string): (record: unknown) => string | undefined {
  return (record) => {
    if (!isPlainObject(record)) return undefined;
    const value = record[field];
    return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function excerpt(text: string, mask: (s: string) => string = redactUrl): string {
  return quotedExcerpt(text, EXCERPT_CHARS, mask);
}
