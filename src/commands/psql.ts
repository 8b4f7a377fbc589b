/** `defi-sync psql`: psql on this CLI's warehouse (the embedded one kept up for the session), or its URL for other clients. */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Io } from '../cli.js';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { initLogger } from '../logger.js';
import { openWarehouse } from '../db/warehouse.js';

export interface PsqlOptions {
  printUrl?: boolean;
  showPassword?: boolean;
}

const NO_PSQL = 'psql was not found on PATH: install the PostgreSQL client (Debian and Ubuntu: apt-get install postgresql-client)';

export async function cmdPsql(config: Config, opts: PsqlOptions, psqlArgs: string[], io: Io, signal: AbortSignal): Promise<number> {
  // stdout belongs to psql or to the URL: only warnings are logged.
  if (config.logLevel !== 'debug' && config.logLevel !== 'trace') initLogger({ logLevel: 'warn', logDir: config.logDir });
  if (!opts.printUrl && spawnSync('psql', ['--version'], { stdio: 'ignore' }).error) throw new ConfigError(NO_PSQL);

  // The embedded warehouse is migrated like for any command; an external one is shown as it is.
  const warehouse = await openWarehouse(config, 'defi-sync:psql', config.databaseUrl ? 'none' : 'require-current');
  try {
    const url = warehouse.embedded?.url ?? config.databaseUrl!;
    if (opts.printUrl) {
      const shown = new URL(url);
      const hidden = !opts.showPassword && shown.password !== '';
      if (hidden) shown.password = '***';
      io.out(opts.showPassword ? url : shown.toString());
      if (hidden) io.err(`defi-sync: the password is hidden: add --show-password${warehouse.embedded ? `, or read it from ${join(warehouse.embedded.dataDir, 'password')}` : ''}`);
      if (!warehouse.embedded) return 0;
      io.err('defi-sync: the embedded PostgreSQL stays up while this command runs; stop it with Ctrl-C or SIGTERM');
      if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return 0;
    }
    return await runPsql(url, psqlArgs, signal);
  } finally {
    await warehouse.close();
  }
}

/** Runs psql in the foreground; the password travels in its environment, not on its command line. */
function runPsql(url: string, args: string[], signal: AbortSignal): Promise<number> {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  // Ctrl-C belongs to psql (it cancels the query); the terminal sends it to psql directly.
  const sigint = process.listeners('SIGINT');
  process.removeAllListeners('SIGINT');
  process.on('SIGINT', () => undefined);
  const restore = () => {
    process.removeAllListeners('SIGINT');
    for (const l of sigint) process.on('SIGINT', l);
  };
  return new Promise((resolve, reject) => {
    const child = spawn('psql', [u.toString(), ...args], { stdio: 'inherit', env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } });
    const onAbort = () => child.kill('SIGTERM');
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error: NodeJS.ErrnoException) => {
      restore();
      reject(error.code === 'ENOENT' ? new ConfigError(NO_PSQL) : error);
    });
    child.on('close', (code, sig) => {
      restore();
      signal.removeEventListener('abort', onAbort);
      resolve(code ?? (sig === 'SIGTERM' ? 143 : 1));
    });
  });
}
