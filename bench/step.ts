/**
 * What a benchmark step is: a name and a function that measures something against the shared
 * environment (a PostgreSQL server, the replica, a way to run the real CLI and measure it).
 * To add a benchmark, write a step and add it to the list in bench/run.ts.
 */
import type { Db } from '../src/db/connection.js';
import type { Replica } from '../src/replica/server.js';

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
  /** Runs `node dist/src/cli.js <args>` against a database and the replica, measuring wall time and peak RSS. */
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
