/**
 * The HTTP machinery every API client of the process shares (DeFiLlama's, Moralis'): axios with
 * axios-retry (exponential back-off, Retry-After honoured), spacing of request starts through a
 * RequestSpacer, timeouts, a response size limit and decompression in one piece, per-attempt
 * counting in the run's stats and debug logging with URLs passed through the caller's mask.
 */
import axios, { AxiosError, type AxiosInstance, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import axiosRetry from 'axios-retry';
import type { Logger } from '../logger.js';
import { VERSION } from '../version.js';
import { BodyEncodingError, BodyTooLargeError, decompressBody } from './decompress.js';
import type { RequestSpacer } from './rate-limiter.js';

/** The run's counters this module keeps (a job's RunStats has them). */
export interface HttpCounters {
  apiCalls: number;
  rateLimitHits: number;
  retries: number;
}

export interface ApiHttpOptions {
  /** apiCalls, retries and rateLimitHits are counted here. */
  readonly stats: HttpCounters;
  readonly log: Logger;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
  /** Least ms between the starts of two requests taken from `spacer`. */
  readonly spacingMs: number;
  readonly spacer: RequestSpacer;
  /** Retries after the first attempt. */
  readonly retries: number;
  /** Base of the exponential back-off, ms. */
  readonly retryBaseMs: number;
  /** Longest wait honoured from a Retry-After header, ms. */
  readonly maxRetryAfterMs: number;
  /** Masks what a URL must not show (keys, passwords) before it is logged. */
  readonly displayUrl: (url: string) => string;
  /** Extra request headers (e.g. an API key header: never logged). */
  readonly headers?: Readonly<Record<string, string>>;
}

interface AttemptMeta {
  started: number;
}
type TimedConfig = InternalAxiosRequestConfig & { __attempt?: AttemptMeta };

export function createApiHttp(options: ApiHttpOptions): AxiosInstance {
  const { stats, log, displayUrl, spacer, spacingMs } = options;
  const http: AxiosInstance = axios.create({
    timeout: options.timeoutMs,
    maxContentLength: options.maxResponseBytes,
    // A key in a custom header would follow a redirect to any host (only Authorization and cookies
    // are dropped there), so key-bearing clients follow none.
    maxRedirects: options.headers ? 0 : 3,
    // The body is decompressed and parsed by the caller's side of this module (decompress.ts),
    // so truncation and HTML pages can be told apart from valid JSON.
    decompress: false,
    responseType: 'arraybuffer',
    transformResponse: [(data: unknown) => data],
    headers: {
      'User-Agent': `defi-sync/${VERSION}`,
      Accept: 'application/json',
      'Accept-Encoding': 'gzip',
      ...options.headers,
    },
  });

  // Request interceptors run last-registered first: this one must run after spacing, so it is added first.
  http.interceptors.request.use((req: TimedConfig) => {
    req.__attempt = { started: performance.now() };
    stats.apiCalls += 1;
    return req;
  });
  http.interceptors.request.use(async (req) => {
    await spacer.acquire(spacingMs, req.signal as AbortSignal | undefined);
    return req;
  });

  // Registered before axios-retry, so it sees every attempt, including those that are retried.
  http.interceptors.response.use(
    (res) => {
      logAttempt(res.config as TimedConfig, res.status, res);
      return res;
    },
    (error: unknown) => {
      if (error instanceof AxiosError) {
        if (error.response?.status === 429) stats.rateLimitHits += 1;
        if (error.config) logAttempt(error.config as TimedConfig, error.response?.status, error.response, error.code);
      }
      return Promise.reject(error);
    },
  );

  // Bodies arrive as sent (decompress: false) and are decompressed here, in one piece (see
  // decompress.ts). Registered before axios-retry: a body damaged on the way is retried like a
  // broken connection, with the same back-off.
  http.interceptors.response.use(async (res: AxiosResponse<Buffer>) => {
    try {
      res.data = await decompressBody(res.data, res.headers['content-encoding'], options.maxResponseBytes);
      return res;
    } catch (error) {
      if (!(error instanceof BodyTooLargeError || error instanceof BodyEncodingError)) throw error;
      const failed = new AxiosError(error.message, AxiosError.ERR_BAD_RESPONSE, res.config, res.request);
      failed.cause = error;
      throw failed;
    }
  });

  axiosRetry(http, {
    retries: options.retries,
    shouldResetTimeout: true,
    retryCondition: isRetryable,
    retryDelay: (retryNumber, error) => {
      const after = retryAfterMs(error.response?.headers?.['retry-after']);
      if (after !== undefined) return Math.min(after, options.maxRetryAfterMs);
      // Exponential with jitter: base·2^(n-1), scaled by a random factor in [0.5, 1.5).
      return options.retryBaseMs * 2 ** (retryNumber - 1) * (0.5 + Math.random());
    },
    onRetry: (retryNumber, error, req) => {
      stats.retries += 1;
      log.warn(
        { url: displayUrl(String(req.url)), attempt: retryNumber, status: error.response?.status, code: error.code },
        `retrying ${describeFailure(error)} (retry ${retryNumber})`,
      );
    },
  });

  function logAttempt(req: TimedConfig, status: number | undefined, res: AxiosResponse | undefined, code?: string): void {
    if (!log.isLevelEnabled('debug')) return;
    const ms = req.__attempt ? Math.round(performance.now() - req.__attempt.started) : undefined;
    const bytes = Buffer.isBuffer(res?.data) ? res.data.length : undefined;
    log.debug({ url: displayUrl(String(req.url)), status, code, ms, bytes }, 'api call');
  }

  return http;
}

export function isRetryable(error: AxiosError): boolean {
  if (error.code === AxiosError.ERR_CANCELED) return false;
  // A body that does not decompress is worth asking for again; one too large or in an unknown encoding is not.
  if (error.cause instanceof BodyTooLargeError) return false;
  if (error.cause instanceof BodyEncodingError) return error.cause.corrupt;
  const status = error.response?.status;
  if (status !== undefined) return status === 429 || (status >= 500 && status <= 599);
  // No response: a timeout or a network failure, but not a body over the size limit.
  return !/maxContentLength/i.test(error.message);
}

export function isTimeout(error: AxiosError): boolean {
  return error.code === AxiosError.ECONNABORTED || error.code === AxiosError.ETIMEDOUT || /timeout/i.test(error.message);
}

/** Retry-After as seconds or an HTTP date, in ms; undefined when absent or unreadable. */
export function retryAfterMs(header: unknown, now = Date.now()): number | undefined {
  if (header === undefined || header === null) return undefined;
  const value = String(header).trim();
  if (value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function describeFailure(error: AxiosError): string {
  if (error.response) return `HTTP ${error.response.status}`;
  if (error.cause instanceof BodyEncodingError) return error.cause.message;
  if (isTimeout(error)) return 'a timeout';
  return `a network error (${error.code ?? 'unknown'})`;
}
