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
  /** Checked and converted by commander (JobDefinition.options). */
  readonly options: Readonly<O>;
  readonly stats: RunStats;
}

export interface ForceOptions {
  readonly force?: boolean;
}

export interface JobModule<O extends object = object> {
  run(ctx: JobContext<O>): Promise<void>;
}

/** O: the job's options as its `options` parse into them, the type its run() and instance() take. */
export interface JobDefinition<O extends object = object> {
  readonly name: string;
  /** Default cron schedule (UTC). */
  readonly schedule: string;
  readonly priority: Priority;
  readonly description: string;
  /** Declared once for the CLI, its help and the docs. */
  readonly options?: readonly Option[];
  /** Loads the implementation; absent while the job is registered but not implemented. */
  load?(): Promise<JobModule<O>>;
  /** For side-by-side instances (shards): own lock "<job>/<instance>", abandons only its own dead runs. Throws ConfigError. */
  instance?(options: O, config: Config): string | undefined;
}
