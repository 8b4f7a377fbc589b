/** create-snapshots: today's (UTC) row per active pool and protocol, copied in one transaction; a rerun updates them. */
import { utcDate } from '../history/dates.js';
import { ensurePartitions, type SnapshotTable } from '../history/partitions.js';
import { timed } from './timed.js';
import type { JobContext } from './types.js';

// Backfilled rows are always replaced, unchanged live ones kept. Inactive rows are left out: their values are not today's.
function snapshotSql(table: SnapshotTable, key: string, from: 'pools' | 'protocols', fromKey: string, names: readonly string[]): string {
  const list = (prefix = '') => names.map((c) => prefix + c).join(', ');
  return `
  WITH written AS (
    INSERT INTO ${table} AS s (${key}, snapshot_date, ${list()}, source, captured_at)
    SELECT ${fromKey}, $1::date, ${list()}, 'live', now()
    FROM ${from} WHERE is_active
    ON CONFLICT (${key}, snapshot_date) DO UPDATE SET
      ${names.map((c) => `${c} = excluded.${c}`).join(', ')}, source = 'live', captured_at = excluded.captured_at
    WHERE s.source <> 'live' OR (${list('s.')}) IS DISTINCT FROM (${list('excluded.')})
    RETURNING 1
  )
  -- Every sub-statement sees the table as it was before the insert: rows that existed already.
  SELECT t.total, t.total - e.existing AS created, w.written - (t.total - e.existing) AS updated
  FROM (SELECT count(*) AS total FROM ${from} WHERE is_active) t,
       (SELECT count(*) AS existing FROM ${table} s JOIN ${from} p ON p.${fromKey} = s.${key} WHERE s.snapshot_date = $1::date AND p.is_active) e,
       (SELECT count(*) AS written FROM written) w`;
}

const SNAPSHOT_POOLS = snapshotSql('pool_daily_snapshots', 'pool_id', 'pools', 'pool_id', ['tvl_usd', 'apy', 'apy_base', 'apy_reward', 'il7d', 'apy_base_7d', 'apy_mean_30d', 'volume_usd_1d']);
const SNAPSHOT_PROTOCOLS = snapshotSql('protocol_daily_snapshots', 'protocol_id', 'protocols', 'id', ['tvl', 'chain_tvls', 'section_tvls', 'mcap']);

// When the current state was last refreshed: a snapshot of stale state is worth a warning.
const STATE_AGE = `SELECT job_last_success('sync-pools') AS pools, job_last_success('sync-protocols') AS protocols`;

type Counts = Record<'total' | 'created' | 'updated', number>;

export interface CreateSnapshotsOptions {
  readonly date?: string;
}

export async function run(ctx: JobContext<CreateSnapshotsOptions>): Promise<void> {
  const { db, log, stats, options } = ctx;
  const today = utcDate(new Date());
  const date = options.date ?? today;

  const ms: Record<string, number> = {};
  const { partitionsCreated, pools, protocols } = await db.tx('create-snapshots', async (t) => ({
    partitionsCreated: await timed(ms, 'partitions', async () => {
      return (await ensurePartitions(t, 'pool_daily_snapshots', date, date)) + (await ensurePartitions(t, 'protocol_daily_snapshots', date, date));
    }),
    pools: await timed(ms, 'pools', () => t.one<Counts>(SNAPSHOT_POOLS, [date])),
    protocols: await timed(ms, 'protocols', () => t.one<Counts>(SNAPSHOT_PROTOCOLS, [date])),
  }));

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
