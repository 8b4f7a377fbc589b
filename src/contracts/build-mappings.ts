// Turns every source's claims into mapping rows, one per (pool or protocol, chain, address, contract type), with the
// union of the sources that named it and the confidence that follows. Pure: no database, no network.
import { chainKeyForLabel, evmChainIdForKey, labelForChainKey } from '../chains/chain-reference.js';
import type { ApiPoolOld } from '../defillama/schemas.js';
import { classifyAddress, type AddressFamily, type ParsedAddress } from './address.js';
import { extractFromText } from './free-text.js';
import { parsePoolOld } from './pool-old.js';
import { parseProtocolAddress } from './protocol-address.js';
import { compare, confidenceOf, entry, mergeEntries, OPTIONAL_SOURCE_PREFIX, type ContractType, type SourceEntry, type SourceName } from './sources.js';

export interface PoolInput {
  readonly poolId: string;
  /** Display label ("Ethereum"). */
  readonly chain: string | null;
  readonly poolMeta: string | null;
  readonly underlyingTokens: readonly string[] | null;
  readonly rewardTokens: readonly string[] | null;
}

export type PoolOldInput = Omit<ApiPoolOld, 'pool'>;

export interface ProtocolInput {
  readonly id: string;
  readonly address: string | null;
  readonly chains: readonly string[];
}

/** A stored mapping whose optional-source entries are kept because that source was silent. */
export interface CarriedRow extends Pick<MappingRow, 'chain' | 'chainKey' | 'address' | 'family' | 'type' | 'entries'> {
  readonly poolId: string;
  readonly addressDisplay: string;
}

export interface MappingRow {
  readonly poolId: string | null;
  readonly protocolId: string | null;
  readonly chain: string;
  readonly chainKey: string | null;
  readonly evmChainId: number | null;
  readonly address: string;
  /** Undefined for EVM addresses until their EIP-55 form is resolved. */
  readonly display: string | undefined;
  readonly family: AddressFamily;
  readonly type: ContractType;
  readonly entries: readonly SourceEntry[];
  /** From the sources alone; the merge raises it to 1.0 for addresses verified on-chain. */
  readonly confidence: number;
}

export interface BuildInput {
  readonly pools: readonly PoolInput[];
  /** Undefined when /poolsOld could not be read this run. */
  readonly poolsOld: ReadonlyMap<string, PoolOldInput> | undefined;
  readonly protocols: readonly ProtocolInput[];
  /** Stored rows of pools that /poolsOld was silent about this run. */
  readonly carried: readonly CarriedRow[];
}

export interface BuildResult {
  // Pools, then protocols, each owner's rows in (chain, address, type) order: inputs read in id order give the natural
  // key's order (NULL pool ids last), so PostgreSQL builds a first load's unique index from presorted rows.
  readonly rows: MappingRow[];
  readonly poolsWithMapping: number;
  readonly protocolsWithMapping: number;
  /** Values that were not usable addresses, by source and reason. */
  readonly rejected: Record<string, Record<string, number>>;
  /** Optional-source entries kept from earlier runs. */
  readonly carriedEntries: number;
  readonly poolsWithoutChain: number;
}

interface Claim {
  readonly chain: string;
  readonly chainKey: string | undefined;
  readonly parsed: ParsedAddress;
  readonly type: ContractType;
  readonly entry: SourceEntry;
  /** A display form already stored (carried rows). */
  readonly display?: string;
}

/** Types that name the pool's own contract: for most AMMs the pool is its LP token. */
const POOL_CONTRACT: ReadonlySet<ContractType> = new Set(['pool', 'lp_token']);

/** Per-owner scratch state, reused from owner to owner (a run builds hundreds of thousands of claims). */
interface Scratch {
  chain: string;
  chainKey: string | undefined;
  readonly claims: Claim[];
  readonly rejected: Record<string, Record<string, number>>;
}

function reject(s: Scratch, source: SourceName, reason: string): void {
  const bySource = (s.rejected[source] ??= {});
  bySource[reason] = (bySource[reason] ?? 0) + 1;
}

function addClaim(s: Scratch, source: SourceName, kind: SourceEntry['kind'], raw: string, parsed: ParsedAddress, type: ContractType): void {
  const own = parsed.chainKey;
  const chain = own !== undefined ? (labelForChainKey(own) ?? own) : s.chain;
  s.claims.push({ chain, chainKey: own ?? s.chainKey, parsed, type, entry: entry(source, kind, raw) });
}

function addTokens(s: Scratch, source: SourceName, list: readonly string[] | null, type: ContractType): void {
  if (!list) return;
  for (const raw of list) {
    const c = classifyAddress(raw, s.chainKey);
    if (c.ok) addClaim(s, source, 'reliable', raw, c.value, type);
    else reject(s, source, c.reason);
  }
}

function addText(s: Scratch, source: SourceName, value: string | null | undefined): void {
  if (!value) return;
  for (const found of extractFromText(value, s.chainKey)) addClaim(s, source, 'heuristic', value, found.value, found.type);
}

export function buildMappings(input: BuildInput): BuildResult {
  const carriedByPool = new Map<string, CarriedRow[]>();
  for (const row of input.carried) {
    const list = carriedByPool.get(row.poolId);
    if (list) list.push(row);
    else carriedByPool.set(row.poolId, [row]);
  }

  const rows: MappingRow[] = [];
  let poolsWithMapping = 0;
  let protocolsWithMapping = 0;
  let carriedEntries = 0;
  let poolsWithoutChain = 0;
  const s: Scratch = { chain: '', chainKey: undefined, claims: [], rejected: {} };

  for (const pool of input.pools) {
    if (!pool.chain) {
      poolsWithoutChain += 1;
      continue;
    }
    s.chain = pool.chain;
    s.chainKey = chainKeyForLabel(pool.chain);
    s.claims.length = 0;

    const old = input.poolsOld?.get(pool.poolId);
    if (old) {
      if (old.pool_old !== undefined && old.pool_old !== null) {
        const r = parsePoolOld(old.pool_old, s.chainKey);
        if (r.ok) addClaim(s, 'poolsOld.pool_old', r.kind, old.pool_old, r.value, 'pool');
        else reject(s, 'poolsOld.pool_old', r.reason);
      }
      if (old.poolTokenAddress) addTokens(s, 'poolsOld.poolTokenAddress', [old.poolTokenAddress], 'lp_token');
      addText(s, 'poolsOld.url', old.url);
    } else {
      // /poolsOld said nothing about this pool: what it said before still stands.
      for (const row of carriedByPool.get(pool.poolId) ?? []) {
        const parsed: ParsedAddress = { family: row.family, address: row.address, given: row.addressDisplay };
        for (const e of row.entries) {
          if (!e.source.startsWith(OPTIONAL_SOURCE_PREFIX)) continue;
          s.claims.push({ chain: row.chain, chainKey: row.chainKey ?? undefined, parsed, type: row.type, entry: e, display: row.addressDisplay });
          carriedEntries += 1;
        }
      }
    }
    addTokens(s, 'pools.underlyingTokens', pool.underlyingTokens, 'underlying_token');
    addTokens(s, 'pools.rewardTokens', pool.rewardTokens, 'reward_token');
    addText(s, 'pools.poolMeta', pool.poolMeta);

    const owned = collect(s.claims, pool.poolId, null);
    if (owned.length > 0) poolsWithMapping += 1;
    rows.push(...owned.sort(byKey));
  }

  for (const protocol of input.protocols) {
    if (protocol.address === null) continue;
    const r = parseProtocolAddress(protocol.address, protocol.chains);
    if (!r.ok) {
      reject(s, 'protocols.address', r.reason);
      continue;
    }
    s.claims.length = 0;
    addClaim(s, 'protocols.address', r.kind, protocol.address, r.value, 'protocol_token');
    rows.push(...collect(s.claims, null, protocol.id));
    protocolsWithMapping += 1;
  }
  return { rows, poolsWithMapping, protocolsWithMapping, rejected: s.rejected, carriedEntries, poolsWithoutChain };
}

function byKey(a: MappingRow, b: MappingRow): number {
  return compare(a.chain, b.chain) || compare(a.address, b.address) || compare(a.type, b.type);
}

/** Groups one owner's claims by (chain, address), with a row per contract type. */
function collect(claims: readonly Claim[], poolId: string | null, protocolId: string | null): MappingRow[] {
  const out: MappingRow[] = [];
  const n = claims.length;
  // A pool has a handful of claims: grouping by scanning is cheaper than a map per pool.
  const taken: boolean[] = [];
  for (let i = 0; i < n; i++) {
    if (taken[i]) continue;
    const head = claims[i]!;
    let group: Claim[] | undefined;
    for (let j = i + 1; j < n; j++) {
      const c = claims[j]!;
      if (c.parsed.address === head.parsed.address && c.chain === head.chain && !taken[j]) {
        (group ??= [head]).push(c);
        taken[j] = true;
      }
    }
    if (group === undefined) {
      // Most addresses are named by one source: no merging to do.
      out.push(row(poolId, protocolId, head, head.type, [head.entry], head.parsed.family === 'evm' ? head.display : head.parsed.given));
      continue;
    }
    const stated = group.filter((c) => c.entry.kind !== 'heuristic');
    const heuristic = group.filter((c) => c.entry.kind === 'heuristic');
    // Free text only confirms what a field states; alone, it names its own type.
    const types = new Set<ContractType>(stated.length > 0 ? stated.map((c) => c.type) : [heuristic[0]!.type]);
    const display = head.parsed.family === 'evm' ? group.find((c) => c.display !== undefined)?.display : head.parsed.given;
    for (const type of types) {
      const entries = mergeEntries([
        ...stated.filter((c) => c.type === type || (POOL_CONTRACT.has(type) && POOL_CONTRACT.has(c.type))).map((c) => c.entry),
        ...heuristic.map((c) => c.entry),
      ]);
      out.push(row(poolId, protocolId, head, type, entries, display));
    }
  }
  return out;
}

function row(poolId: string | null, protocolId: string | null, first: Claim, type: ContractType, entries: readonly SourceEntry[], display: string | undefined): MappingRow {
  const chainKey = first.chainKey ?? null;
  return {
    poolId,
    protocolId,
    chain: first.chain,
    chainKey,
    evmChainId: chainKey === null ? null : (evmChainIdForKey(chainKey) ?? null),
    address: first.parsed.address,
    display,
    family: first.parsed.family,
    type,
    entries,
    confidence: confidenceOf(entries),
  };
}
