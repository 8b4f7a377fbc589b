/**
 * create-snapshots: today's (UTC) row for every active pool and protocol, copied set-wise from the
 * current-state tables in one transaction. A rerun on the same day updates that day's rows; a live
 * row replaces a backfilled one for the same day.
 */
import { utcDate } from '../history/dates.js';
import { ensurePartitions } from '../history/partitions.js';
import { timed } from './timed.js';
import type { JobContext } from './types.js';

// Rows whose values did not change are not rewritten; a backfilled row is always replaced.
const SNAPSHOT_POOLS = `
  WITH written AS (
    INSERT INTO pool_daily_snapshots AS s
      (pool_id, snapshot_date, tvl_usd, apy, apy_base, apy_reward, il7d, apy_base_7d, apy_mean_30d, volume_usd_1d, source, captured_at)
    SELECT pool_id, $1::date, tvl_usd, apy, apy_base, apy_reward, il7d, apy_base_7d, apy_mean_30d, volume_usd_1d, 'live', now()
    FROM pools WHERE is_active
    ON CONFLICT (pool_id, snapshot_date) DO UPDATE SET
      tvl_usd = excluded.tvl_usd, apy = excluded.apy, apy_base = excluded.apy_base, apy_reward = excluded.apy_reward,
      il7d = excluded.il7d, apy_base_7d = excluded.apy_base_7d, apy_mean_30d = excluded.apy_mean_30d,
      volume_usd_1d = excluded.volume_usd_1d, source = 'live', captured_at = excluded.captured_at
    WHERE s.source <> 'live'
       OR (s.tvl_usd, s.apy, s.apy_base, s.apy_reward, s.il7d, s.apy_base_7d, s.apy_mean_30d, s.volume_usd_1d)
          IS DISTINCT FROM
          (excluded.tvl_usd, excluded.apy, excluded.apy_base, excluded.apy_reward, excluded.il7d, excluded.apy_base_7d, excluded.apy_mean_30d, excluded.volume_usd_1d)
    RETURNING 1
  )
  -- Every sub-statement sees the table as it was before the insert: rows that existed already.
  SELECT t.total, t.total - e.existing AS created, w.written - (t.total - e.existing) AS updated
  FROM (SELECT count(*) AS total FROM pools WHERE is_active) t,
       (SELECT count(*) AS existing FROM pool_daily_snapshots s JOIN pools p USING (pool_id) WHERE s.snapshot_date = $1::date AND p.is_active) e,
       (SELECT count(*) AS written FROM written) w`;

// Inactive protocols are left out: their current-state TVL is the last value seen, not today's.
const SNAPSHOT_PROTOCOLS = `
  WITH written AS (
    INSERT INTO protocol_daily_snapshots AS s (protocol_id, snapshot_date, tvl, chain_tvls, section_tvls, mcap, source, captured_at)
    SELECT id, $1::date, tvl, chain_tvls, section_tvls, mcap, 'live', now()
    FROM protocols WHERE is_active
    ON CONFLICT (protocol_id, snapshot_date) DO UPDATE SET
      tvl = excluded.tvl, chain_tvls = excluded.chain_tvls, section_tvls = excluded.section_tvls, mcap = excluded.mcap,
      source = 'live', captured_at = excluded.captured_at
    WHERE s.source <> 'live'
       OR (s.tvl, s.chain_tvls, s.section_tvls, s.mcap) IS DISTINCT FROM (excluded.tvl, excluded.chain_tvls, excluded.section_tvls, excluded.mcap)
    RETURNING 1
  )
  SELECT t.total, t.total - e.existing AS created, w.written - (t.total - e.existing) AS updated
  FROM (SELECT count(*) AS total FROM protocols WHERE is_active) t,
       (SELECT count(*) AS existing FROM protocol_daily_snapshots s JOIN protocols p ON p.id = s.protocol_id WHERE s.snapshot_date = $1::date AND p.is_active) e,
       (SELECT count(*) AS written FROM written) w`;

// When the current state was last refreshed: a snapshot of stale state is worth a warning.
const STATE_AGE = `SELECT job_last_success('sync-pools') AS pools, job_last_success('sync-protocols') AS protocols`;

interface Counts {
  total: number;
  created: number;
  updated: number;
}

export interface CreateSnapshotsOptions {
  readonly date?: string;
}

export async function run(ctx: JobContext<CreateSnapshotsOptions>): Promise<void> {
  const { db, log, stats, options } = ctx;
  const today = utcDate(new Date());
  const date = options.date ?? today;

  const ms: Record<string, number> = {};
  const { pools, protocols, partitionsCreated } = await db.tx('create-snapshots', async (t) => {
    const created = await timed(
      ms,
      'partitions',
      async () => (await ensurePartitions(t, 'pool_daily_snapshots', date, date)) + (await ensurePartitions(t, 'protocol_daily_snapshots', date, date)),
    );
    const p = await timed(ms, 'pools', () => t.one<Counts>(SNAPSHOT_POOLS, [date]));
    const r = await timed(ms, 'protocols', () => t.one<Counts>(SNAPSHOT_PROTOCOLS, [date]));
    return { pools: p, protocols: r, partitionsCreated: created };
  });

  const unchanged = (c: Counts) => c.total - c.created - c.updated;
  stats.processed = pools.total + protocols.total;
  stats.created = pools.created + protocols.created;
  stats.updated = pools.updated + protocols.updated;
  stats.unchanged = unchanged(pools) + unchanged(protocols);
  stats.details = {
    date,
    partitionsCreated,
    pools: { ...pools, unchanged: unchanged(pools) },
    protocols: { ...protocols, unchanged: unchanged(protocols) },
    ms,
  };

  const age = await db.one<{ pools: Date | null; protocols: Date | null }>(STATE_AGE);
  const stale = (['pools', 'protocols'] as const).filter((k) => date === today && (age[k] === null || utcDate(age[k]) < date));
  if (stale.length > 0) {
    const warning = `the current state of ${stale.join(' and ')} was not synced successfully today (UTC): the snapshot copies older values`;
    stats.details.warnings = [warning];
    log.warn({ lastSuccess: age }, warning);
  }
  log.info({ date, pools: stats.details.pools, protocols: stats.details.protocols, partitionsCreated }, `snapshot of ${date} written`);
}
