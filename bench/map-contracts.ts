/**
 * Benchmark of map-contracts: the benchmark replica's pools (50,000 by default) and protocols
 * loaded by the real sync jobs, then map-contracts through the real CLI without on-chain calls:
 * a first run into an empty table, an unchanged rerun, a run with /poolsOld answering 402 (its
 * entries carried), and the next day (pools gone and born). Reported: mappings per second and
 * the share of pools with at least one mapping. Target: the job itself within 5 s.
 *
 * Part of `npm run bench`; alone: `npm run bench -- --only map-contracts [--pools N --protocols N]`.
 */
import { atMost, dailyPasses, measureJob, round, syncCurrentState, type BenchDatabase, type BenchEnv, type BenchPass, type BenchStep, type BenchStepResult } from './step.js';

const TARGET_S = 5;

interface MappingRun {
  readonly pass: BenchPass;
  /** Share of the active pools with at least one mapping, 0 to 1. */
  readonly share: number;
}

async function mapContracts(env: BenchEnv, database: BenchDatabase, label: string): Promise<MappingRun> {
  const { pass, run } = await measureJob(env, database, ['map-contracts', '--no-verify'], label, (r) => ({
    rows: (r.details.mappings as number | undefined) ?? 0,
    counts: {
      created: r.records_created,
      updated: r.records_updated,
      unchanged: r.records_unchanged,
      deactivated: r.records_deactivated,
      sent: (r.details.mappingsSent as number | undefined) ?? 0,
    },
    phasesMs: (r.details.timingsMs as Record<string, number> | undefined) ?? {},
  }));
  return { pass, share: (run.details.poolShareWithMapping as number | undefined) ?? 0 };
}

export const mapContractsStep: BenchStep = {
  name: 'map-contracts',
  async run(env: BenchEnv): Promise<BenchStepResult> {
    let pools = 0;
    let carried: MappingRun | undefined;
    const { first, rerun, nextDay } = await dailyPasses(env, 'map-contracts', {
      labels: ['first', 'unchanged', 'next day'],
      measure: (database, label) => mapContracts(env, database, label),
      async prepare(database, day) {
        await syncCurrentState(env, database);
        if (day > 0) return;
        pools = (await database.db.one<{ n: number }>('SELECT count(*)::int AS n FROM pools WHERE is_active')).n;
        env.log(`  current state: ${pools} active pools`);
      },
      async beforeNextDay(database) {
        env.replica.setFault('/poolsOld', { kind: 'status', status: 402 });
        carried = await mapContracts(env, database, 'poolsOld 402');
        env.replica.clearFaults();
      },
    });

    const runs = [first, rerun, carried!, nextDay];
    return {
      name: 'map-contracts',
      passes: runs.map((r) => r.pass),
      figures: {
        activePools: pools,
        mappings: first.pass.rows,
        'share of pools with a mapping (%)': round(first.share * 100, 1),
        'mappings per second, unchanged rerun': rerun.pass.rowsPerS,
      },
      targets: runs.map((r) => atMost(`map-contracts job, ${r.pass.label} (${pools} pools, ${r.pass.rows} mappings)`, r.pass.jobS, TARGET_S, 's')),
    };
  },
};
