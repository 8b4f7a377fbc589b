/**
 * Benchmark of map-contracts: the benchmark replica's pools (50,000 by default) and protocols
 * loaded by the real sync jobs, then map-contracts through the real CLI without on-chain calls:
 * a first run into an empty table, an unchanged rerun, a run with /poolsOld answering 402 (its
 * entries carried), and the next day (pools gone and born). Reported: mappings per second and
 * the share of pools with at least one mapping. Target: the job itself within 5 s.
 *
 * Part of `npm run bench`; alone: `npm run bench -- --only map-contracts [--pools N --protocols N]`.
 */
import { atMost, measureJob, round, runOk, type BenchDatabase, type BenchEnv, type BenchPass, type BenchStep, type BenchStepResult } from './step.js';

const TARGET_S = 5;

async function mapContracts(env: BenchEnv, database: BenchDatabase, label: string): Promise<{ pass: BenchPass; share: number }> {
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
    env.replica.day = 0;
    env.replica.warm();
    const database = await env.freshDatabase('map-contracts');
    await runOk(env, database, ['sync-protocols']);
    await runOk(env, database, ['sync-pools']);
    const pools = (await database.db.one<{ n: number }>('SELECT count(*)::int AS n FROM pools WHERE is_active')).n;
    env.log(`  current state: ${pools} active pools`);

    const first = await mapContracts(env, database, 'first');
    const rerun = await mapContracts(env, database, 'unchanged');
    env.replica.setFault('/poolsOld', { kind: 'status', status: 402 });
    const carried = await mapContracts(env, database, 'poolsOld 402');
    env.replica.clearFaults();
    env.replica.nextDay();
    env.replica.warm();
    await runOk(env, database, ['sync-protocols']);
    await runOk(env, database, ['sync-pools']);
    const nextDay = await mapContracts(env, database, 'next day');

    const runs = [first, rerun, carried, nextDay];
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
