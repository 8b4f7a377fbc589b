// HTTP shared by every API client (DeFiLlama's, Moralis'). The size limit applies to the decompressed body:
// axios decodes gzip, deflate and br as it reads and counts maxContentLength after decoding.
import axios, { AxiosError, type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import axiosRetry from 'axios-retry';
import { CancelledError, errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RunStats } from '../runs/stats.js';
import { VERSION } from '../version.js';
import type { RequestSpacer } from './rate-limiter.js';

export type HttpCounters = Pick<RunStats, 'apiCalls' | 'rateLimitHits' | 'retries'>;

export interface ApiHttpOptions {
  readonly stats: HttpCounters;
  readonly log: Logger;
  /** Aborts requests in flight and waits between retries. */
  readonly signal?: AbortSignal;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  /** Least ms between the starts of two requests taken from `spacer`. */
  readonly spacingMs: number;
  readonly spacer: RequestSpacer;
  /** Retries after the first attempt (default 3). */
  readonly retries?: number;
  /** Base of the exponential back-off, ms (default 1000). Tests use a few ms. */
  readonly retryBaseMs?: number;
  /** Longest wait honoured from a Retry-After header, ms (default 60 000). */
  readonly maxRetryAfterMs?: number;
  /** Masks what a URL must not show (keys, passwords) before it is logged. */
  readonly displayUrl: (url: string) => string;
  /** Extra request headers (e.g. an API key header: never logged). */
  readonly headers?: Readonly<Record<string, string>>;
  /** The client's error for a failure no HTTP status explains, by what failed. */
  readonly fail: (kind: 'network' | 'timeout' | 'body', message: string) => Error;
}

export interface ApiHttp {
  /** GET `url` (`shown` in messages); failures reject with CancelledError, onStatus's error for a non-2xx answer, or options.fail's. */
  get(url: string, shown: string, onStatus: (status: number, text: string) => Error): Promise<AxiosResponse<Buffer>>;
}

/** A request config stamped with when its attempt started (performance.now()). */
type TimedConfig = InternalAxiosRequestConfig & { __started?: number };

export function createApiHttp(options: ApiHttpOptions): ApiHttp {
  const { stats, log, displayUrl, spacer, spacingMs, signal, fail } = options;
  const http: AxiosInstance = axios.create({
    timeout: options.timeoutMs,
    maxContentLength: options.maxResponseBytes,
    // A redirect drops only Authorization and cookies, so a key in a custom header would follow it to any host.
    maxRedirects: options.headers ? 0 : 3,
    // Bytes, parsed by the caller, so truncation and HTML pages can be told apart from valid JSON.
    responseType: 'arraybuffer',
    transformResponse: [(data: unknown) => data],
    headers: {
      'User-Agent': `defi-sync/${VERSION}`,
      Accept: 'application/json',
      'Accept-Encoding': 'gzip',
      ...options.headers,
    },
  });

  // Every attempt (retries too) waits for its start time; one cancelled while waiting is not counted.
  http.interceptors.request.use(async (req: TimedConfig) => {
    await spacer.acquire(spacingMs, req.signal as AbortSignal | undefined);
    req.__started = performance.now();
    stats.apiCalls += 1;
    return req;
  });

  // Registered before axios-retry, so it sees every attempt, including those that are retried.
  http.interceptors.response.use(
    (res) => {
      logAttempt(res.config as TimedConfig, res);
      // axios drops Content-Encoding once decoded: one left names an encoding it cannot read (e.g. zstd before Node.js 22.15).
      const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
      if (encoding === '' || encoding === 'identity') return res;
      throw new AxiosError(`a body in an unknown encoding (${JSON.stringify(encoding)})`, UNKNOWN_ENCODING, res.config, res.request);
    },
    (error: unknown) => {
      if (error instanceof AxiosError) {
        if (error.response?.status === 429) stats.rateLimitHits += 1;
        if (error.config) logAttempt(error.config as TimedConfig, error.response, error.code);
      }
      return Promise.reject(error);
    },
  );

  axiosRetry(http, {
    retries: options.retries ?? 3,
    shouldResetTimeout: true,
    retryCondition: isRetryable,
    retryDelay: (retryNumber, error) => {
      const after = retryAfterMs(error.response?.headers?.['retry-after']);
      if (after !== undefined) return Math.min(after, options.maxRetryAfterMs ?? 60_000);
      return (options.retryBaseMs ?? 1000) * 2 ** (retryNumber - 1) * (0.5 + Math.random());
    },
    onRetry: (retryNumber, error, req) => {
      stats.retries += 1;
      log.warn(
        { url: displayUrl(String(req.url)), attempt: retryNumber, status: error.response?.status, code: error.code },
        `retrying ${describeFailure(error)} (retry ${retryNumber})`,
      );
    },
  });

  function logAttempt(req: TimedConfig, res: AxiosResponse | undefined, code?: string): void {
    if (!log.isLevelEnabled('debug')) return;
    const ms = req.__started === undefined ? undefined : Math.round(performance.now() - req.__started);
    const bytes = Buffer.isBuffer(res?.data) ? res.data.length : undefined;
    log.debug({ url: displayUrl(String(req.url)), status: res?.status, code, ms, bytes }, 'api call');
  }

  function failure(error: unknown, shown: string, onStatus: (status: number, text: string) => Error): Error {
    if (error instanceof CancelledError) return error;
    if (!(error instanceof AxiosError)) return fail('network', `request to ${shown} failed: ${displayUrl(errorMessage(error))}`);
    if (error.code === AxiosError.ERR_CANCELED || signal?.aborted) return new CancelledError(`request to ${shown} cancelled`);
    if (error.code === UNKNOWN_ENCODING) return fail('body', `${shown} returned ${error.message}`);
    if (isBrokenBody(error)) return fail('body', `${shown} returned ${brokenBodyText(error)}, after retries`);
    const res = error.response;
    // The start of the body as text, for an excerpt (axios hands it decompressed): 64 Ki characters of at most 4 bytes each.
    if (res) return onStatus(res.status, Buffer.isBuffer(res.data) ? res.data.subarray(0, 4 * 65_536).toString('utf8').slice(0, 65_536) : '');
    if (isTimeout(error)) return fail('timeout', `request to ${shown} timed out after ${options.timeoutMs} ms (HTTP_TIMEOUT_MS), after retries`);
    if (/maxContentLength/i.test(error.message)) {
      return fail('body', `response from ${shown} is larger than MAX_RESPONSE_BYTES (${options.maxResponseBytes} bytes)`);
    }
    return fail('network', `request to ${shown} failed after retries: ${displayUrl(error.code ?? error.message)}`);
  }

  return {
    get: (url, shown, onStatus) =>
      http.get<Buffer>(url, { signal }).catch((error: unknown) => {
        throw failure(error, shown, onStatus);
      }),
  };
}

/** AxiosError code of a body in an encoding axios does not decode. */
const UNKNOWN_ENCODING = 'ERR_UNKNOWN_ENCODING';

function isRetryable(error: AxiosError): boolean {
  if (error.code === AxiosError.ERR_CANCELED || error.code === UNKNOWN_ENCODING) return false;
  // A body cut off or damaged on the way is worth asking for again, like a broken connection.
  if (isBrokenBody(error)) return true;
  const status = error.response?.status;
  if (status !== undefined) return status === 429 || (status >= 500 && status <= 599);
  // No response: a timeout or a network failure, but not a body over the size limit.
  return !/maxContentLength/i.test(error.message);
}

/** A 2xx is an error only when its body failed mid-read (the connection broke off, or zlib refused the bytes). */
function isBrokenBody(error: AxiosError): boolean {
  const status = error.response?.status;
  return status !== undefined && status >= 200 && status < 300;
}

function brokenBodyText(error: AxiosError): string {
  // zlib's errors have codes Z_* (gzip, deflate) or ERR__* (brotli); the rest are the connection's.
  return /^(Z_|ERR__)/.test(error.code ?? '') ? `a body that does not decompress (${error.message})` : `a body cut short (${error.message})`;
}

function isTimeout(error: AxiosError): boolean {
  return error.code === AxiosError.ECONNABORTED || error.code === AxiosError.ETIMEDOUT || /timeout/i.test(error.message);
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: unknown, now = Date.now()): number | undefined {
  const value = String(header ?? '').trim();
  if (value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describeFailure(error: AxiosError): string {
  if (isBrokenBody(error)) return brokenBodyText(error);
  if (error.response) return `HTTP ${error.response.status}`;
  if (isTimeout(error)) return 'a timeout';
  return `a network error (${error.code ?? 'unknown'})`;
}
