/**
 * SIGTERM's cancellation, in-process with a real PostgreSQL: a run cancels exactly the statements
 * of its own connections, all of them, until its work has rolled back. The run below is named
 * as a container's would be (`defi-sync:<job>:1`), and so is another client.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/connection.js';
import { CancelledError } from '../../src/errors.js';
import type { JobDefinition, JobContext } from '../../src/jobs/types.js';
import { runJob } from '../../src/runs/job-runner.js';
import { waitFor } from '../helpers/wait.js';
import { useTestDatabase } from '../helpers/db.js';

const JOB = 'sync-chains';
const SHARED_NAME = `defi-sync:${JOB}:1`;

const t = await useTestDatabase();
let database: Database;

before(async () => {
  database = openDatabase(t.url, SHARED_NAME);
});
after(async () => {
  await database?.close();
});

async function client(applicationName: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: t.url, application_name: applicationName });
  await c.connect();
  return c;
}

/** Whether a backend is waiting on a lock or running a given statement. */
const activity = (where: string, params: unknown[]) => t.db.oneOrNone(`SELECT pid, state, wait_event_type, query FROM pg_stat_activity WHERE ${where}`, params);

test('SIGTERM cancels only this process\'s statements, and one that starts after the first cancel too; the run ends cancelled', async () => {
  // Another client that happens to carry the same application_name, as every pod's PID 1 does.
  const other = await client(SHARED_NAME);
  const otherSleep = other.query('SELECT pg_sleep(60) AS slept');
  let otherSettled = false;
  otherSleep.then(() => (otherSettled = true), () => (otherSettled = true));
  // A lock that stands for a running sync: every statement of the run waits behind it.
  const holder = await client('lock-holder');
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE chains, protocols IN ACCESS EXCLUSIVE MODE');

  const steps: string[] = [];
  const job: JobDefinition = {
    name: JOB, schedule: '0 1 * * *', priority: 'high', description: 'test job',
    load: async () => ({
      async run(ctx: JobContext) {
        try {
          await ctx.db.tx(async (tx) => {
            steps.push('first');
            await tx.none('CREATE TABLE cancel_probe (x integer)');
            await tx.none('LOCK TABLE chains IN SHARE MODE');
          });
        } catch (error) {
          steps.push(`first failed: ${(error as Error).message}`);
          // Work that starts after the first cancel, on another connection (a queued lock).
          await ctx.db.tx(async (tx) => {
            steps.push('second');
            await tx.none('SELECT count(*) FROM protocols');
          });
        }
      },
    }),
  };

  const controller = new AbortController();
  const run = runJob({ job, config: loadConfig({}), db: database.db, options: {}, signal: controller.signal });
  const outcome = run.then(() => 'succeeded', (e: unknown) => e);
  try {
    await waitFor('the run waits on the lock', async () => Boolean(await activity(`query LIKE 'LOCK TABLE chains%' AND wait_event_type = 'Lock'`, [])));
    await waitFor('the other client sleeps', async () => Boolean(await activity(`application_name = $1 AND query LIKE '%pg_sleep%' AND state = 'active'`, [SHARED_NAME])));
    controller.abort(new CancelledError('received SIGTERM'));

    // Bounded, so a surviving statement fails the test rather than hanging it.
    const error = await Promise.race([outcome, new Promise((r) => setTimeout(() => r('still running'), 8_000))]);
    assert.ok(error instanceof CancelledError, `the run ended cancelled, not ${String(error)} (steps: ${steps.join('; ')})`);
    assert.equal(steps[0], 'first');
    assert.match(steps[1]!, /canceling statement due to user request/);
    assert.equal(steps[2], 'second', 'the second statement started after the first cancel');
    const row = await t.db.one(`SELECT status, error_message FROM sync_jobs WHERE job_name = $1 ORDER BY id DESC LIMIT 1`, [JOB]);
    assert.equal(row.status, 'cancelled');
    assert.equal(row.error_message, `${JOB} was cancelled by SIGTERM`, 'the signal is named, without "received"');
    assert.equal((await t.db.one(`SELECT to_regclass('cancel_probe') AS t`)).t, null, 'the work rolled back');

    assert.equal(otherSettled, false, "the other client's statement was left alone");
    assert.ok(await activity(`application_name = $1 AND query LIKE '%pg_sleep%' AND state = 'active'`, [SHARED_NAME]), 'it is still running');
  } finally {
    await holder.query('ROLLBACK');
    await holder.end();
    await t.db.any(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE '%pg_sleep%'`, [SHARED_NAME]);
    await otherSleep.catch(() => undefined);
    await other.end();
    await outcome;
  }
});
