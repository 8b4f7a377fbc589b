import type { Config, Trigger } from '../config.js';
import type { Db } from '../db/connection.js';
import type { Logger } from '../logger.js';
import type { RunStats } from '../runs/stats.js';

export type Priority = 'immediate' | 'high' | 'medium' | 'low';
export const PRIORITIES: readonly Priority[] = ['immediate', 'high', 'medium', 'low'];

export interface JobContext {
  readonly name: string;
  readonly runId: number;
  readonly config: Config;
  readonly db: Db;
  readonly log: Logger;
  /** Aborted on SIGTERM/SIGINT: stop starting work; database work in flight is cancelled. */
  readonly signal: AbortSignal;
  /** The job's own command-line options, as commander parsed them. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly stats: RunStats;
  readonly trigger: Trigger;
}

/** A job-specific command-line option, declared as data so the CLI and docs share it. */
export interface JobOption {
  readonly flags: string;
  readonly description: string;
  readonly defaultValue?: string | boolean;
}

export interface JobModule {
  run(ctx: JobContext): Promise<void>;
}

export interface JobDefinition {
  readonly name: string;
  /** Default cron schedule, UTC. */
  readonly schedule: string;
  readonly priority: Priority;
  readonly description: string;
  readonly options?: readonly JobOption[];
  /** Loads the implementation; absent while the job is registered but not implemented. */
  readonly load?: () => Promise<JobModule>;
  /**
   * Names this run's instance when instances of the job may run side by side (the shards of
   * sync-historical): each instance takes its own lock "<job>/<instance>" and only marks its own
   * dead runs abandoned. Undefined: one lock for the whole job. Throws ConfigError on bad input.
   */
  readonly instance?: (options: Readonly<Record<string, unknown>>, config: Config) => string | undefined;
}
