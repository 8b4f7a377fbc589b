/**
 * Benchmark steps of sync-chains, sync-protocols and sync-pools: each on a fresh database, a first
 * load, an unchanged second pass and a "next day" pass, through the real CLI. sync-pools also
 * measures the floor: PostgreSQL's own COPY of the same pool rows into an unindexed table.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { atMost, dailyPasses, measureJob, round, type BenchDatabase, type BenchEnv, type BenchPass, type BenchStep, type BenchStepResult, type BenchTarget } from './step.js';

const RSS_LIMIT_MB = 300;

/**
 * Time targets apply to the job itself, end to end (HTTP, parse, validate, write): its duration
 * in sync_jobs. The process wall time, which adds Node's start, configuration, connecting and the
 * run bookkeeping, is reported next to it.
 */
interface SyncTargets {
  /** First load, seconds. */
  readonly firstS: number;
  /** Unchanged second pass, seconds. */
  readonly unchangedS?: number;
  /** First load at most this many times the COPY floor. */
  readonly floorRatio?: number;
  /** Next-day pass at most this many times the COPY floor. */
  readonly nextDayFloorRatio?: number;
}

// What the progress lines call each pass.
const LOGGED: Record<string, string> = { 'first load': 'first load', unchanged: 'unchanged pass', 'next day': 'next-day pass' };

async function pass(env: BenchEnv, database: BenchDatabase, job: string, label: string): Promise<BenchPass> {
  const { pass } = await measureJob(env, database, [job], label, (run) => ({
    rows: run.records_processed,
    counts: {
      created: run.records_created,
      updated: run.records_updated,
      unchanged: run.records_unchanged,
      deactivated: run.records_deactivated,
      failed: run.records_failed,
    },
    phasesMs: (run.details.ms as Record<string, number> | undefined) ?? {},
  }));
  env.log(`  ${job} ${LOGGED[label]}: job ${pass.jobS} s, process ${pass.wallS} s`);
  return pass;
}

/**
 * PostgreSQL's own COPY of the rows sync-pools wrote, into an unindexed table: the rows are read
 * back with COPY TO, then loaded with COPY FROM (best of three, each into a new table).
 */
async function copyFloor(database: BenchDatabase, table: string): Promise<{ bestS: number; runsS: number[]; megabytes: number }> {
  const conn = await database.db.connect();
  const client = conn.client as unknown as pg.Client;
  try {
    const chunks: Buffer[] = [];
    await pipeline(client.query(copyStreams.to(`COPY ${table} TO STDOUT`)), async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) chunks.push(chunk);
    });
    const runsS: number[] = [];
    for (let i = 0; i < 3; i++) {
      await conn.none(`DROP TABLE IF EXISTS bench_floor; CREATE TABLE bench_floor (LIKE ${table})`);
      const t = performance.now();
      await pipeline(Readable.from(chunks), client.query(copyStreams.from('COPY bench_floor FROM STDIN')));
      runsS.push(round((performance.now() - t) / 1000, 3));
    }
    await conn.none('DROP TABLE bench_floor');
    return { bestS: Math.min(...runsS), runsS, megabytes: round(chunks.reduce((n, c) => n + c.length, 0) / 1e6, 1) };
  } finally {
    conn.done();
  }
}

function syncStep(job: string, table: string, targets: SyncTargets, measureFloor = false): BenchStep {
  return {
    name: job,
    async run(env: BenchEnv): Promise<BenchStepResult> {
      const figures: Record<string, number> = {};
      const checks: BenchTarget[] = [];
      const { first, rerun: unchanged, nextDay } = await dailyPasses(env, job, {
        labels: ['first load', 'unchanged', 'next day'],
        measure: (database, label) => pass(env, database, job, label),
        async afterFirst(database, first) {
          checks.push(atMost('first load, job end to end', first.jobS, targets.firstS, 's'));
          if (!measureFloor) return;
          const floor = await copyFloor(database, table);
          figures.floorS = floor.bestS;
          figures.floorMegabytes = floor.megabytes;
          floor.runsS.forEach((s, i) => (figures[`floorRun${i + 1}S`] = s));
          figures.firstToFloorRatio = round(first.jobS! / floor.bestS);
          figures.firstWallToFloorRatio = round(first.wallS / floor.bestS);
          env.log(`  floor (COPY of the same ${first.rows} rows, ${floor.megabytes} MB, into an unindexed table): best ${floor.bestS} s of ${floor.runsS.join(', ')}`);
          if (targets.floorRatio) checks.push(atMost('first load (job) / floor', figures.firstToFloorRatio, targets.floorRatio, 'x'));
        },
      });
      if (targets.unchangedS) checks.push(atMost('unchanged second pass, job', unchanged.jobS, targets.unchangedS, 's'));
      // The run that happens every night: held to a tighter bound than the once-per-install load.
      if (targets.nextDayFloorRatio && figures.floorS) {
        figures.nextDayToFloorRatio = round(nextDay.jobS! / figures.floorS);
        checks.push(atMost('next day (job) / floor', figures.nextDayToFloorRatio, targets.nextDayFloorRatio, 'x'));
      }
      const passes = [first, unchanged, nextDay];
      for (const p of passes) checks.push(atMost(`peak RSS, ${p.label}`, p.peakRssMb, RSS_LIMIT_MB, 'MB'));
      return { name: job, passes, figures, targets: checks };
    },
  };
}

export const syncChainsStep = syncStep('sync-chains', 'chains', { firstS: 0.5 });
export const syncProtocolsStep = syncStep('sync-protocols', 'protocols', { firstS: 2 });
export const syncPoolsStep = syncStep('sync-pools', 'pools', { firstS: 5, unchangedS: 3, floorRatio: 3, nextDayFloorRatio: 2.5 }, true);
