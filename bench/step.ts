/**
 * What a benchmark step is: a name and a function that measures something against the shared
 * environment (a PostgreSQL server, the replica, a way to run the real CLI and measure it).
 * To add a benchmark, write a step and add it to the list in bench/run.ts.
 */
import type { Db } from '../src/db/connection.js';
import type { Replica } from '../replica/server.js';

export interface BenchDatabase {
  readonly url: string;
  readonly db: Db;
}

export interface CliMeasurement {
  readonly code: number | null;
  /** Wall time of the whole process, start to exit. */
  readonly wallMs: number;
  /** Peak resident set size of the process, MB (from /usr/bin/time -v). */
  readonly peakRssMb: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export interface BenchEnv {
  /** Dataset sizes the replica was started with. */
  readonly sizes: { readonly pools: number; readonly protocols: number; readonly chains: number };
  /** The in-process replica; a step sets `replica.day` itself and calls `replica.warm()` before measuring. */
  readonly replica: Replica;
  /** A new, migrated database (dropped when the benchmark ends). */
  freshDatabase(label: string): Promise<BenchDatabase>;
  /** Runs `node dist/src/bin.js <args>` against a database and the replica, measuring wall time and peak RSS. */
  runCli(args: readonly string[], database: BenchDatabase, extraEnv?: Record<string, string>): Promise<CliMeasurement>;
  log(line: string): void;
}

/** One measured run (of a job, usually). */
export interface BenchPass {
  readonly label: string;
  readonly wallS: number;
  /** The job's own duration from its sync_jobs row, when it has one. */
  readonly jobS?: number;
  readonly rows: number;
  readonly rowsPerS: number;
  readonly peakRssMb: number | undefined;
  readonly counts?: Readonly<Record<string, number>>;
  readonly phasesMs?: Readonly<Record<string, number>>;
}

export interface BenchTarget {
  readonly what: string;
  readonly limit: number;
  readonly actual: number | undefined;
  readonly unit: string;
  readonly ok: boolean;
}

export interface BenchStepResult {
  readonly name: string;
  readonly passes: readonly BenchPass[];
  /** Other figures (e.g. the COPY floor), by name. */
  readonly figures: Readonly<Record<string, number>>;
  readonly targets: readonly BenchTarget[];
}

export interface BenchStep {
  readonly name: string;
  run(env: BenchEnv): Promise<BenchStepResult>;
}

/** A target "actual <= limit"; a missing measurement fails it. */
export function atMost(what: string, actual: number | undefined, limit: number, unit: string): BenchTarget {
  return { what, limit, actual, unit, ok: actual !== undefined && actual <= limit };
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** The columns of a run's sync_jobs row that the benchmark reads. */
export interface RunRow {
  duration_ms: number;
  records_processed: number;
  records_created: number;
  records_updated: number;
  records_unchanged: number;
  records_deactivated: number;
  records_failed: number;
  details: Record<string, unknown>;
}

/** Runs the CLI; a non-zero exit fails the benchmark with the end of its stderr. */
export async function runOk(env: BenchEnv, database: BenchDatabase, args: readonly string[], label = args.join(' ')): Promise<CliMeasurement> {
  const m = await env.runCli(args, database);
  if (m.code !== 0) throw new Error(`${label} exited ${m.code}: ${m.stderr.slice(-2000)}`);
  return m;
}

/** What a pass reports of its run, besides times and peak RSS. */
export interface PassFigures {
  readonly rows: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly phasesMs: Readonly<Record<string, number>>;
}

/**
 * Runs a job (`args[0]`) through the CLI and makes a pass of it: the job's own time from its
 * sync_jobs row, the process wall time and peak RSS, and the figures `pick` reads from the row.
 */
export async function measureJob(
  env: BenchEnv,
  database: BenchDatabase,
  args: readonly string[],
  label: string,
  pick: (run: RunRow) => PassFigures,
): Promise<{ pass: BenchPass; run: RunRow }> {
  const m = await runOk(env, database, args, `${args[0]} (${label})`);
  const run = await database.db.one<RunRow>(`SELECT * FROM sync_jobs WHERE job_name = $1 ORDER BY id DESC LIMIT 1`, [args[0]]);
  const jobS = run.duration_ms / 1000;
  const { rows, counts, phasesMs } = pick(run);
  return {
    run,
    pass: { label, wallS: round(m.wallMs / 1000), jobS: round(jobS), rows, rowsPerS: Math.round(rows / jobS), peakRssMb: m.peakRssMb, counts, phasesMs },
  };
}

/** What a step measured on its database: the first run, the rerun and the next day's run. */
export interface DailyPasses<P> {
  readonly database: BenchDatabase;
  readonly first: P;
  readonly rerun: P;
  readonly nextDay: P;
}

/**
 * The sequence each job's step measures on a fresh database: the job's first run on the replica's
 * day 0, a rerun with nothing changed, then a run on the next day. `prepare` brings the database to
 * the day's state before the first and the next-day run (the syncs a job reads from);
 * `afterFirst` and `beforeNextDay` add a step's own figures or passes. The replica builds each
 * day's responses before anything is measured.
 */
export async function dailyPasses<P>(
  env: BenchEnv,
  name: string,
  steps: {
    readonly labels: readonly [first: string, rerun: string, nextDay: string];
    measure(database: BenchDatabase, label: string): Promise<P>;
    prepare?(database: BenchDatabase, day: 0 | 1): Promise<void>;
    afterFirst?(database: BenchDatabase, first: P): Promise<void>;
    beforeNextDay?(database: BenchDatabase): Promise<void>;
  },
): Promise<DailyPasses<P>> {
  env.replica.day = 0;
  env.replica.warm();
  const database = await env.freshDatabase(name);
  await steps.prepare?.(database, 0);
  const first = await steps.measure(database, steps.labels[0]);
  await steps.afterFirst?.(database, first);
  const rerun = await steps.measure(database, steps.labels[1]);
  await steps.beforeNextDay?.(database);
  env.replica.nextDay();
  env.replica.warm();
  await steps.prepare?.(database, 1);
  const nextDay = await steps.measure(database, steps.labels[2]);
  return { database, first, rerun, nextDay };
}

/** The current state the downstream jobs read: sync-protocols then sync-pools. Returns their wall time, ms. */
export async function syncCurrentState(env: BenchEnv, database: BenchDatabase): Promise<number> {
  return (await runOk(env, database, ['sync-protocols'])).wallMs + (await runOk(env, database, ['sync-pools'])).wallMs;
}
