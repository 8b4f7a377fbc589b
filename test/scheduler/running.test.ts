/**
 * The documented ways to run the scheduler without Kubernetes, checked as far as this machine
 * allows: the systemd unit with systemd-analyze, the `docker run` example in docs/operations.md against the
 * CLI's own parser (there is no Docker engine here), and `npm run dev` for real.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig, SETTINGS } from '../../src/config.js';
import { JOBS } from '../../src/jobs/registry.js';
import { SHUTDOWN_MARGIN_MS } from '../../src/commands/scheduler.js';
import { cliEnv, collect, logLines, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

const UNIT = join('deploy', 'systemd', 'defi-sync.service');
const ENV_EXAMPLE = join('deploy', 'systemd', 'defi-sync.env.example');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const DEFAULT_GRACE = loadConfig({}).schedulerGraceSeconds;
const ALL_DISABLED = { DISABLED_JOBS: JOBS.map((j) => j.name).join(',') };

const dir = mkdtempSync(join(tmpdir(), 'defi-sync-running-'));
const tdb = await useTestDatabase();
let replica: TestReplica;
before(async () => {
  replica = await startTestReplica();
});
after(async () => {
  await replica?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** [Service] and other settings of a unit file; repeated keys keep every value. */
function unitSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

/** VAR=value lines of an env file; with `commented`, the `# VAR=value` examples too. */
function envFile(text: string, commented = false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = (commented ? /^#?\s?([A-Z][A-Z0-9_]*)=(.*)$/ : /^([A-Z][A-Z0-9_]*)=(.*)$/).exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/**
 * Arguments that the CLI's parser accepts as a scheduler invocation: with every job disabled the
 * scheduler command itself refuses to start (exit 2, its own message), which it only reaches
 * once commander has accepted the command and its options.
 */
async function assertValidSchedulerArgs(args: string[], where: string): Promise<void> {
  assert.equal(args[0], 'scheduler', `${where}: runs the scheduler`);
  const r = await runCli(args, cliEnv({ DATABASE_URL: tdb.url, METRICS_PORT: '', ...ALL_DISABLED }));
  assert.equal(r.code, 2, `${where}: ${r.stderr}`);
  assert.match(r.stderr, /^defi-sync: no job to schedule/, `${where}: the arguments ${JSON.stringify(args)} reach the scheduler (not a usage error): ${r.stderr}`);
}

test('the systemd unit passes systemd-analyze verify and is well hardened', async () => {
  assert.ok(existsSync(SYSTEMD_ANALYZE), `${SYSTEMD_ANALYZE} is missing: install the Debian package systemd (scripts/test-tools.sh does it)`);
  const text = readFileSync(UNIT, 'utf8');
  const s = unitSettings(text);
  const [execPath, ...args] = s.get('ExecStart')![0]!.split(/\s+/);
  // verify needs ExecStart to exist: the unit under test points at a stand-in executable.
  const fake = join(dir, 'defi-sync');
  writeFileSync(fake, '#!/bin/sh\nexit 0\n');
  chmodSync(fake, 0o755);
  const unit = join(dir, 'defi-sync.service');
  writeFileSync(unit, text.replace(`ExecStart=${execPath}`, `ExecStart=${fake}`));

  const verify = spawnSync(SYSTEMD_ANALYZE, ['verify', unit], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(verify.stderr.trim(), '', 'no warnings either (unknown keys, bad values)');

  const security = spawnSync(SYSTEMD_ANALYZE, ['security', '--offline=true', '--no-pager', unit], { encoding: 'utf8' });
  const exposure = Number(/Overall exposure level for defi-sync\.service: ([\d.]+)/.exec(security.stdout + security.stderr)?.[1]);
  assert.ok(exposure <= 2, `systemd-analyze security: exposure ${exposure} (10 is unprotected)\n${security.stdout}`);

  // Negative control: verify does catch a broken unit.
  writeFileSync(unit, text.replace(`ExecStart=${execPath}`, `ExecStart=${join(dir, 'missing')}`));
  assert.notEqual(spawnSync(SYSTEMD_ANALYZE, ['verify', unit], { encoding: 'utf8' }).status, 0);

  assert.equal(execPath, '/usr/local/bin/defi-sync');
  await assertValidSchedulerArgs(args, 'ExecStart');
});

test('the unit stops the way the scheduler expects, and its environment file is valid configuration', () => {
  const s = unitSettings(readFileSync(UNIT, 'utf8'));
  const one = (k: string) => s.get(k)?.[0];
  assert.equal(one('Type'), 'simple');
  assert.equal(one('KillSignal'), 'SIGTERM');
  assert.equal(one('KillMode'), 'mixed', 'only the scheduler gets SIGTERM; it forwards one to each run');
  assert.ok(s.get('SuccessExitStatus')?.includes('143'), 'a stop is a success, not a failure to restart');
  assert.ok(Number(one('TimeoutStopSec')) >= DEFAULT_GRACE + SHUTDOWN_MARGIN_MS / 1000, 'systemd waits longer than the grace period');
  assert.equal(one('StateDirectory'), 'defi-sync');
  assert.ok(s.get('Environment')?.includes('DEFI_SYNC_DATA_DIR=%S/defi-sync'), 'the embedded PostgreSQL lives in the state directory');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('EnvironmentFile'), '-/etc/defi-sync/defi-sync.env');

  const example = readFileSync(ENV_EXAMPLE, 'utf8');
  const known = new Set(SETTINGS.map((x) => x.env));
  for (const name of Object.keys(envFile(example, true))) {
    assert.ok(known.has(name) || name.startsWith('SCHEDULE_') || name.startsWith('RPC_URL_'), `${name} in ${ENV_EXAMPLE} is not a setting`);
  }
  const config = loadConfig(envFile(example));
  assert.equal(config.schedulerCatchUp, true);
  assert.ok(Number(one('TimeoutStopSec')) >= config.schedulerGraceSeconds + SHUTDOWN_MARGIN_MS / 1000);
  // The commented examples are valid too once uncommented.
  const all = loadConfig(envFile(example, true));
  assert.equal(all.scheduleOverrides['sync-pools'], '0 */6 * * *');
});

/** Shell words of a command line (quotes and backslash-newlines; enough for documentation). */
function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.replace(/\\\n/g, ' ').matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

/** docker run options that take a value (as the next word when not written --opt=value). */
const DOCKER_VALUE_OPTIONS = new Set(['-e', '--env', '--env-file', '-p', '--publish', '-v', '--volume', '--name', '--restart', '--stop-timeout', '--network', '-u', '--user', '--mount', '--tmpfs', '-w', '--workdir', '-l', '--label', '-m', '--memory', '--cpus', '--entrypoint', '--log-driver', '--log-opt', '--health-cmd', '--stop-signal']);

function dockerRun(command: string): { options: string[][]; image: string; args: string[] } {
  const w = words(command);
  assert.deepEqual(w.slice(0, 2), ['docker', 'run']);
  const options: string[][] = [];
  let i = 2;
  for (; i < w.length && w[i]!.startsWith('-'); i++) {
    const word = w[i]!;
    if (DOCKER_VALUE_OPTIONS.has(word)) options.push([word, w[++i]!]);
    else options.push(word.includes('=') ? [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)] : [word]);
  }
  return { options, image: w[i]!, args: w.slice(i + 1) };
}

test("docs/operations.md's docker run example of the scheduler is a valid CLI invocation that stops cleanly", async () => {
  const readme = readFileSync(join('docs', 'operations.md'), 'utf8');
  const commands = [...readme.matchAll(/^docker run (?:.*\\\n)*.*$/gm)].map((m) => m[0]);
  const scheduler = commands.map(dockerRun).filter((c) => c.args[0] === 'scheduler');
  assert.ok(scheduler.length > 0, 'docs/operations.md has no `docker run ... scheduler` example (section "docker or podman")');
  for (const c of scheduler) {
    const opt = (name: string) => c.options.find((o) => o[0] === name)?.[1];
    assert.match(c.image, /^defi-sync(:|$)/);
    assert.ok(c.options.some((o) => o[0] === '--init'), '--init: PID 1 reaps what the embedded PostgreSQL leaves');
    assert.ok(Number(opt('--stop-timeout')) >= DEFAULT_GRACE + SHUTDOWN_MARGIN_MS / 1000, "--stop-timeout covers the grace period (docker's default is 10 s)");
    assert.ok(c.options.some((o) => (o[0] === '-p' || o[0] === '--publish') && o[1]?.endsWith(':9464')), '/metrics published');
    await assertValidSchedulerArgs(c.args, 'docs/operations.md docker run');
  }
});

test('npm run dev runs the scheduler from source with file watching; its runs are started the same way', async () => {
  const env = cliEnv({
    DATABASE_URL: tdb.url,
    ...replica.env(),
    METRICS_PORT: '0',
    DISABLED_JOBS: JOBS.map((j) => j.name).filter((n) => n !== 'sync-chains').join(','),
    // npm and tsx must be found as they are for a developer.
    PATH: `${join(process.cwd(), 'node_modules', '.bin')}:${process.env.PATH}`,
  });
  const child = spawn('npm', ['run', '-s', 'dev', '--', '--catch-up', '--grace-period', '3'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const result = collect(child, 120_000);
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  try {
    const deadline = Date.now() + 90_000;
    while (!logLines(stdout).some((l) => l.msg === 'sync-chains succeeded' && l.component === 'scheduler')) {
      assert.ok(Date.now() < deadline, `no successful run under npm run dev:\n${stdout}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const run = await tdb.db.one<{ status: string; trigger: string; pid: number }>(`SELECT status, trigger, pid FROM sync_jobs WHERE job_name = 'sync-chains' ORDER BY id DESC LIMIT 1`);
    assert.deepEqual([run.status, run.trigger], ['succeeded', 'scheduler']);
  } finally {
    // Ctrl-C in a terminal: the whole foreground process group gets SIGINT.
    process.kill(-child.pid!, 'SIGINT');
  }
  const r = await result;
  assert.ok(logLines(stdout).some((l) => l.msg === 'scheduler stopped'), `the scheduler shut down cleanly:\n${r.stderr}`);
});
