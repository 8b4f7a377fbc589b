import type { Option } from 'commander';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import type { Logger } from '../logger.js';
import type { RunStats } from '../runs/stats.js';

export const PRIORITIES = ['immediate', 'high', 'medium', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export interface JobContext<O extends object = object> {
  readonly runId: number;
  readonly config: Config;
  readonly db: Db;
  readonly log: Logger;
  /** Aborted on SIGTERM/SIGINT: stop starting work; database work in flight is cancelled. */
  readonly signal: AbortSignal;
  /** The job's own command-line options, checked and converted by commander (JobDefinition.options). */
  readonly options: Readonly<O>;
  readonly stats: RunStats;
}

/** The options of the jobs with a deactivation guard. */
export interface ForceOptions {
  readonly force?: boolean;
}

export interface JobModule<O extends object = object> {
  run(ctx: JobContext<O>): Promise<void>;
}

/** O: the job's options as its `options` parse into them, the type its run() and instance() take. */
export interface JobDefinition<O extends object = object> {
  readonly name: string;
  /** Default cron schedule, UTC. */
  readonly schedule: string;
  readonly priority: Priority;
  readonly description: string;
  /** Its command-line options, declared once for the CLI, its help and the docs. */
  readonly options?: readonly Option[];
  /** Loads the implementation; absent while the job is registered but not implemented. */
  load?(): Promise<JobModule<O>>;
  /**
   * Names this run's instance when instances of the job may run side by side (the shards of
   * sync-historical): each instance takes its own lock "<job>/<instance>" and only marks its own
   * dead runs abandoned. Undefined: one lock for the whole job. Throws ConfigError on bad input.
   */
  instance?(options: O, config: Config): string | undefined;
}
