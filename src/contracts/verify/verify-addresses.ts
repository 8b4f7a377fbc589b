// On-chain verification of mapped EVM addresses, optional and never fatal. Verdicts within the re-check window come from
// the contract_verifications cache; the rest are asked of each chain's endpoint, at most `limit` per run.
import pLimit from 'p-limit';
import { evmChainIdForKey } from '../../chains/chain-reference.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/connection.js';
import type { Logger } from '../../logger.js';
import { checkCode, type CodeCheck } from './code-checker.js';
import { rpcEndpointFor, type RpcEndpoint } from './rpc-endpoints.js';

export interface VerificationResult extends CodeCheck {
  readonly chainKey: string;
  readonly method: string;
}

export interface VerificationSummary {
  /** Chains with an endpoint, and how each is checked (never the URL). */
  readonly endpoints: Record<string, string>;
  /** EVM addresses on chains with an endpoint. */
  readonly candidates: number;
  /** Of those, checked recently enough to reuse the cached verdict. */
  readonly cached: number;
  readonly checked: number;
  readonly contracts: number;
  readonly notContracts: number;
  readonly failed: number;
  /** Left for a later run by the per-run limit. */
  readonly deferred: number;
  readonly httpRequests: number;
  readonly rateLimited: number;
  readonly warnings: string[];
}

export interface VerifyOptions {
  readonly recheckDays: number;
  readonly limit: number;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

const SELECT_CACHED = `
  SELECT chain_key, address, checked_at > now() - make_interval(days => $2::int) AS fresh
  FROM contract_verifications
  WHERE chain_key = ANY($1::text[])`;

/** Endpoints checked in parallel (each one is paced on its own). */
const PARALLEL_ENDPOINTS = 4;

export async function verifyAddresses(
  db: Db,
  config: Pick<Config, 'rpcUrls' | 'alchemyApiKey' | 'httpTimeoutMs'>,
  candidates: Iterable<{ chainKey: string; address: string }>,
  options: VerifyOptions,
): Promise<{ results: VerificationResult[]; summary: VerificationSummary }> {
  const byChain = new Map<string, { endpoint: RpcEndpoint; addresses: Set<string> }>();
  for (const c of candidates) {
    const chain = byChain.get(c.chainKey);
    if (chain) chain.addresses.add(c.address);
    else {
      const endpoint = rpcEndpointFor(config, c.chainKey);
      if (endpoint) byChain.set(c.chainKey, { endpoint, addresses: new Set([c.address]) });
    }
  }

  const cachedRows = byChain.size
    ? await db.manyOrNone<{ chain_key: string; address: string; fresh: boolean }>(SELECT_CACHED, [[...byChain.keys()], options.recheckDays])
    : [];
  const verdicts = new Map(cachedRows.map((r) => [`${r.chain_key}\u0000${r.address}`, r.fresh]));

  // Never checked first, then the stale ones; the limit is shared by all chains in that order.
  let cached = 0;
  const unchecked: { endpoint: RpcEndpoint; address: string }[] = [];
  const restale: typeof unchecked = [];
  for (const [chainKey, { endpoint, addresses }] of byChain) {
    for (const address of addresses) {
      const fresh = verdicts.get(`${chainKey}\u0000${address}`);
      if (fresh) cached += 1;
      else (fresh === undefined ? unchecked : restale).push({ endpoint, address });
    }
  }
  const due = [...unchecked, ...restale];
  const taken = due.slice(0, options.limit);
  const deferred = due.length - taken.length;
  const perEndpoint = new Map<RpcEndpoint, string[]>();
  for (const c of taken) {
    const list = perEndpoint.get(c.endpoint);
    if (list) list.push(c.address);
    else perEndpoint.set(c.endpoint, [c.address]);
  }

  const checks = await pLimit(PARALLEL_ENDPOINTS).map([...perEndpoint], async ([endpoint, addresses]) => {
    const outcome = await checkCode(endpoint, addresses, {
      expectedChainId: evmChainIdForKey(endpoint.chainKey),
      batchSize: 100,
      pauseMs: 250,
      timeoutMs: config.httpTimeoutMs,
      retries: 3,
      retryDelayMs: 500,
      log: options.log,
      signal: options.signal,
    });
    return { ...outcome, results: outcome.results.map((r) => ({ ...r, chainKey: endpoint.chainKey, method: endpoint.method })) };
  });
  const results: VerificationResult[] = checks.flatMap((c) => c.results);
  const total = (key: 'failed' | 'httpRequests' | 'rateLimited') => checks.reduce((n, c) => n + c[key], 0);
  const contracts = results.filter((r) => r.isContract).length;
  return {
    results,
    summary: {
      endpoints: Object.fromEntries([...byChain.values()].map(({ endpoint: e }) => [e.chainKey, e.method])),
      candidates: cached + due.length,
      cached,
      checked: results.length,
      contracts,
      notContracts: results.length - contracts,
      failed: total('failed'),
      deferred,
      httpRequests: total('httpRequests'),
      rateLimited: total('rateLimited'),
      warnings: checks.flatMap((c) => (c.warning ? [c.warning] : [])),
    },
  };
}
