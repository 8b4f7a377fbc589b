/** Typed errors and the one mapping from an error to a process exit code; every other module throws. */
import { CommanderError } from 'commander';

export const ExitCode = Object.freeze({
  Success: 0,
  Failure: 1, // a retry may fix it (network, upstream, database hiccup)
  BadUsage: 2, // bad usage or configuration: a retry cannot help
  LockHeld: 75, // EX_TEMPFAIL: skipped for the lock, when SKIPPED_EXIT_CODE asks for it (the local scheduler does)
  Cancelled: 143, // SIGTERM (128 + 15), the way Kubernetes stops a pod
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
