import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig, SETTINGS } from '../../src/config.js';
import { ConfigError, exitCodeFor, ExitCode } from '../../src/errors.js';
import { clearSecrets, redact } from '../../src/redact.js';
import { cliEnv, runCli } from '../helpers/cli.js';

test('defaults match the documented values', () => {
  const c = loadConfig({});
  assert.equal(c.defillamaApiUrl, 'https://api.llama.fi');
  assert.equal(c.defillamaYieldsUrl, 'https://yields.llama.fi');
  assert.equal(c.defillamaProApiUrl, 'https://pro-api.llama.fi');
  assert.equal(c.maxConcurrentJobs, 3);
  assert.equal(c.apiRateLimitMs, 200);
  assert.equal(c.logLevel, 'info');
  assert.equal(c.logDir, undefined);
  assert.equal(c.databaseUrl, undefined);
});

test('a bad value names the variable, the value and what is expected', () => {
  assert.throws(() => loadConfig({ API_RATE_LIMIT_MS: 'abc' }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, 'API_RATE_LIMIT_MS must be a whole number from 0 to 600000, got "abc"');
    assert.equal(exitCodeFor(e), ExitCode.BadUsage);
    return true;
  });
  assert.throws(() => loadConfig({ MAX_CONCURRENT_JOBS: '0' }), /MAX_CONCURRENT_JOBS must be a whole number from 1 to 100, got "0"/);
  assert.throws(() => loadConfig({ LOG_LEVEL: 'loud' }), /LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"/);
  assert.throws(() => loadConfig({ DEFILLAMA_API_URL: 'ftp://x' }), /DEFILLAMA_API_URL must be an http:\/\/ or https:\/\/ URL, got "ftp:\/\/x"/);
});

test('every numeric setting has an upper bound', () => {
  const numeric = SETTINGS.filter((s) => s.default !== undefined && /^\d+$/.test(s.default) && !['METRICS_PORT'].includes(s.env));
  assert.ok(numeric.length >= 8, numeric.map((s) => s.env).join());
  for (const s of numeric) {
    assert.throws(() => loadConfig({ [s.env]: '99999999999999' }), new RegExp(`^ConfigError: ${s.env} must be (a whole number|an exit code) from \\d+ to \\d+, got "99999999999999"$`), s.env);
  }
  for (const env of ['SNAPSHOT_RETENTION_DAYS', 'JOB_COMPLETION_INDEX', 'JOB_COMPLETIONS']) {
    assert.throws(() => loadConfig({ [env]: '9999999999999' }), new RegExp(`${env} must be a whole number from`), env);
  }
  assert.equal(loadConfig({ SYNC_JOBS_RETENTION_DAYS: '36500' }).syncJobsRetentionDays, 36500);
});

test('numeric command options are bounded too: exit 2 with one sentence', async () => {
  const trigger = await runCli(['trigger', 'sync-pools', '--timeout', '99999999999'], cliEnv({}));
  assert.equal(trigger.code, 2, trigger.stderr);
  assert.equal(trigger.stderr.trim(), "error: option '--timeout <seconds>' argument '99999999999' is invalid. It must be a whole number of seconds from 1 to 604800.");
});

test('a bad secret is named but never shown, and is redacted afterwards', () => {
  clearSecrets();
  assert.throws(
    () => loadConfig({ DATABASE_URL: 'mysql://admin:hunter2secret@db/x' }),
    (e: Error) => !e.message.includes('hunter2secret') && /DATABASE_URL must be a postgres/.test(e.message),
  );
  loadConfig({ DEFILLAMA_API_KEY: 'k3y-abcdef-123456' });
  assert.equal(redact('GET https://pro-api.llama.fi/k3y-abcdef-123456/api/protocols'), 'GET https://pro-api.llama.fi/***/api/protocols');
  assert.equal(redact('postgres://u:pa55word@host/db'), 'postgres://u:***@host/db');
});

test('the CLI exits 2 with one sentence on stderr for bad configuration, secrets excluded', async () => {
  const r = await runCli(['status'], cliEnv({ API_RATE_LIMIT_MS: 'abc' }));
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim(), 'defi-sync: API_RATE_LIMIT_MS must be a whole number from 0 to 600000, got "abc"');
  const s = await runCli(['status'], cliEnv({ DATABASE_URL: 'http://user:topsecretpw@x/y' }));
  assert.equal(s.code, 2);
  assert.ok(!s.stderr.includes('topsecretpw') && !s.stdout.includes('topsecretpw'));
});

test('in Kubernetes a missing or empty DATABASE_URL is exit 2 naming it, and no embedded database is set up', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'defi-sync-k8s-'));
  try {
    const dataDir = join(scratch, 'data');
    const tmp = join(scratch, 'tmp');
    const home = join(scratch, 'home');
    for (const [args, databaseUrl] of [[['sync-chains'], undefined], [['migrate'], ''], [['status'], undefined]] as const) {
      const env = cliEnv({ KUBERNETES_SERVICE_HOST: '10.96.0.1', DATABASE_URL: databaseUrl, DEFI_SYNC_DATA_DIR: dataDir, TMPDIR: tmp, HOME: home, XDG_DATA_HOME: join(home, 'share') });
      const r = await runCli(args, env, { timeoutMs: 30_000 });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^defi-sync: DATABASE_URL is not set: in Kubernetes defi-sync needs an external PostgreSQL/);
      assert.doesNotMatch(r.stdout, /embedded/);
    }
    assert.deepEqual(readdirSync(scratch), [], 'no data directory, temporary directory or home was made');
    assert.ok(!existsSync(dataDir));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('usage errors exit 2; --help exits 0; no arguments prints help to stderr and exits 2', async () => {
  const env = cliEnv({});
  const unknown = await runCli(['sync-everything'], env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command/);
  const help = await runCli(['--help'], env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /sync-pools/);
  const none = await runCli([], env);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /Usage: defi-sync/);
});

test('.env.example lists every setting', () => {
  const example = readFileSync('.env.example', 'utf8');
  for (const s of SETTINGS) assert.match(example, new RegExp(`^#? ?${s.env}=`, 'm'), `${s.env} missing from .env.example`);
});

test('a Job made by hand from a CronJob is recorded as manual, a scheduled one as schedule', async () => {
  const { resolveTrigger } = await import('../../src/config.js');
  assert.equal(resolveTrigger('schedule', 'rel-defi-sync-sync-pools', 'rel-defi-sync-sync-pools-29418601'), 'schedule');
  assert.equal(resolveTrigger('schedule', 'rel-defi-sync-sync-pools', 'rel-defi-sync-sync-pools-manual-1795867685'), 'manual');
  assert.equal(resolveTrigger('schedule', 'rel-defi-sync-sync-pools', 'backfill-by-hand'), 'manual');
  assert.equal(resolveTrigger('schedule', undefined, undefined), 'schedule');
  assert.equal(resolveTrigger('scheduler', 'x', 'y'), 'scheduler');
  assert.equal(loadConfig({ DEFI_SYNC_TRIGGER: 'schedule', DEFI_SYNC_CRONJOB: 'a-sync-chains', DEFI_SYNC_KUBE_JOB: 'a-sync-chains-manual-1' }).trigger, 'manual');
});

test('a misspelt job in DISABLED_JOBS or SCHEDULE_<JOB> is exit 2 with one sentence, not ignored', async () => {
  const disabled = await runCli(['list'], cliEnv({ DISABLED_JOBS: 'sync-chains,sync-pool' }));
  assert.equal(disabled.code, 2, disabled.stderr);
  assert.match(disabled.stderr.trim(), /^defi-sync: DISABLED_JOBS names an unknown job "sync-pool" \(jobs: sync-chains, .*cleanup-old-data\)$/);
  const schedule = await runCli(['list'], cliEnv({ SCHEDULE_SYNC_POOL: '0 4 * * *' }));
  assert.equal(schedule.code, 2, schedule.stderr);
  assert.match(schedule.stderr.trim(), /^defi-sync: SCHEDULE_SYNC_POOL names an unknown job "sync-pool" \(jobs: /);
  const known = await runCli(['list'], cliEnv({ DISABLED_JOBS: 'sync-chains', SCHEDULE_SYNC_POOLS: '0 4 * * *' }));
  assert.equal(known.code, 0, known.stderr);
});
