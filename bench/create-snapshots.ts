/**
 * Benchmark of create-snapshots: the current state of the benchmark replica (50,000 pools, 8,000
 * protocols by default) loaded by the real sync jobs, then the daily snapshot through the real
 * CLI: a first snapshot of the day, a rerun of the same day (nothing changed), and the next day.
 * Target: the snapshot job itself (its sync_jobs duration) within 3 s.
 *
 * Part of `npm run bench`; alone: `npm run bench -- --only create-snapshots [--pools N --protocols N]`.
 */
import { atMost, dailyPasses, measureJob, round, syncCurrentState, type BenchDatabase, type BenchEnv, type BenchPass, type BenchStep, type BenchStepResult, type BenchTarget } from './step.js';

const TARGET_S = 3;

async function snapshot(env: BenchEnv, database: BenchDatabase, date: string, label: string): Promise<BenchPass> {
  const { pass } = await measureJob(env, database, ['create-snapshots', '--date', date], label, (run) => ({
    rows: run.records_processed,
    counts: { created: run.records_created, updated: run.records_updated, unchanged: run.records_unchanged },
    phasesMs: (run.details.ms as Record<string, number> | undefined) ?? {},
  }));
  return pass;
}

export const createSnapshotsStep: BenchStep = {
  name: 'create-snapshots',
  async run(env: BenchEnv): Promise<BenchStepResult> {
    let state = { pools: 0, protocols: 0 };
    const { first, rerun, nextDay } = await dailyPasses(env, 'create-snapshots', {
      labels: ['first', 'same day', 'next day'],
      measure: (database, label) => snapshot(env, database, env.replica.date!, label),
      async prepare(database, day) {
        const loadMs = await syncCurrentState(env, database);
        if (day > 0) return;
        state = await database.db.one<{ pools: number; protocols: number }>(
          `SELECT (SELECT count(*) FROM pools WHERE is_active) AS pools, (SELECT count(*) FROM protocols WHERE is_active) AS protocols`,
        );
        env.log(`  current state: ${state.pools} active pools, ${state.protocols} active protocols (loaded in ${round(loadMs / 1000)} s)`);
      },
    });

    const passes = [first, rerun, nextDay];
    const targets: BenchTarget[] = passes.map((p) => atMost(`snapshot job, ${p.label} (${p.rows} rows)`, p.jobS, TARGET_S, 's'));
    return { name: 'create-snapshots', passes, figures: { activePools: state.pools, activeProtocols: state.protocols }, targets };
  },
};
