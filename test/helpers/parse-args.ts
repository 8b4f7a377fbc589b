/**
 * Parses a command line with the CLI's own commander program, in process: a preAction hook takes
 * the options the command would be given and stops it before it runs (no configuration read, no
 * database). A usage error comes back as commander printed it, with the exit code main() gives.
 */
import { buildProgram } from '../../src/cli.js';
import { exitCodeFor } from '../../src/errors.js';

export interface ParsedArgs {
  /** The command's options; undefined on a usage error. */
  options?: Record<string, unknown>;
  /** What commander wrote to stderr. */
  error: string;
  code: number;
}

const STOP = new Error('parsed');

export async function parseArgs(args: readonly string[]): Promise<ParsedArgs> {
  let error = '';
  let options: Record<string, unknown> | undefined;
  const program = buildProgram({ out: () => undefined, err: (t) => (error += t) }, new AbortController().signal, () => undefined);
  program.hook('preAction', (_, command) => {
    options = command.opts();
    throw STOP;
  });
  try {
    await program.parseAsync(['node', 'defi-sync', ...args]);
  } catch (e) {
    if (e !== STOP) return { error: error.trim(), code: exitCodeFor(e) };
  }
  if (!options) throw new Error(`${args.join(' ')}: no command was reached`);
  return { options, error: error.trim(), code: 0 };
}
