/**
 * Benchmark of map-contracts: the benchmark replica's pools (50,000 by default) and protocols
 * loaded by the real sync jobs, then map-contracts through the real CLI without on-chain calls:
 * a first run into an empty table, an unchanged rerun, a run with /poolsOld answering 402 (its
 * entries carried), and the next day (pools gone and born). Reported: mappings per second and
 * the share of pools with at least one mapping. Target: the job itself within 5 s.
 *
 * Part of `npm run bench`; alone: `npm run bench -- --only map-contracts [--pools N --protocols N]`.
 */
import { atMost, round, type BenchDatabase, type BenchEnv, type BenchPass, type BenchStep, type BenchStepResult } from './step.js';

const TARGET_S = 5;

interface RunRow {
  duration_ms: number;
  records_created: number;
  records_updated: number;
  records_unchanged: number;
  records_deactivated: number;
  details: { mappings?: number; mappingsSent?: number; poolShareWithMapping?: number; timingsMs?: Record<string, number> };
}

async function cli(env: BenchEnv, database: BenchDatabase, args: string[]): Promise<void> {
  const m = await env.runCli(args, database);
  if (m.code !== 0) throw new Error(`${args.join(' ')} exited ${m.code}: ${m.stderr.slice(-2000)}`);
}

async function mapContracts(env: BenchEnv, database: BenchDatabase, label: string): Promise<{ pass: BenchPass; share: number }> {
  const m = await env.runCli(['map-contracts', '--no-verify'], database);
  if (m.code !== 0) throw new Error(`map-contracts (${label}) exited ${m.code}: ${m.stderr.slice(-2000)}`);
  const run = await database.db.one<RunRow>(`SELECT * FROM sync_jobs WHERE job_name = 'map-contracts' ORDER BY id DESC LIMIT 1`);
  const jobS = run.duration_ms / 1000;
  const mappings = run.details.mappings ?? 0;
  return {
    pass: {
      label,
      wallS: round(m.wallMs / 1000),
      jobS: round(jobS),
      rows: mappings,
      rowsPerS: Math.round(mappings / jobS),
      peakRssMb: m.peakRssMb,
      counts: {
        created: run.records_created,
        updated: run.records_updated,
        unchanged: run.records_unchanged,
        deactivated: run.records_deactivated,
        sent: run.details.mappingsSent ?? 0,
      },
      phasesMs: run.details.timingsMs ?? {},
    },
    share: run.details.poolShareWithMapping ?? 0,
  };
}

export const mapContractsStep: BenchStep = {
  name: 'map-contracts',
  async run(env: BenchEnv): Promise<BenchStepResult> {
    env.replica.day = 0;
    env.replica.warm();
    const database = await env.freshDatabase('map-contracts');
    await cli(env, database, ['sync-protocols']);
    await cli(env, database, ['sync-pools']);
    const pools = (await database.db.one<{ n: number }>('SELECT count(*)::int AS n FROM pools WHERE is_active')).n;
    env.log(`  current state: ${pools} active pools`);

    const first = await mapContracts(env, database, 'first');
    const rerun = await mapContracts(env, database, 'unchanged');
    env.replica.setFault('/poolsOld', { kind: 'status', status: 402 });
    const carried = await mapContracts(env, database, 'poolsOld 402');
    env.replica.clearFaults();
    env.replica.nextDay();
    env.replica.warm();
    await cli(env, database, ['sync-protocols']);
    await cli(env, database, ['sync-pools']);
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
