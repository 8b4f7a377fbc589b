/**
 * Which items sync-historical backfills: the top N pools and protocols by TVL (HISTORY_TOP_N or
 * --top), all of them (--all), or one (--pool, --protocol); one kind only with --only. Candidates
 * come in a deterministic order (TVL, then id), so every shard sees the same list.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { ConfigError } from '../errors.js';
import { describeShard, resolveShard, shardInstance, type Shard } from './shard.js';

export type ItemKind = 'pool' | 'protocol';
export const ITEM_KINDS: readonly ItemKind[] = Object.freeze(['pool', 'protocol']);

export interface HistoryItem {
  readonly kind: ItemKind;
  /** pools.pool_id or protocols.id: the key of the snapshot rows. */
  readonly id: string;
  /** What the API is asked for: the pool id, or the protocol's slug. */
  readonly apiKey: string;
  readonly tvl: number | null;
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TOP = 1_000_000;

export function parseHistoryOptions(options: Readonly<Record<string, unknown>>, config: Config): HistoryOptions {
  const text = (v: unknown) => (v === undefined ? undefined : String(v).trim());
  const pool = text(options.pool);
  const protocol = text(options.protocol);
  const all = options.all === true;
  const only = text(options.only);
  const topRaw = text(options.top);

  if (pool !== undefined && !UUID.test(pool)) throw new ConfigError(`--pool must be a DeFiLlama pool id (a UUID), got ${JSON.stringify(pool)}`);
  if (protocol !== undefined && !/^[^\s/]+$/.test(protocol)) throw new ConfigError(`--protocol must be a protocol slug such as "aave-v3", got ${JSON.stringify(protocol)}`);
  const single = pool !== undefined || protocol !== undefined;
  if (single && (all || topRaw !== undefined || only !== undefined)) {
    throw new ConfigError('--pool and --protocol pick single items and cannot be combined with --all, --top or --only');
  }
  if (all && topRaw !== undefined) throw new ConfigError('--all and --top cannot be combined: --all takes every active item, --top the first N by TVL');
  let top: number | undefined = config.historyTopN;
  if (topRaw !== undefined) {
    top = /^\d+$/.test(topRaw) ? Number(topRaw) : NaN;
    if (!Number.isSafeInteger(top) || top < 1 || top > MAX_TOP) throw new ConfigError(`--top must be a whole number from 1 to ${MAX_TOP}, got ${JSON.stringify(topRaw)}`);
  }
  let kinds: readonly ItemKind[] = ITEM_KINDS;
  if (only !== undefined) {
    if (only !== 'pools' && only !== 'protocols') throw new ConfigError(`--only must be "pools" or "protocols", got ${JSON.stringify(only)}`);
    kinds = [only === 'pools' ? 'pool' : 'protocol'];
  }
  if (single) kinds = ITEM_KINDS.filter((k) => (k === 'pool' ? pool !== undefined : protocol !== undefined));

  let maxFailedShare = config.historyMaxFailedShare;
  const shareRaw = text(options.maxFailedShare);
  if (shareRaw !== undefined) {
    maxFailedShare = shareRaw === '' ? NaN : Number(shareRaw);
    if (!Number.isFinite(maxFailedShare) || maxFailedShare < 0 || maxFailedShare > 1) {
      throw new ConfigError(`--max-failed-share must be a number from 0 to 1 (a share of the items), got ${JSON.stringify(shareRaw)}`);
    }
  }

  return {
    selection: Object.freeze({ kinds, top: single || all ? undefined : top, all, pool, protocol }),
    shard: resolveShard(options, config),
    maxFailedShare,
  };
}

/**
 * JobDefinition.instance of sync-historical: each shard runs under its own lock, side by side.
 * All options are checked here, before the lock and the run's row, so bad usage changes nothing.
 */
export function historyInstance(options: Readonly<Record<string, unknown>>, config: Config): string | undefined {
  return shardInstance(parseHistoryOptions(options, config).shard);
}

/** Names a selection and shard: runs with the same scope share (and resume) one backfill pass. */
export function scopeOf(options: HistoryOptions): string {
  const s = options.selection;
  const parts: string[] = [];
  if (s.pool !== undefined) parts.push(`pool=${s.pool}`);
  if (s.protocol !== undefined) parts.push(`protocol=${s.protocol}`);
  if (s.pool === undefined && s.protocol === undefined) {
    parts.push(s.all ? 'all' : `top=${s.top}`);
    parts.push(`kinds=${s.kinds.join(',')}`);
  }
  parts.push(`shard=${describeShard(options.shard)}`);
  return parts.join(' ');
}

const TOP_POOLS = `
  SELECT pool_id AS id, pool_id AS api_key, tvl_usd AS tvl FROM pools
  WHERE is_active ORDER BY tvl_usd DESC NULLS LAST, pool_id LIMIT $1`;
const TOP_PROTOCOLS = `
  SELECT id, slug AS api_key, tvl FROM protocols
  WHERE is_active ORDER BY tvl DESC NULLS LAST, id LIMIT $1`;
const ONE_POOL = `SELECT pool_id AS id, pool_id AS api_key, tvl_usd AS tvl FROM pools WHERE pool_id = $1`;
// A slug can repeat across a delisted and a live protocol: prefer the exact slug, then the active one.
const ONE_PROTOCOL = `
  SELECT id, slug AS api_key, tvl FROM protocols WHERE slug = $1 OR id = $1
  ORDER BY (slug = $1) DESC, is_active DESC, id LIMIT 1`;

interface CandidateRow {
  id: string;
  api_key: string;
  tvl: number | null;
}

/** Every item of the selection (all shards), in the order the shards agree on. */
export async function selectCandidates(db: Db, selection: Selection): Promise<HistoryItem[]> {
  const out: HistoryItem[] = [];
  const push = (kind: ItemKind, rows: CandidateRow[]) => out.push(...rows.map((r) => ({ kind, id: r.id, apiKey: r.api_key, tvl: r.tvl })));
  if (selection.pool !== undefined) {
    // A pool the warehouse does not know yet can still be backfilled: the id is all the API needs.
    const row = await db.oneOrNone<CandidateRow>(ONE_POOL, [selection.pool]);
    push('pool', [row ?? { id: selection.pool, api_key: selection.pool, tvl: null }]);
  }
  if (selection.protocol !== undefined) {
    const row = await db.oneOrNone<CandidateRow>(ONE_PROTOCOL, [selection.protocol]);
    if (!row) {
      throw new ConfigError(`no protocol with slug or id ${JSON.stringify(selection.protocol)} in the warehouse: run sync-protocols first, or check the slug`);
    }
    push('protocol', [row]);
  }
  if (selection.pool !== undefined || selection.protocol !== undefined) return out;
  const limit = selection.all ? null : selection.top;
  for (const kind of selection.kinds) push(kind, await db.manyOrNone<CandidateRow>(kind === 'pool' ? TOP_POOLS : TOP_PROTOCOLS, [limit]));
  return out;
}
