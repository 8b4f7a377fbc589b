/** Each run is a child process of the CLI, so a crash, leak or stuck library stays in that run; its exit code tells the outcome. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ExitCode } from '../errors.js';

export const RUN_OUTCOMES = ['succeeded', 'failed', 'cancelled', 'skipped'] as const;
export type RunOutcome = (typeof RUN_OUTCOMES)[number];

export interface RunResult {
  readonly outcome: RunOutcome;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why, in words, when it did not succeed. */
  readonly detail?: string;
}

export interface RunHandle {
  readonly pid: number | undefined;
  /** Settles when the child has exited (never rejects). */
  readonly done: Promise<RunResult>;
  /** Sends a signal to the run (to its whole process group for SIGKILL). */
  signal(signal: NodeJS.Signals): void;
}

export type Launcher = (job: string) => RunHandle;

/** This CLI's executable: bin.js beside this build, or bin.ts under tsx (whose loader flags are in execArgv). */
export function selfCommand() {
  const bin = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../bin.ts' : '../bin.js', import.meta.url));
  return { file: process.execPath, args: [...process.execArgv, bin] };
}

function classifyExit(code: number | null, signal: NodeJS.Signals | null): RunResult {
  if (code === ExitCode.Success) return { outcome: 'succeeded', code, signal };
  if (code === ExitCode.LockHeld) return { outcome: 'skipped', code, signal, detail: 'another run of the job holds its lock' };
  if (code === ExitCode.Cancelled || signal === 'SIGTERM') return { outcome: 'cancelled', code, signal, detail: 'stopped by SIGTERM' };
  if (signal) return { outcome: 'failed', code, signal, detail: `killed by ${signal}` };
  if (code === ExitCode.BadUsage) return { outcome: 'failed', code, signal, detail: 'bad usage or configuration (exit code 2)' };
  return { outcome: 'failed', code, signal, detail: `exit code ${code}` };
}

// Own process group, so Ctrl-C reaches only the scheduler, which sends one SIGTERM (a second skips recording the outcome).
export function childProcessLauncher(command: { file: string; args: readonly string[] }, env: NodeJS.ProcessEnv): Launcher {
  return (job) => {
    const child = spawn(command.file, [...command.args, job], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
    // Over IPC the run cancels itself if the scheduler dies; the channel alone keeps neither process alive.
    child.channel?.unref();
    const done = new Promise<RunResult>((resolve) => {
      child.once('error', (error) => resolve({ outcome: 'failed', code: null, signal: null, detail: `could not start: ${error.message}` }));
      child.once('exit', (code, signal) => resolve(classifyExit(code, signal)));
    });
    return {
      pid: child.pid,
      done,
      signal(signal) {
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
        try {
          // SIGKILL goes to the group so nothing the run started survives it.
          if (signal === 'SIGKILL') process.kill(-child.pid, signal);
          else child.kill(signal);
        } catch {
          /* already gone */
        }
      },
    };
  };
}
