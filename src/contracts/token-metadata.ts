// ERC-20 metadata of mapped EVM tokens from Moralis, for addresses not fetched within the re-check window on chains it serves.
// A refused key stops the run (a configuration error); any other failed request is counted and the run carries on.
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { CancelledError, ConfigError, errorMessage } from '../errors.js';
import type { RunStats } from '../runs/stats.js';
import type { Logger } from '../logger.js';
import { moralisChainForKey } from '../moralis/chains.js';
import { createMoralisClient, MORALIS_MAX_ADDRESSES, type MoralisToken } from '../moralis/client.js';
import { redact } from '../redact.js';

/** token_metadata.source of Moralis' rows. */
export const MORALIS_SOURCE = 'moralis';
/** contract_mappings.verification_method of a mapping whose evidence is Moralis' answer. */
export const MORALIS_METHOD = 'ERC-20 metadata via Moralis';

export interface TokenMetadataRow extends MoralisToken {
  readonly chainKey: string;
}

export interface TokenMetadataSummary {
  /** Distinct EVM token addresses mapped on chains with a chain key. */
  readonly candidates: number;
  /** Of those, on chains Moralis does not serve: not asked. */
  readonly unsupported: number;
  readonly unsupportedChains: Record<string, number>;
  /** Fetched within the re-check window: not asked again. */
  readonly fresh: number;
  readonly asked: number;
  readonly requests: number;
  /** Answered with metadata (stored). */
  readonly answered: number;
  /** Asked but left out of the answer. */
  readonly unanswered: number;
  /** In requests that failed. */
  readonly failed: number;
  /** Records of an answer that were malformed or not asked for. */
  readonly rejected: number;
  readonly warnings: string[];
}

const SELECT_FRESH = `
  SELECT chain_key, address FROM token_metadata
  WHERE chain_key = ANY($1::text[]) AND fetched_at > now() - make_interval(days => $2::int)`;

const TOKEN_TYPES: ReadonlySet<string> = new Set(['underlying_token', 'reward_token', 'lp_token', 'protocol_token']);

export function isTokenCandidate(row: { family: string; chainKey: string | null; type: string }): boolean {
  return row.family === 'evm' && row.chainKey !== null && TOKEN_TYPES.has(row.type);
}

export interface FetchTokenMetadataOptions {
  readonly recheckDays: number;
  readonly stats: RunStats;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

export async function fetchTokenMetadata(
  db: Db,
  config: Pick<Config, 'moralisApiKey' | 'moralisApiUrl' | 'httpTimeoutMs' | 'maxResponseBytes' | 'apiRateLimitMs'>,
  candidates: Iterable<{ chainKey: string; address: string }>,
  options: FetchTokenMetadataOptions,
): Promise<{ rows: TokenMetadataRow[]; summary: TokenMetadataSummary }> {
  const { log, signal } = options;
  const byChain = new Map<string, { moralis: string; addresses: Set<string> }>();
  const unsupportedChains: Record<string, Set<string>> = {};
  for (const c of candidates) {
    const moralis = moralisChainForKey(c.chainKey);
    const entry = byChain.get(c.chainKey);
    if (moralis === undefined) (unsupportedChains[c.chainKey] ??= new Set()).add(c.address);
    else if (entry) entry.addresses.add(c.address);
    else byChain.set(c.chainKey, { moralis, addresses: new Set([c.address]) });
  }

  const fresh = new Set<string>();
  if (byChain.size > 0) {
    await db.each<{ chain_key: string; address: string }>(SELECT_FRESH, [[...byChain.keys()], options.recheckDays], (r) => fresh.add(`${r.chain_key}\u0000${r.address}`));
  }

  const client = createMoralisClient(config, { stats: options.stats, log, signal });
  // One row per address, should an answer repeat one.
  const answered = new Map<string, TokenMetadataRow>();
  const warnings: string[] = [];
  let candidatesCount = 0;
  let asked = 0;
  let requests = 0;
  let failed = 0;
  let rejected = 0;
  for (const [chainKey, { moralis, addresses }] of byChain) {
    candidatesCount += addresses.size;
    const todo = [...addresses].filter((a) => !fresh.has(`${chainKey}\u0000${a}`));
    for (let i = 0; i < todo.length; i += MORALIS_MAX_ADDRESSES) {
      signal?.throwIfAborted();
      const batch = todo.slice(i, i + MORALIS_MAX_ADDRESSES);
      asked += batch.length;
      requests += 1;
      try {
        const answer = await client.tokenMetadata(moralis, batch);
        rejected += answer.rejected;
        for (const t of answer.tokens) answered.set(`${chainKey}\u0000${t.address}`, { ...t, chainKey });
      } catch (error) {
        if (error instanceof ConfigError || error instanceof CancelledError || signal?.aborted) throw error;
        failed += batch.length;
        const warning = `token metadata for ${batch.length} ${chainKey} addresses not fetched: ${redact(errorMessage(error))}`;
        if (warnings.length < 10) warnings.push(warning);
        log.warn(warning);
      }
    }
  }
  const unsupportedCounts = Object.fromEntries(Object.entries(unsupportedChains).map(([k, set]) => [k, set.size]));
  const unsupported = Object.values(unsupportedCounts).reduce((n, c) => n + c, 0);
  return {
    rows: [...answered.values()],
    summary: {
      candidates: candidatesCount + unsupported,
      unsupported,
      unsupportedChains: unsupportedCounts,
      fresh: candidatesCount - asked,
      asked,
      requests,
      answered: answered.size,
      unanswered: asked - failed - answered.size,
      failed,
      rejected,
      warnings,
    },
  };
}
