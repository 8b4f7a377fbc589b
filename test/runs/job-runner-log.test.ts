/**
 * The log lines of runJob, read back from LOG_DIR's combined.log: what an operator's log search
 * and alerting rely on (the job and shard fields, the run id, the level of each outcome, the
 * duration, the counts, the masked error and, for errors that are not ours, the stack).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { openDatabase, type Database } from '../../src/db/connection.js';
import { CancelledError, GuardError } from '../../src/errors.js';
import type { JobContext, JobDefinition } from '../../src/jobs/types.js';
import { initLogger } from '../../src/logger.js';
import { registerSecret } from '../../src/redact.js';
import { runJob } from '../../src/runs/job-runner.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const SECRET = 'log-secret-Hv8dQ3x';
const logDir = mkdtempSync(join(tmpdir(), 'defi-sync-runner-log-'));

let t: TestDatabase;
let database: Database;

before(async () => {
  t = await createTestDatabase();
  database = openDatabase(t.url, 'job-runner-log-test');
  registerSecret(SECRET);
  initLogger({ logLevel: 'info', logDir }, false);
});
after(async () => {
  initLogger({ logLevel: 'warn', logDir: undefined }, false);
  await database?.close();
  await t?.drop();
  rmSync(logDir, { recursive: true, force: true });
});

type Line = Record<string, unknown> & { level: string; msg: string };

/** The lines logged for one job, in order. */
function linesOf(job: string): Line[] {
  return readFileSync(join(logDir, 'combined.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.job === job);
}

function testJob(name: string, run: (ctx: JobContext) => Promise<void>, instance?: string): JobDefinition {
  return { name, schedule: '0 1 * * *', priority: 'high', description: 'test job', load: async () => ({ run }), ...(instance ? { instance: () => instance } : {}) };
}

const run = (job: JobDefinition, signal = new AbortController().signal) => runJob({ job, config: loadConfig({}), db: database.db, options: {}, signal, trigger: 'schedule' });

test('a successful run logs started and succeeded with its shard, run id, duration and counts', async () => {
  const t0 = performance.now();
  const outcome = await run(
    testJob(
      'log-ok',
      async (ctx) => {
        ctx.stats.processed = 3;
        ctx.stats.created = 2;
        ctx.stats.details = { pages: 1 };
        await new Promise((r) => setTimeout(r, 30));
      },
      '1/4',
    ),
  );
  const elapsed = performance.now() - t0;
  const [started, succeeded, ...rest] = linesOf('log-ok');
  assert.deepEqual(rest, []);
  assert.deepEqual([started!.level, started!.msg, started!.instance, started!.runId, started!.trigger], ['info', 'log-ok started', '1/4', outcome.runId, 'schedule']);
  assert.deepEqual([succeeded!.level, succeeded!.msg, succeeded!.instance, succeeded!.runId], ['info', 'log-ok succeeded', '1/4', outcome.runId]);
  assert.deepEqual([succeeded!.processed, succeeded!.created, succeeded!.failed], [3, 2, 0]);
  assert.equal(succeeded!.details, undefined, 'details stay in the sync_jobs row');
  const durationMs = succeeded!.durationMs as number;
  assert.ok(durationMs >= 30 && durationMs <= elapsed + 1, `durationMs ${durationMs} within 30..${elapsed}`);
  assert.equal(outcome.durationMs, durationMs);
});

test('a run of the whole job logs no instance field', async () => {
  await run(testJob('log-whole', async () => undefined));
  const lines = linesOf('log-whole');
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => !('instance' in l)));
});

test('a failure that is not ours is logged at error level with the masked message and the masked stack', async () => {
  const t0 = performance.now();
  await assert.rejects(run(testJob('log-crash', async () => void JSON.parse(`{"${SECRET}`))));
  const elapsed = performance.now() - t0;
  const [, failed] = linesOf('log-crash');
  assert.equal(failed!.level, 'error');
  assert.match(failed!.msg, /^log-crash failed: /);
  assert.equal(failed!.msg, `log-crash failed: ${failed!.error}`);
  assert.ok(!JSON.stringify(failed).includes(SECRET));
  assert.match(String(failed!.stack), /SyntaxError[\s\S]*at /);
  const durationMs = failed!.durationMs as number;
  assert.ok(durationMs >= 0 && durationMs <= elapsed + 1, `durationMs ${durationMs} within 0..${elapsed}`);
  assert.equal(failed!.processed, 0);
});

test('a failure of ours is logged without a stack', async () => {
  await assert.rejects(run(testJob('log-guard', async () => { throw new GuardError(`refused for ${SECRET}`); })), GuardError);
  const [, failed] = linesOf('log-guard');
  assert.deepEqual([failed!.level, failed!.msg, failed!.error, 'stack' in failed!], ['error', 'log-guard failed: refused for ***', 'refused for ***', false]);
});

test('SIGTERM during a run logs the request to roll back at warn level, then the cancellation naming the signal', async () => {
  const controller = new AbortController();
  const job = testJob('log-cancel', async (ctx) => {
    ctx.stats.processed = 4;
    controller.abort(new CancelledError('received SIGTERM'));
    throw new Error('interrupted');
  });
  await assert.rejects(run(job, controller.signal), (e: unknown) => e instanceof CancelledError && e.message === 'log-cancel was cancelled by SIGTERM' && (e.cause as Error).message === 'interrupted');
  const [, requested, cancelled, ...rest] = linesOf('log-cancel');
  assert.deepEqual(rest, []);
  assert.deepEqual([requested!.level, requested!.msg], ['warn', 'cancellation requested: rolling back']);
  assert.deepEqual([cancelled!.level, cancelled!.msg, cancelled!.processed, typeof cancelled!.durationMs], ['warn', 'log-cancel cancelled: log-cancel was cancelled by SIGTERM', 4, 'number']);
});

test('an abort whose reason is not an error is named "a signal"', async () => {
  const controller = new AbortController();
  const job = testJob('log-reason', async () => {
    controller.abort('stop');
    throw new Error('interrupted');
  });
  await assert.rejects(run(job, controller.signal), (e: unknown) => e instanceof CancelledError && e.message === 'log-reason was cancelled by a signal');
});

test('a run that finds dead runs of its job logs how many it marked abandoned', async () => {
  await t.db.none(`INSERT INTO sync_jobs (job_name, status, trigger) VALUES ('log-dead', 'running', 'manual'), ('log-dead', 'running', 'manual')`);
  await run(testJob('log-dead', async () => undefined));
  const [abandoned, started] = linesOf('log-dead');
  assert.deepEqual([abandoned!.level, abandoned!.abandoned, started!.msg], ['warn', 2, 'log-dead started']);
  assert.match(abandoned!.msg, /marked abandoned/);
});
