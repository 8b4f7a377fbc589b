/**
 * map-contracts: DeFiLlama pools and protocols to contract addresses with confidence scores.
 * Pools and protocols come from the database (synced earlier in the pipeline); /poolsOld is
 * fetched as an optional source; EVM addresses are optionally verified on-chain, and with
 * MORALIS_API_KEY the EVM tokens' ERC-20 metadata is fetched. Everything is written in one
 * transaction (src/contracts/store.ts).
 */
import { buildMappings, type MappingRow, type PoolOldInput } from '../contracts/build-mappings.js';
import { countActiveByConfidence, readCarried, readPools, readProtocols, readStoredState, writeMappings } from '../contracts/store.js';
import { fetchTokenMetadata, isTokenCandidate, type TokenMetadataRow, type TokenMetadataSummary } from '../contracts/token-metadata.js';
import { anyRpcConfigured } from '../contracts/verify/rpc-endpoints.js';
import type { VerificationResult, VerificationSummary } from '../contracts/verify/verify-addresses.js';
import { createDefiLlamaClient } from '../defillama/client.js';
import { ProRequiredError } from '../defillama/errors.js';
import { CancelledError, errorMessage } from '../errors.js';
import { redact } from '../redact.js';
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
  const lap = (name: string, since: number) => (timings[name] = Math.round(performance.now() - since));

  // /poolsOld: optional. A 402 (no pro key) or any failure leaves its earlier entries in place.
  // It downloads while the database reads run.
  const fetchPoolsOld = async (): Promise<{ map?: Map<string, PoolOldInput>; status: string; ms: number }> => {
    const started = performance.now();
    try {
      const client = createDefiLlamaClient(config, { stats, log, signal });
      const { records, rejected } = await client.poolsOld();
      const map = new Map(records.map((r) => [r.pool, { poolOld: r.pool_old ?? null, poolTokenAddress: r.poolTokenAddress ?? null, url: r.url ?? null }]));
      const status = rejected.length > 0 ? `used (${records.length} records, ${rejected.length} malformed rejected)` : `used (${records.length} records)`;
      return { map, status, ms: Math.round(performance.now() - started) };
    } catch (error) {
      if (error instanceof CancelledError || signal.aborted) throw error;
      const why = error instanceof ProRequiredError ? 'needs a pro API key (HTTP 402)' : redact(errorMessage(error));
      const warning = `/poolsOld skipped: ${why}; mappings it backed keep their earlier sources and confidence`;
      warnings.push(warning);
      log.warn(warning);
      return { status: 'unavailable', ms: Math.round(performance.now() - started) };
    }
  };
  const reads = async () => {
    const started = performance.now();
    const all = await Promise.all([
      readPools(db),
      readProtocols(db),
      readStoredState(db),
    ]);
    timings.read = Math.round(performance.now() - started);
    return all;
  };
  let t = performance.now();
  const [[pools, protocols, stored], fetched] = await Promise.all([reads(), fetchPoolsOld()]);
  timings.poolsOld = fetched.ms;
  lap('readAndFetch', t);
  stats.processed = pools.length + protocols.length;
  const poolsOld = fetched.map;
  const poolsOldStatus = fetched.status;

  // Pools /poolsOld was silent about keep what it said on earlier runs.
  t = performance.now();
  const silent = poolsOld ? new Set(pools.filter((p) => !poolsOld.has(p.poolId)).map((p) => p.poolId)) : undefined;
  const carried = silent === undefined || silent.size > 0 ? await readCarried(db, silent) : [];
  lap('readCarried', t);

  const input = { pools, poolsOld, protocols, carried };
  const verifying = options.verify && anyRpcConfigured(config);
  const describing = Boolean(config.moralisApiKey);
  t = performance.now();
  const { rows, ...built } = buildMappings(input);
  const tally = tallyRows(rows);
  lap('build', t);

  signal.throwIfAborted();

  t = performance.now();
  let verifications: VerificationResult[] = [];
  let verification: VerificationSummary | { skipped: string };
  if (!options.verify) verification = { skipped: '--no-verify' };
  else if (!verifying) verification = { skipped: 'no RPC endpoint configured (ALCHEMY_API_KEY, RPC_URL_<CHAINKEY>)' };
  else {
    try {
      const candidates = rows.filter((r) => r.family === 'evm' && r.chainKey !== null).map((r) => ({ chainKey: r.chainKey!, address: r.address }));
      // Loaded only when verifying: viem is a large module graph.
      const { verifyAddresses } = await import('../contracts/verify/verify-addresses.js');
      const out = await verifyAddresses(db, config, candidates, { recheckDays: options.recheckDays, limit: options.verifyLimit, log, signal });
      verifications = out.results;
      verification = out.summary;
      for (const w of out.summary.warnings) warnings.push(`on-chain verification: ${w}`);
    } catch (error) {
      if (error instanceof CancelledError || signal.aborted) throw error;
      const warning = `on-chain verification skipped: ${redact(errorMessage(error))}`;
      warnings.push(warning);
      log.warn(warning);
      verification = { skipped: 'failed' };
    }
  }
  lap('verify', t);

  // Token metadata (Moralis): a refused key is a configuration error and stops the run; other
  // failures are counted and the mappings are written all the same.
  t = performance.now();
  let tokenMetadata: TokenMetadataRow[] = [];
  let metadata: TokenMetadataSummary | { skipped: string } = { skipped: 'MORALIS_API_KEY not set' };
  if (describing) {
    const candidates = rows.filter(isTokenCandidate).map((r) => ({ chainKey: r.chainKey!, address: r.address }));
    const out = await fetchTokenMetadata(db, config, candidates, { recheckDays: options.recheckDays, stats, log, signal });
    tokenMetadata = out.rows;
    metadata = out.summary;
    for (const w of out.summary.warnings) warnings.push(`token metadata: ${w}`);
  }
  lap('tokenMetadata', t);

  t = performance.now();
  const written = await writeMappings(db, rows, verifications, stored, {
    maxDeactivateShare: config.maxDeactivateShare,
    force: options.force ?? false,
    signal,
    onForcedDeactivation: (deactivated, activeBefore) => log.warn({ deactivated, activeBefore }, '--force: deactivating more mappings than MAX_DEACTIVATE_SHARE allows'),
    tokenMetadata,
  });
  lap('write', t);

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
    mappings: tally.rows,
    byFamily: tally.byFamily,
    byType: tally.byType,
    activeByConfidence: await countActiveByConfidence(db),
    rejected: built.rejected,
    carriedEntries: built.carriedEntries,
    poolsWithoutChain: built.poolsWithoutChain,
    mappingsSent: written.sent,
    ownersChanged: written.ownersChanged,
    checksumsComputed: written.checksummed,
    verification,
    tokenMetadata: metadata,
    timingsMs: { ...timings, ...prefix('write.', written.timings), total: Math.round(performance.now() - t0) },
    ...(warnings.length > 0 ? { warnings } : {}),
  });
  log.info(
    { mappings: tally.rows, poolsWithMapping: withMapping, pools: pools.length, created: written.created, updated: written.updated, deactivated: written.deactivated },
    'contract mappings written',
  );
}

interface RowTally {
  readonly rows: number;
  readonly byFamily: Record<string, number>;
  readonly byType: Record<string, number>;
}

/** The rows by family and type. */
function tallyRows(rows: readonly MappingRow[]): RowTally {
  const byFamily: Record<string, number> = {};
  const byType: Record<string, number> = {};
  for (const row of rows) {
    byFamily[row.family] = (byFamily[row.family] ?? 0) + 1;
    byType[row.type] = (byType[row.type] ?? 0) + 1;
  }
  return { rows: rows.length, byFamily, byType };
}

function prefix(p: string, o: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}${k}`, v]));
}
