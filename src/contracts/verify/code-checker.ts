// eth_getCode against one endpoint via viem (which retries, honouring Retry-After); batches are spaced not to flood a free
// tier. Verification is optional, so endpoint trouble never throws: it comes back as counts and a warning.
import { setTimeout as sleep } from 'node:timers/promises';
import { createPublicClient, http, type Hex } from 'viem';
import { CancelledError, errorMessage } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { redact } from '../../redact.js';
import type { RpcEndpoint } from './rpc-endpoints.js';

export interface CodeCheck {
  readonly address: string;
  readonly isContract: boolean;
  /** Bytes of runtime code; 0 for an account without code. */
  readonly codeSize: number;
}

export interface CheckOptions {
  /** The chain id the endpoint must answer; a mismatch means a misconfigured URL. */
  readonly expectedChainId?: number;
  readonly batchSize: number;
  /** Pause between two batches to the same endpoint, ms. */
  readonly pauseMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

export interface CheckOutcome {
  readonly results: CodeCheck[];
  readonly failed: number;
  readonly httpRequests: number;
  readonly rateLimited: number;
  readonly warning?: string;
}

/** After this many batches in a row fail completely, the endpoint is given up for this run. */
const MAX_FAILED_BATCHES = 2;

export async function checkCode(endpoint: RpcEndpoint, addresses: readonly string[], options: CheckOptions): Promise<CheckOutcome> {
  let httpRequests = 0;
  let rateLimited = 0;
  const client = createPublicClient({
    transport: http(endpoint.url, {
      batch: { batchSize: options.batchSize },
      retryCount: options.retries,
      retryDelay: options.retryDelayMs,
      timeout: options.timeoutMs,
      onFetchRequest: () => {
        httpRequests += 1;
      },
      onFetchResponse: (res) => {
        if (res.status === 429) rateLimited += 1;
      },
    }),
  });
  const where = `${endpoint.chainKey} (${endpoint.method})`;
  const results: CodeCheck[] = [];
  let failed = 0;
  const outcome = (warning?: string): CheckOutcome => ({ results, failed, httpRequests, rateLimited, ...(warning ? { warning } : {}) });

  if (options.expectedChainId !== undefined) {
    try {
      const id = await client.getChainId();
      if (id !== options.expectedChainId) {
        failed = addresses.length;
        return outcome(`${where} answers chain id ${id}, expected ${options.expectedChainId}: not used`);
      }
    } catch (error) {
      throwIfCancelled(options.signal, error);
      failed = addresses.length;
      return outcome(`${where} did not answer eth_chainId: ${describe(error)}`);
    }
  }

  let failedInRow = 0;
  for (let i = 0; i < addresses.length; i += options.batchSize) {
    if (options.signal?.aborted) throw new CancelledError('on-chain verification cancelled');
    if (i > 0 && options.pauseMs > 0) await sleep(options.pauseMs, undefined, { signal: options.signal }).catch((e: unknown) => throwIfCancelled(options.signal, e));
    const batch = addresses.slice(i, i + options.batchSize);
    // Issued in the same tick, so viem sends them as one JSON-RPC batch request.
    const settled = await Promise.allSettled(batch.map((address) => client.getCode({ address: address as Hex })));
    const errors: unknown[] = [];
    for (const [j, s] of settled.entries()) {
      if (s.status === 'fulfilled') results.push(codeVerdict(batch[j]!, s.value));
      else errors.push(s.reason);
    }
    failed += errors.length;
    if (errors.length > 0) options.log.warn({ chain: endpoint.chainKey, method: endpoint.method, failures: errors.length, error: describe(errors[0]) }, 'eth_getCode failures');
    failedInRow = errors.length === batch.length ? failedInRow + 1 : 0;
    if (failedInRow >= MAX_FAILED_BATCHES) {
      const rest = addresses.length - (i + batch.length);
      failed += rest;
      return outcome(`${where} failed ${MAX_FAILED_BATCHES} batches in a row (${describe(errors[0])}); ${rest} addresses left unchecked`);
    }
  }
  return outcome(failed > 0 ? `${where}: ${failed} of ${addresses.length} addresses could not be checked` : undefined);
}

/** Code present is a contract, except an EIP-7702 delegation (0xef0100 + address): that is an account. */
export function codeVerdict(address: string, code: Hex | undefined): CodeCheck {
  const hex = code && code !== '0x' ? code.toLowerCase() : '0x';
  const codeSize = (hex.length - 2) / 2;
  const delegated = codeSize === 23 && hex.startsWith('0xef0100');
  return { address, isContract: codeSize > 0 && !delegated, codeSize };
}

function describe(error: unknown): string {
  // viem's shortMessage leaves out the request (and so the URL); redact all the same.
  const short = (error as { shortMessage?: unknown } | undefined)?.shortMessage;
  return redact(typeof short === 'string' ? short : errorMessage(error)).slice(0, 300);
}

function throwIfCancelled(signal: AbortSignal | undefined, error: unknown): void {
  if (signal?.aborted) throw new CancelledError('on-chain verification cancelled', { cause: error });
}
