/** Current-state rows written straight into a test database, for jobs that read pools and protocols. */
import type { Db } from '../../src/db/connection.js';

export interface PoolFixture {
  pool_id: string;
  project?: string;
  chain?: string;
  symbol?: string;
  tvl_usd?: number | null;
  apy?: number | null;
  apy_base?: number | null;
  apy_reward?: number | null;
  il7d?: number | null;
  apy_base_7d?: number | null;
  apy_mean_30d?: number | null;
  volume_usd_1d?: number | null;
  is_active?: boolean;
  last_seen_at?: string | null;
}

export interface ProtocolFixture {
  id: string;
  slug: string;
  name?: string;
  tvl?: number | null;
  chain_tvls?: Record<string, number>;
  section_tvls?: Record<string, Record<string, number>>;
  mcap?: number | null;
  is_active?: boolean;
}

export async function insertPools(db: Db, pools: readonly PoolFixture[]): Promise<void> {
  for (const p of pools) {
    await db.none(
      `INSERT INTO pools (pool_id, chain, project, symbol, tvl_usd, apy, apy_base, apy_reward, il7d, apy_base_7d, apy_mean_30d, volume_usd_1d, is_active, last_seen_at, raw)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '{}')`,
      [
        p.pool_id, p.chain ?? 'Ethereum', p.project ?? 'proto', p.symbol ?? 'TKN', p.tvl_usd ?? 1000, p.apy ?? 1.5, p.apy_base ?? 1, p.apy_reward ?? 0.5,
        p.il7d ?? null, p.apy_base_7d ?? null, p.apy_mean_30d ?? null, p.volume_usd_1d ?? null, p.is_active ?? true, p.last_seen_at ?? null,
      ],
    );
  }
}

export async function insertProtocols(db: Db, protocols: readonly ProtocolFixture[]): Promise<void> {
  for (const p of protocols) {
    await db.none(
      `INSERT INTO protocols (id, slug, name, tvl, chain_tvls, section_tvls, mcap, is_active, raw)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '{}')`,
      [p.id, p.slug, p.name ?? p.slug, p.tvl ?? 5000, JSON.stringify(p.chain_tvls ?? { Ethereum: p.tvl ?? 5000 }), JSON.stringify(p.section_tvls ?? {}), p.mcap ?? null, p.is_active ?? true],
    );
  }
}

/** A UUID-shaped pool id from a number, so fixtures read "pool 7". */
export function poolId(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

export async function lastRun(db: Db, job: string): Promise<{ status: string; records_processed: number; records_created: number; records_updated: number; records_unchanged: number; records_failed: number; details: Record<string, any>; error_message: string | null }> {
  return db.one(`SELECT * FROM sync_jobs WHERE job_name = $1 AND status <> 'skipped' ORDER BY id DESC LIMIT 1`, [job]);
}
