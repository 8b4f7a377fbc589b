/**
 * Typed errors and the one mapping from an error to a process exit code.
 * Every other module throws; only main() in cli.ts turns an error into an exit code (bin.ts exits with it).
 */

export const ExitCode = Object.freeze({
  /** The job did what it was asked. */
  Success: 0,
  /** A failure that a later retry may fix (network, upstream, database hiccup). */
  Failure: 1,
  /** Bad usage or configuration: retrying the same command cannot help. */
  BadUsage: 2,
  /**
   * The code a skipped run (another run holds the job's lock) exits with when asked for a distinct
   * one (SKIPPED_EXIT_CODE=75, as the local scheduler asks its runs); by default a skip exits 0.
   * (EX_TEMPFAIL)
   */
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

/**
 * Another process holds the job's advisory lock: the run was skipped, which is not a failure (the
 * other run does the work), so it exits 0 unless SKIPPED_EXIT_CODE asks for a distinct code.
 */
export class LockHeldError extends DefiSyncError {
  override readonly exitCode = ExitCode.Success;
}

/**
 * run-all skipped a step for its lock: the later steps did not run, so the pipeline is incomplete
 * (a failure, unlike a single job's skip, whose work the other run does).
 */
export class PipelineIncompleteError extends DefiSyncError {}

/** The run was stopped by a signal; its transaction was rolled back. */
export class CancelledError extends DefiSyncError {
  override readonly exitCode = ExitCode.Cancelled;
}

/** A safety check refused to apply a change (e.g. too many rows would be deactivated). */
export class GuardError extends DefiSyncError {}

/**
 * The single place that decides how the process exits for a given error. `skippedExitCode`
 * (SKIPPED_EXIT_CODE, --skipped-exit-code) is the code of a run skipped for the lock.
 */
export function exitCodeFor(error: unknown, skippedExitCode: number = ExitCode.Success): number {
  if (error instanceof LockHeldError) return skippedExitCode;
  if (error instanceof DefiSyncError) return error.exitCode;
  // commander's own usage errors carry a code starting with "commander."
  if (isCommanderError(error)) return error.exitCode === 0 ? ExitCode.Success : ExitCode.BadUsage;
  return ExitCode.Failure;
}

function isCommanderError(error: unknown): error is { code: string; exitCode: number } {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    (error as { code: string }).code.startsWith('commander.')
  );
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
