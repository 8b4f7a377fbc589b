#!/usr/bin/env node
/** The process around main() (src/cli.ts): signals and a lost scheduler cancel the command; it exits with main()'s code. */
import { main, type Io } from './cli.js';
import { CancelledError, errorMessage, ExitCode } from './errors.js';
import { logger, logUncaught } from './logger.js';

const line = (t: string) => (t.endsWith('\n') ? t : `${t}\n`);
const io: Io = { out: (t) => process.stdout.write(line(t)), err: (t) => process.stderr.write(line(t)) };

/** How long a cancelled run may take to roll back and record itself before the process exits; the scheduler raises it. */
let cancelGraceMs = 10_000;
const controller = new AbortController();
const onSignal = (name: NodeJS.Signals) => {
  if (controller.signal.aborted) process.exit(ExitCode.Cancelled); // a second signal: stop now
  controller.abort(new CancelledError(`received ${name}`));
  setTimeout(() => process.exit(ExitCode.Cancelled), cancelGraceMs).unref();
};
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
// A run started by the scheduler has an IPC channel to it: if the scheduler dies, cancel the run.
if (process.channel) {
  process.channel.unref();
  process.once('disconnect', () => onSignal('SIGHUP'));
}
const exitUncaught = (kind: string) => (error: unknown) => {
  logUncaught(kind, error);
  process.exit(ExitCode.Failure);
};
process.on('uncaughtException', exitUncaught('exception'));
process.on('unhandledRejection', exitUncaught('rejection'));
main(process.argv, io, controller.signal, (ms) => (cancelGraceMs = ms)).then(
  // A batch pod must terminate even if a library left a handle open.
  (code) => process.exit(code),
  (error: unknown) => {
    logger().fatal({ error: errorMessage(error) }, 'unexpected failure');
    process.exit(ExitCode.Failure);
  },
);
