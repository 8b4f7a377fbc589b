/** Which items sync-historical backfills: the top N by TVL, --all, or a single --pool/--protocol; --only picks a kind. */
import { fail, ok, type Config, type Parsed } from '../config.js';
import type { Db } from '../db/connection.js';
import { POOL_ID } from '../defillama/schemas.js';
import { ConfigError } from '../errors.js';
import { describeShard, resolveShard, type Shard } from './shard.js';

export const ITEM_KINDS = Object.freeze(['pool', 'protocol'] as const);
export type ItemKind = (typeof ITEM_KINDS)[number];

export interface HistoryItem {
  readonly kind: ItemKind;
  /** pools.pool_id or protocols.id: the key of the snapshot rows. */
  readonly id: string;
  /** What the API is asked for: the pool id, or the protocol's slug. */
  readonly apiKey: string;
}

export interface Selection {
  readonly kinds: readonly ItemKind[];
  /** Top N per kind; undefined with --all or single items. */
  readonly top: number | undefined;
  readonly all: boolean;
  readonly pool: string | undefined;
  readonly protocol: string | undefined;
}

export interface HistoryOptions {
  readonly selection: Selection;
  readonly shard: Shard;
  readonly maxFailedShare: number;
}

export interface SyncHistoricalOptions {
  readonly all?: boolean;
  readonly top?: number;
  readonly pool?: string;
  readonly protocol?: string;
  readonly only?: 'pools' | 'protocols';
  readonly shard?: Shard;
  readonly maxFailedShare?: number;
}

export function poolId(raw: string): Parsed<string> {
  return POOL_ID.test(raw.trim()) ? ok(raw.trim()) : fail('a DeFiLlama pool id (a UUID)');
}

export function protocolSlug(raw: string): Parsed<string> {
  return /^[^\s/]+$/.test(raw.trim()) ? ok(raw.trim()) : fail('a protocol slug such as "aave-v3"');
}

/** The options with the settings they default to; which options combine is commander's to check. */
export function historyOptions(options: SyncHistoricalOptions, config: Config): HistoryOptions {
  const { pool, protocol, all = false, only } = options;
  const single = pool !== undefined || protocol !== undefined;
  let kinds: readonly ItemKind[] = only === undefined ? ITEM_KINDS : [only === 'pools' ? 'pool' : 'protocol'];
  if (single) kinds = ITEM_KINDS.filter((k) => (k === 'pool' ? pool !== undefined : protocol !== undefined));
  return {
    selection: Object.freeze({ kinds, top: single || all ? undefined : (options.top ?? config.historyTopN), all, pool, protocol }),
    shard: resolveShard(options.shard, config),
    maxFailedShare: options.maxFailedShare ?? config.historyMaxFailedShare,
  };
}

/** Each shard gets its own lock; resolved before the lock and the run's row, so bad settings change nothing. */
export function historyInstance(options: SyncHistoricalOptions, config: Config): string | undefined {
  const shard = resolveShard(options.shard, config);
  return shard.count > 1 ? `shard-${shard.index}-of-${shard.count}` : undefined;
}

/** Names a selection and shard: runs with the same scope share (and resume) one backfill pass. */
export function scopeOf(options: HistoryOptions): string {
  const s = options.selection;
  const parts: string[] = [];
  if (s.pool !== undefined) parts.push(`pool=${s.pool}`);
  if (s.protocol !== undefined) parts.push(`protocol=${s.protocol}`);
  if (s.pool === undefined && s.protocol === undefined) parts.push(s.all ? 'all' : `top=${s.top}`, `kinds=${s.kinds.join(',')}`);
  parts.push(`shard=${describeShard(options.shard)}`);
  return parts.join(' ');
}

const TOP_POOLS = `
  SELECT pool_id AS id, pool_id AS "apiKey" FROM pools
  WHERE is_active ORDER BY tvl_usd DESC NULLS LAST, pool_id LIMIT $1`;
const TOP_PROTOCOLS = `
  SELECT id, slug AS "apiKey" FROM protocols
  WHERE is_active ORDER BY tvl DESC NULLS LAST, id LIMIT $1`;
// A slug can repeat across a delisted and a live protocol: prefer the exact slug, then the active one.
const ONE_PROTOCOL = `
  SELECT id, slug AS "apiKey" FROM protocols WHERE slug = $1 OR id = $1
  ORDER BY (slug = $1) DESC, is_active DESC, id LIMIT 1`;

type CandidateRow = Omit<HistoryItem, 'kind'>;

/** Every item of the selection, for all shards, ordered by TVL then id: every shard sees the same list. */
export async function selectCandidates(db: Db, selection: Selection): Promise<HistoryItem[]> {
  const out: HistoryItem[] = [];
  const push = (kind: ItemKind, rows: CandidateRow[]) => out.push(...rows.map((r) => ({ kind, ...r })));
  // A pool the warehouse does not know yet can still be backfilled: the id is all the API needs.
  if (selection.pool !== undefined) push('pool', [{ id: selection.pool, apiKey: selection.pool }]);
  if (selection.protocol !== undefined) {
    const row = await db.oneOrNone<CandidateRow>(ONE_PROTOCOL, [selection.protocol]);
    if (!row) {
      throw new ConfigError(`no protocol with slug or id ${JSON.stringify(selection.protocol)} in the warehouse: run sync-protocols first, or check the slug`);
    }
    push('protocol', [row]);
  }
  if (selection.pool !== undefined || selection.protocol !== undefined) return out;
  for (const kind of selection.kinds) push(kind, await db.manyOrNone<CandidateRow>(kind === 'pool' ? TOP_POOLS : TOP_PROTOCOLS, [selection.top ?? null]));
  return out;
}
