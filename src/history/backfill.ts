/** One backfill run over this shard's items, resuming the scope's open pass; fails only past the failed-item share. */
import pLimit from 'p-limit';
import type { DefiLlamaClient } from '../defillama/client.js';
import { ItemNotFoundError } from '../defillama/errors.js';
import { CancelledError, DefiSyncError, errorMessage } from '../errors.js';
import type { JobContext } from '../jobs/types.js';
import { redact } from '../redact.js';
import { addDays, HISTORY_START, HistoryWindow, utcDate } from './dates.js';
import { markItemFailed, writeItemHistory, type PassRef, type WriteResult } from './item-writer.js';
import { PartitionCache } from './partitions.js';
import { poolDays, type PoolDay } from './pool-history.js';
import { startProgress, type ProgressCounts } from './progress.js';
import { finishPass, openPass, planItems } from './progress-store.js';
import { protocolDays, type ProtocolDay } from './protocol-history.js';
import { scopeOf, selectCandidates, type HistoryItem, type HistoryOptions, type ItemKind } from './selection.js';
import { describeShard, inShard } from './shard.js';

/** Items fetched and written at once; the request spacing, not this, sets the pace. */
const CONCURRENCY = 4;
const FAILURE_SAMPLES = 20;

export interface BackfillContext extends Omit<JobContext, 'options'> {
  readonly client: Pick<DefiLlamaClient, 'poolChart' | 'protocol'>;
}

export class BackfillFailedError extends DefiSyncError {}

const emptyTotals = () => ({ items: 0, days: 0, created: 0, updated: 0, liveKept: 0, unchanged: 0 });

export async function runBackfill(ctx: BackfillContext, options: HistoryOptions): Promise<void> {
  const { db, log, stats, signal, config } = ctx;
  const scope = scopeOf(options);
  const today = utcDate(new Date());
  // Rows older than the snapshot retention would only recreate partitions cleanup-old-data drops.
  const oldestKept = config.snapshotRetentionDays === undefined ? undefined : addDays(today, -config.snapshotRetentionDays);

  const candidates = await selectCandidates(db, options.selection);
  const mine = candidates.filter((item) => inShard(`${item.kind}:${item.id}`, options.shard));
  const pass = await openPass(db, scope, ctx.runId);
  const plan = await planItems(db, mine, pass.id, today, oldestKept);
  const ref: PassRef = { passId: pass.id, runId: ctx.runId };

  const counts: ProgressCounts = { done: 0, notFound: 0, failed: 0 };
  const totals = { pool: emptyTotals(), protocol: emptyTotals() };
  const failures: { kind: ItemKind; id: string; error: string }[] = [];
  let rejectedPoints = 0;
  // The share is of the shard's items in this pass, so a resumed run is judged like an unbroken one.
  const maxFailed = Math.floor(options.maxFailedShare * mine.length);
  let stoppedEarly = false;

  const items = { selected: candidates.length, inShard: mine.length, alreadyDone: plan.alreadyDone, todo: plan.todo.length };
  stats.details = { scope, shard: describeShard(options.shard), pass: { id: pass.id, resumed: pass.resumed, runs: pass.runs }, items };
  log.info(
    { scope, pass: pass.id, resumed: pass.resumed, ...items },
    pass.resumed
      ? `resuming backfill pass ${pass.id}: ${plan.alreadyDone} items already done, ${plan.todo.length} to go`
      : `backfill pass ${pass.id}: ${plan.todo.length} items (${candidates.length} selected, ${mine.length} in shard ${describeShard(options.shard)})`,
  );

  const partitions = new PartitionCache(db);
  const progress = startProgress({ total: plan.todo.length, log, label: 'sync-historical' });

  async function fetchDays(item: HistoryItem): Promise<(PoolDay | ProtocolDay)[]> {
    // Refuses out-of-range dates before any partition is made.
    const window = new HistoryWindow();
    try {
      if (item.kind === 'pool') {
        const chart = await ctx.client.poolChart(item.apiKey);
        rejectedPoints += chart.rejected.length;
        return poolDays(chart.records, window);
      }
      return protocolDays(await ctx.client.protocol(item.apiKey), window);
    } finally {
      rejectedPoints += window.rejected;
      if (window.rejected > 0) log.warn({ kind: item.kind, item: item.id, rejected: window.rejected }, `${item.kind} ${item.apiKey}: ${window.rejected} point(s) dated before ${HISTORY_START} or after tomorrow were rejected`);
    }
  }

  async function processItem(item: HistoryItem): Promise<void> {
    if (stoppedEarly || signal.aborted) return;
    try {
      let days = await fetchDays(item);
      if (oldestKept !== undefined) days = days.filter((d) => d.snapshot_date >= oldestKept);
      const table = item.kind === 'pool' ? 'pool_daily_snapshots' : 'protocol_daily_snapshots';
      if (days.length > 0) await partitions.cover(table, days[0]!.snapshot_date, days.at(-1)!.snapshot_date);
      const result = await writeItemHistory(db, item, days, ref);
      const t = totals[item.kind];
      t.items += 1;
      for (const k of Object.keys(result) as (keyof WriteResult)[]) t[k] += result[k];
      counts.done += 1;
    } catch (error) {
      if (signal.aborted || error instanceof CancelledError) throw error;
      const message = redact(errorMessage(error));
      const notFound = error instanceof ItemNotFoundError;
      // If even the failure cannot be recorded, the database is gone: that ends the run.
      await markItemFailed(db, item, notFound ? 'not_found' : 'failed', message, ref);
      counts[notFound ? 'notFound' : 'failed'] += 1;
      if (failures.length < FAILURE_SAMPLES) failures.push({ kind: item.kind, id: item.id, error: message });
      if (notFound) log.info({ kind: item.kind, item: item.id }, `skipped ${item.kind} ${item.apiKey}: ${message}`);
      else log.warn({ kind: item.kind, item: item.id, error: message }, `${item.kind} ${item.apiKey} failed: ${message}`);
      if (counts.notFound + counts.failed > maxFailed && !stoppedEarly) {
        // The run can no longer succeed: stop spending requests on it.
        stoppedEarly = true;
        log.error(`${counts.notFound + counts.failed} of ${mine.length} items failed or were not found, more than --max-failed-share ${options.maxFailedShare} allows: stopping`);
      }
    } finally {
      progress.tick(counts);
    }
  }

  const limit = pLimit(CONCURRENCY);
  const outcomes = await Promise.allSettled(plan.todo.map((item) => limit(() => processItem(item))));
  progress.stop(counts);

  const failedItems = counts.notFound + counts.failed;
  stats.processed = counts.done + failedItems;
  stats.failed = failedItems;
  stats.created = totals.pool.created + totals.protocol.created;
  stats.updated = totals.pool.updated + totals.protocol.updated;
  stats.unchanged = totals.pool.unchanged + totals.protocol.unchanged + totals.pool.liveKept + totals.protocol.liveKept;
  Object.assign(stats.details, {
    items: { ...items, ...counts },
    pools: totals.pool,
    protocols: totals.protocol,
    rejectedPoints,
    failures,
    maxFailedShare: options.maxFailedShare,
  });

  const fatal = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (fatal) throw fatal.reason;
  if (signal.aborted) throw new CancelledError('sync-historical was cancelled');
  const share = mine.length > 0 ? failedItems / mine.length : 0;
  if (stoppedEarly || share > options.maxFailedShare) {
    throw new BackfillFailedError(
      `${failedItems} of ${mine.length} items failed or were not found (${(share * 100).toFixed(1)}%), more than --max-failed-share ${options.maxFailedShare} allows` +
        `${stoppedEarly ? `, so the run stopped early with ${plan.todo.length - stats.processed} items not attempted` : ''}; ` +
        'the pass stays open and the next run retries what is not done',
    );
  }
  await finishPass(db, pass.id);
  log.info(
    { pass: pass.id, ...counts, pools: totals.pool, protocols: totals.protocol },
    `backfill pass ${pass.id} complete: ${counts.done} items written, ${counts.notFound} not found upstream, ${counts.failed} failed`,
  );
}
