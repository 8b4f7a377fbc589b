/**
 * The benchmark's environment: a PostgreSQL server (BENCH_DATABASE_URL, or an embedded one in a
 * temporary directory), the in-process replica at benchmark size, fresh databases, and the real
 * CLI run as a child process under /usr/bin/time -v for its peak RSS.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../src/db/connection.js';
import { migrate } from '../src/db/migrator.js';
import { serverFrom } from '../scripts/scratch-postgres.js';
import { startReplica, type Replica } from '../replica/server.js';
import type { BenchDatabase, BenchEnv, CliMeasurement } from './step.js';

const CLI = join(process.cwd(), 'dist', 'src', 'bin.js');
const TIME = '/usr/bin/time';
// The heap a pod under the chart's 1 GiB memory limit gets (measured in the image): unlimited, as on
// a machine with tens of GB, Node 24 grows 64 MB semi-spaces and its peak RSS says more about the
// machine than about the job (see test/history/heavy-protocol.test.ts).
const POD_HEAP = ['--max-old-space-size=512', '--max-semi-space-size=16'];

export interface Harness extends BenchEnv {
  readonly serverUrl: string;
  readonly postgresVersion: string;
  close(): Promise<void>;
}

/** GNU time reports the peak RSS of the process it runs; installed on demand where apt-get exists. */
function ensureGnuTime(log: (line: string) => void): boolean {
  if (existsSync(TIME)) return true;
  try {
    log('installing GNU time (apt-get install -y time) to measure peak RSS');
    execFileSync('apt-get', ['install', '-y', '-q', 'time'], { stdio: 'ignore' });
  } catch {
    /* not root, or no apt-get */
  }
  if (existsSync(TIME)) return true;
  log('GNU time is not available: peak RSS is not measured (install the "time" package)');
  return false;
}

export async function openHarness(sizes: BenchEnv['sizes'], log: (line: string) => void): Promise<Harness> {
  const server = await serverFrom('BENCH_DATABASE_URL', 'bench');
  const serverUrl = server.url;
  log(`PostgreSQL: ${server.origin}`);
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const postgresVersion = (await admin.query<{ v: string }>('SHOW server_version')).rows[0]!.v;
  const timeAvailable = ensureGnuTime(log);

  const t0 = performance.now();
  const replica: Replica = await startReplica({ seed: 2025, ...sizes, historyDays: 30, startDate: '2025-03-01' });
  replica.warm();
  log(`replica: ${sizes.pools} pools, ${sizes.protocols} protocols, ${sizes.chains} chains at ${replica.url} (built in ${Math.round(performance.now() - t0)} ms)`);

  const created: { name: string; database: Database }[] = [];

  async function freshDatabase(label: string): Promise<BenchDatabase> {
    const name = `defi_sync_bench_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(3).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const database = openDatabase(url.toString(), 'defi-sync-bench');
    created.push({ name, database });
    await migrate(database.db);
    return { url: url.toString(), db: database.db };
  }

  function runCli(args: readonly string[], database: BenchDatabase, extraEnv: Record<string, string> = {}): Promise<CliMeasurement> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: database.url,
      DEFILLAMA_API_URL: replica.url,
      DEFILLAMA_YIELDS_URL: replica.url,
      DEFILLAMA_PRO_API_URL: replica.url,
      API_RATE_LIMIT_MS: '0',
      LOG_LEVEL: 'info',
      ...extraEnv,
    };
    const [cmd, argv] = timeAvailable ? [TIME, ['-v', process.execPath, ...POD_HEAP, CLI, ...args]] : [process.execPath, [...POD_HEAP, CLI, ...args]];
    return new Promise((resolve, reject) => {
      const t = performance.now();
      const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        const wallMs = performance.now() - t;
        const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
        resolve({ code, wallMs, peakRssMb: rss ? Math.round(Number(rss[1]) / 1024) : undefined, stdout, stderr });
      });
    });
  }

  return {
    sizes,
    replica,
    serverUrl,
    postgresVersion,
    freshDatabase,
    runCli,
    log,
    async close() {
      await replica.close();
      for (const { name, database } of created) {
        await database.close();
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      }
      await admin.end();
      await server.close();
    },
  };
}
