// Stored pools and protocols to contract addresses with confidence scores, helped where available by /poolsOld,
// on-chain verification and Moralis token metadata; written in one transaction (contracts/store.ts).
import { buildMappings, type MappingRow, type PoolOldInput } from '../contracts/build-mappings.js';
import { carriedRows, countActiveByConfidence, readPools, readProtocols, readStoredState, writeMappings } from '../contracts/store.js';
import { fetchTokenMetadata, isTokenCandidate, type TokenMetadataRow, type TokenMetadataSummary } from '../contracts/token-metadata.js';
import { anyRpcConfigured } from '../contracts/verify/rpc-endpoints.js';
import type { VerificationResult, VerificationSummary } from '../contracts/verify/verify-addresses.js';
import { createDefiLlamaClient } from '../defillama/client.js';
import { ProRequiredError } from '../defillama/errors.js';
import { CancelledError, errorMessage } from '../errors.js';
import { redact } from '../redact.js';
import { timed } from './timed.js';
import type { ForceOptions, JobContext } from './types.js';

/** Checked and defaulted by the options in the job registry. */
export interface MapContractsOptions extends ForceOptions {
  readonly verify: boolean;
  readonly recheckDays: number;
  readonly verifyLimit: number;
}

export async function run(ctx: JobContext<MapContractsOptions>): Promise<void> {
  const { db, log, stats, signal, config, options } = ctx;
  const warnings: string[] = [];
  const t0 = performance.now();
  const timings: Record<string, number> = {};

  // A 402 (no pro key) or any failure leaves /poolsOld's earlier entries in place.
  const fetchPoolsOld = async (): Promise<{ map?: Map<string, PoolOldInput>; status: string }> => {
    try {
      const client = createDefiLlamaClient(config, { stats, log, signal });
      const { records, rejected } = await client.poolsOld();
      const status = rejected.length > 0 ? `used (${records.length} records, ${rejected.length} malformed rejected)` : `used (${records.length} records)`;
      return { map: new Map(records.map((r) => [r.pool, r])), status };
    } catch (error) {
      if (error instanceof CancelledError || signal.aborted) throw error;
      const why = error instanceof ProRequiredError ? 'needs a pro API key (HTTP 402)' : redact(errorMessage(error));
      const warning = `/poolsOld skipped: ${why}; mappings it backed keep their earlier sources and confidence`;
      warnings.push(warning);
      log.warn(warning);
      return { status: 'unavailable' };
    }
  };
  // It downloads while the database reads run.
  const [[pools, protocols, stored], { map: poolsOld, status: poolsOldStatus }] = await timed(timings, 'readAndFetch', () =>
    Promise.all([timed(timings, 'read', () => Promise.all([readPools(db), readProtocols(db), readStoredState(db)])), timed(timings, 'poolsOld', fetchPoolsOld)]),
  );
  stats.processed = pools.length + protocols.length;

  // Pools /poolsOld was silent about keep what it said on earlier runs.
  const carried = carriedRows(stored, poolsOld);

  const { rows, ...built } = await timed(timings, 'build', () => buildMappings({ pools, poolsOld, protocols, carried }));

  signal.throwIfAborted();

  const verify = async (): Promise<{ verifications: VerificationResult[]; verification: VerificationSummary | { skipped: string } }> => {
    if (!options.verify) return { verifications: [], verification: { skipped: '--no-verify' } };
    if (!anyRpcConfigured(config)) return { verifications: [], verification: { skipped: 'no RPC endpoint configured (ALCHEMY_API_KEY, RPC_URL_<CHAINKEY>)' } };
    try {
      const candidates = rows.filter((r) => r.family === 'evm' && r.chainKey !== null).map((r) => ({ chainKey: r.chainKey!, address: r.address }));
      // Loaded only when verifying: viem is a large module graph.
      const { verifyAddresses } = await import('../contracts/verify/verify-addresses.js');
      const out = await verifyAddresses(db, config, candidates, { recheckDays: options.recheckDays, limit: options.verifyLimit, log, signal });
      for (const w of out.summary.warnings) warnings.push(`on-chain verification: ${w}`);
      return { verifications: out.results, verification: out.summary };
    } catch (error) {
      if (error instanceof CancelledError || signal.aborted) throw error;
      const warning = `on-chain verification skipped: ${redact(errorMessage(error))}`;
      warnings.push(warning);
      log.warn(warning);
      return { verifications: [], verification: { skipped: 'failed' } };
    }
  };
  const { verifications, verification } = await timed(timings, 'verify', verify);

  // Moralis: a refused key stops the run (configuration error); other failures are only counted.
  const describe = async (): Promise<{ rows: TokenMetadataRow[]; summary: TokenMetadataSummary | { skipped: string } }> => {
    if (!config.moralisApiKey) return { rows: [], summary: { skipped: 'MORALIS_API_KEY not set' } };
    const candidates = rows.filter(isTokenCandidate).map((r) => ({ chainKey: r.chainKey!, address: r.address }));
    const out = await fetchTokenMetadata(db, config, candidates, { recheckDays: options.recheckDays, stats, log, signal });
    for (const w of out.summary.warnings) warnings.push(`token metadata: ${w}`);
    return out;
  };
  const { rows: tokenMetadata, summary: metadata } = await timed(timings, 'tokenMetadata', describe);

  const written = await timed(timings, 'write', () =>
    writeMappings(db, rows, verifications, stored, {
      maxDeactivateShare: config.maxDeactivateShare,
      force: options.force ?? false,
      signal,
      onForcedDeactivation: (deactivated, activeBefore) => log.warn({ deactivated, activeBefore }, '--force: deactivating more mappings than MAX_DEACTIVATE_SHARE allows'),
      tokenMetadata,
    }),
  );

  stats.created = written.created;
  stats.updated = written.updated;
  stats.unchanged = written.unchanged;
  stats.deactivated = written.deactivated;
  const withMapping = built.poolsWithMapping;
  Object.assign(stats.details, {
    poolsOld: poolsOldStatus,
    pools: pools.length,
    protocols: protocols.length,
    poolsWithMapping: withMapping,
    poolShareWithMapping: pools.length ? Number((withMapping / pools.length).toFixed(4)) : 0,
    protocolsWithMapping: built.protocolsWithMapping,
    mappings: rows.length,
    byFamily: countBy(rows, 'family'),
    byType: countBy(rows, 'type'),
    activeByConfidence: await countActiveByConfidence(db),
    rejected: built.rejected,
    carriedEntries: built.carriedEntries,
    poolsWithoutChain: built.poolsWithoutChain,
    mappingsSent: written.sent,
    checksumsComputed: written.checksummed,
    verification,
    tokenMetadata: metadata,
    timingsMs: {
      ...timings,
      ...Object.fromEntries(Object.entries(written.timings).map(([k, v]) => [`write.${k}`, v])),
      total: Math.round(performance.now() - t0),
    },
    ...(warnings.length > 0 ? { warnings } : {}),
  });
  log.info(
    { mappings: rows.length, poolsWithMapping: withMapping, pools: pools.length, created: written.created, updated: written.updated, deactivated: written.deactivated },
    'contract mappings written',
  );
}

function countBy(rows: readonly MappingRow[], key: 'family' | 'type'): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row[key]] = (counts[row[key]] ?? 0) + 1;
  return counts;
}
