/** Typed errors and the one mapping from an error to a process exit code; every other module throws. */
import { CommanderError } from 'commander';

export const ExitCode = Object.freeze({
  /** The job did what it was asked. */
  Success: 0,
  /** A failure that a later retry may fix (network, upstream, database hiccup). */
  Failure: 1,
  /** Bad usage or configuration: retrying the same command cannot help. */
  BadUsage: 2,
  /** EX_TEMPFAIL: a run skipped for its lock, when SKIPPED_EXIT_CODE asks for a distinct code (the local scheduler does). */
  LockHeld: 75,
  /** Stopped by SIGTERM (128 + 15), the way Kubernetes stops a pod. */
  Cancelled: 143,
} as const);
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a message meant for the operator, safe to print (no secrets). */
export class DefiSyncError extends Error {
  readonly exitCode: ExitCode = ExitCode.Failure;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A setting, argument or input the operator must fix. */
export class ConfigError extends DefiSyncError {
  override readonly exitCode = ExitCode.BadUsage;
}

/** The database schema is missing, older or newer than this build understands. */
export class SchemaVersionError extends DefiSyncError {
  override readonly exitCode = ExitCode.BadUsage;
}

/** The job is registered but has no implementation in this build. */
export class NotImplementedError extends DefiSyncError {
  override readonly exitCode = ExitCode.BadUsage;
}

/** Another process holds the job's advisory lock: the run is skipped, not failed, since the other run does the work. */
export class LockHeldError extends DefiSyncError {
  override readonly exitCode = ExitCode.Success;
}

/** run-all skipped a step for its lock, so the later steps did not run: a failure, unlike a single job's skip. */
export class PipelineIncompleteError extends DefiSyncError {}

/** The run was stopped by a signal; its transaction was rolled back. */
export class CancelledError extends DefiSyncError {
  override readonly exitCode = ExitCode.Cancelled;
}

/** A safety check refused to apply a change (e.g. too many rows would be deactivated). */
export class GuardError extends DefiSyncError {}

/** `skippedExitCode` (SKIPPED_EXIT_CODE, --skipped-exit-code) is the code of a run skipped for the lock. */
export function exitCodeFor(error: unknown, skippedExitCode: number = ExitCode.Success): number {
  if (error instanceof LockHeldError) return skippedExitCode;
  if (error instanceof DefiSyncError) return error.exitCode;
  // commander's own usage errors, help and version output.
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Success : ExitCode.BadUsage;
  return ExitCode.Failure;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
