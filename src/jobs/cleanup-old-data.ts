/** cleanup-old-data: retention of sync_jobs rows, snapshot partitions, and long-inactive pools and contract mappings. */
import type { DbTask } from '../db/connection.js';
import { addDays, utcDate } from '../history/dates.js';
import { listPartitions, SNAPSHOT_TABLES } from '../history/partitions.js';
import type { JobContext } from './types.js';

// A job's latest success is kept: job_last_success() answers from it.
const OLD_SYNC_JOBS = `
  FROM sync_jobs j
  WHERE j.started_at < $1 AND j.status <> 'running'
    AND j.id NOT IN (SELECT DISTINCT ON (job_name) id FROM sync_jobs WHERE status = 'succeeded' ORDER BY job_name, started_at DESC, id DESC)`;

// Finished backfill passes are bookkeeping of runs and age with them.
const OLD_PASSES = `FROM history_backfill_passes p WHERE p.finished_at < $1`;

// last_seen_at is set when a row is deactivated; older rows may lack it.
const STALE_POOLS = `FROM pools p WHERE NOT p.is_active AND coalesce(p.last_seen_at, p.updated_at) < $1`;

// Inactive mappings not seen since the cutoff, and every mapping of a pool purged with them.
const STALE_MAPPINGS = `
  FROM contract_mappings m
  WHERE (NOT m.is_active AND coalesce(m.last_seen_at, m.updated_at) < $1)
     OR m.pool_id IN (SELECT p.pool_id ${STALE_POOLS})`;

interface Removal {
  readonly name: string;
  /** SYNC_JOBS_RETENTION_DAYS or INACTIVE_RETENTION_DAYS. */
  readonly retention: 'jobs' | 'inactive';
  /** "FROM <table> <alias> WHERE ...", $1 the cutoff: counted by the dry run, deleted by the real one. */
  readonly from: string;
}

// Mappings first: their condition reads the pools that are about to go.
const REMOVALS: readonly Removal[] = [
  { name: 'syncJobs', retention: 'jobs', from: OLD_SYNC_JOBS },
  { name: 'backfillPasses', retention: 'jobs', from: OLD_PASSES },
  { name: 'contractMappings', retention: 'inactive', from: STALE_MAPPINGS },
  { name: 'backfillItems', retention: 'inactive', from: `FROM history_backfill_items h WHERE h.item_kind = 'pool' AND h.item_id IN (SELECT p.pool_id ${STALE_POOLS})` },
  { name: 'inactivePools', retention: 'inactive', from: STALE_POOLS },
];

const CUTOFFS = `SELECT now() - make_interval(days => $1) AS jobs, now() - make_interval(days => $2) AS inactive`;

export interface CleanupOptions {
  readonly dryRun?: boolean;
}

export async function run(ctx: JobContext<CleanupOptions>): Promise<void> {
  const { db, log, stats, config, options } = ctx;
  const dryRun = options.dryRun ?? false;

  const result = await db.tx('cleanup-old-data', async (t) => {
    const cut = await t.one<{ jobs: Date; inactive: Date }>(CUTOFFS, [config.syncJobsRetentionDays, config.inactiveRetentionDays]);
    const rows: Record<string, number> = {};
    for (const r of REMOVALS) {
      const cutoff = cut[r.retention];
      if (dryRun) rows[r.name] = (await t.one<{ n: number }>(`SELECT count(*) AS n ${r.from}`, [cutoff])).n;
      else rows[r.name] = (await t.result(`DELETE ${r.from.trim()}`, [cutoff])).rowCount;
    }
    const partitions = await oldPartitions(t, config.snapshotRetentionDays);
    for (const p of partitions.list) if (!dryRun) await t.none('DROP TABLE $1:name', [p.name]);
    return { cut, rows, partitions };
  });

  const removedRows = Object.values(result.rows).reduce((a, b) => a + b, 0);
  const partitionRows = result.partitions.list.reduce((a, p) => a + p.rows, 0);
  stats.processed = removedRows + partitionRows;
  stats.details = {
    dryRun,
    syncJobs: { olderThan: result.cut.jobs.toISOString(), rows: result.rows.syncJobs },
    backfillPasses: { olderThan: result.cut.jobs.toISOString(), rows: result.rows.backfillPasses },
    inactivePools: { notSeenSince: result.cut.inactive.toISOString(), rows: result.rows.inactivePools, backfillItems: result.rows.backfillItems },
    contractMappings: { notSeenSince: result.cut.inactive.toISOString(), rows: result.rows.contractMappings },
    snapshotPartitions:
      result.partitions.before === undefined
        ? { retention: 'forever', dropped: [] }
        : { before: result.partitions.before, [dryRun ? 'wouldDrop' : 'dropped']: result.partitions.list, rows: partitionRows },
  };

  const { syncJobs, backfillPasses, inactivePools, contractMappings } = result.rows;
  const snapshotPartitions = result.partitions.list.map((p) => p.name);
  log.info(
    { dryRun, syncJobs, backfillPasses, inactivePools, contractMappings, snapshotPartitions, snapshotRows: partitionRows },
    `cleanup ${dryRun ? 'would remove' : 'removed'} ${syncJobs} sync_jobs rows, ${inactivePools} inactive pools, ` +
      `${contractMappings} contract mappings and ${snapshotPartitions.length} snapshot partitions (${partitionRows} rows)`,
  );
}

/** Partitions whose whole range lies before today minus SNAPSHOT_RETENTION_DAYS, with their row counts. */
async function oldPartitions(t: DbTask, retentionDays: number | undefined): Promise<{ before: string | undefined; list: { name: string; rows: number }[] }> {
  if (retentionDays === undefined) return { before: undefined, list: [] };
  const before = addDays(utcDate(new Date()), -retentionDays);
  const list: { name: string; rows: number }[] = [];
  for (const table of SNAPSHOT_TABLES) {
    for (const p of await listPartitions(t, table)) {
      // The upper bound is exclusive: every row is older than `before` when to <= before.
      if (p.to > before) continue;
      const { n } = await t.one<{ n: number }>('SELECT count(*) AS n FROM $1:name', [p.name]);
      list.push({ name: p.name, rows: n });
    }
  }
  return { before, list };
}
