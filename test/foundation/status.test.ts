import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { JOBS } from '../../src/jobs/registry.js';
import { jobStatuses } from '../../src/status/job-status.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

const t = await useTestDatabase();
beforeEach(async () => {
  await t.db.none('TRUNCATE sync_jobs');
  await t.db.none(`UPDATE schema_migrations SET applied_at = now()`);
});

/** A finished run `hoursAgo` hours ago. */
async function run(job: string, status: string, hoursAgo: number, error: string | null = null) {
  await t.db.none(
    `INSERT INTO sync_jobs (job_name, status, trigger, started_at, finished_at, duration_ms, records_processed, error_message)
     VALUES ($1, $2, 'schedule', now() - $3 * interval '1 hour', now() - $3 * interval '1 hour' + interval '2 seconds', 2000, 10, $4)`,
    [job, status, hoursAgo, error],
  );
}

test('status lists every registered job, "never" before any run, with the next scheduled time', async () => {
  const r = await runCli(['status', '--json'], cliEnv({ DATABASE_URL: t.url }));
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout).jobs as { job: string; lastStatus: string; nextRunAt: string; stale: boolean }[];
  assert.deepEqual(rows.map((x) => x.job), JOBS.map((j) => j.name));
  for (const row of rows) {
    assert.equal(row.lastStatus, 'never');
    assert.equal(row.stale, false);
    assert.ok(new Date(row.nextRunAt).getTime() > Date.now());
  }
  const check = await runCli(['status', '--check'], cliEnv({ DATABASE_URL: t.url }));
  assert.equal(check.code, 0, 'a fresh install has nothing to alert on');
});

test('status --check exits 1 on a failed last run and names it; the table shows the short error', async () => {
  for (const j of JOBS) await run(j.name, 'succeeded', 1);
  await run('sync-pools', 'failed', 0.5, 'upstream answered HTTP 503 for https://yields.llama.fi/pools after 3 retries');
  const r = await runCli(['status', '--check'], cliEnv({ DATABASE_URL: t.url }));
  assert.equal(r.code, 1);
  assert.match(r.stdout, /sync-pools\s+failed/);
  assert.match(r.stdout, /upstream answered HTTP 503/);
  assert.match(r.stdout, /needs attention: sync-pools \(last run failed\)/);
  const ok = await runCli(['status'], cliEnv({ DATABASE_URL: t.url }));
  assert.equal(ok.code, 0, 'without --check, status only reports');
});

test('a job with no success within twice its interval is stale; a disabled one is not checked', async () => {
  for (const j of JOBS) await run(j.name, 'succeeded', 1);
  await t.db.none(`DELETE FROM sync_jobs WHERE job_name = 'sync-chains'`);
  await run('sync-chains', 'succeeded', 49); // daily job: stale after 48 h
  await run('sync-historical', 'succeeded', 24 * 10); // weekly job: fine until 14 days
  const rows = await jobStatuses(t.db, loadConfig({}));
  assert.equal(rows.find((r) => r.job === 'sync-chains')!.stale, true);
  assert.equal(rows.find((r) => r.job === 'sync-historical')!.stale, false);
  const check = await runCli(['status', '--check', '--json'], cliEnv({ DATABASE_URL: t.url }));
  assert.equal(check.code, 1);
  const disabled = await runCli(['status', '--check'], cliEnv({ DATABASE_URL: t.url, DISABLED_JOBS: 'sync-chains' }));
  assert.equal(disabled.code, 0, disabled.stdout);
  assert.match(disabled.stdout, /sync-chains \(disabled\)/);
});

test('never run since an install older than twice the interval counts as stale', async () => {
  for (const j of JOBS) if (j.name !== 'map-contracts') await run(j.name, 'succeeded', 1);
  await t.db.none(`UPDATE schema_migrations SET applied_at = now() - interval '3 days'`);
  const rows = await jobStatuses(t.db, loadConfig({}));
  const row = rows.find((r) => r.job === 'map-contracts')!;
  assert.equal(row.lastStatus, 'never');
  assert.equal(row.attention, 'never succeeded since install');
});

test('a running row whose lock nobody holds is reported abandoned and fails --check', async () => {
  for (const j of JOBS) await run(j.name, 'succeeded', 1);
  await t.db.none(`INSERT INTO sync_jobs (job_name, status, trigger) VALUES ('create-snapshots', 'running', 'schedule')`);
  const r = await runCli(['status', '--check', '--json'], cliEnv({ DATABASE_URL: t.url }));
  assert.equal(r.code, 1);
  const row = (JSON.parse(r.stdout).jobs as { job: string; lastStatus: string }[]).find((x) => x.job === 'create-snapshots');
  assert.equal(row?.lastStatus, 'abandoned');
});

test('a running row whose lock is held is reported running', async () => {
  for (const j of JOBS) await run(j.name, 'succeeded', 1);
  await t.db.none(`INSERT INTO sync_jobs (job_name, status, trigger) VALUES ('create-snapshots', 'running', 'schedule')`);
  await t.db.task(async (c) => {
    await c.one(`SELECT pg_advisory_lock(1684366953, hashtext('create-snapshots'))`);
    try {
      const rows = await jobStatuses(t.db, loadConfig({}));
      assert.equal(rows.find((r) => r.job === 'create-snapshots')!.lastStatus, 'running');
    } finally {
      await c.one(`SELECT pg_advisory_unlock(1684366953, hashtext('create-snapshots'))`);
    }
  });
});

test('list shows every job with its schedule, and SCHEDULE_<JOB> overrides it', async () => {
  const r = await runCli(['list', '--json'], cliEnv({ SCHEDULE_SYNC_POOLS: '30 4 * * *' }));
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout).jobs as { job: string; schedule: string; scheduleSource: string }[];
  assert.equal(rows.length, JOBS.length);
  assert.deepEqual(rows.find((x) => x.job === 'sync-pools'), { ...rows.find((x) => x.job === 'sync-pools'), schedule: '30 4 * * *', scheduleSource: 'environment' });
  const bad = await runCli(['list'], cliEnv({ SCHEDULE_SYNC_POOLS: 'every day' }));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /SCHEDULE_SYNC_POOLS must be a five-field cron expression/);
});
