import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunQueue, type QueuedRun } from '../../src/scheduler/queue.js';

const run = (job: string, priority: QueuedRun['priority'], dueAt: number): QueuedRun => ({ job, priority, dueAt, reason: 'schedule' });

test('waiting runs leave by priority (immediate > high > medium > low), then by due time, then arrival', () => {
  const q = new RunQueue();
  q.enqueue(run('cleanup', 'low', 100));
  q.enqueue(run('snapshots', 'medium', 300));
  q.enqueue(run('contracts', 'medium', 200));
  q.enqueue(run('pools', 'high', 500));
  q.enqueue(run('chains', 'high', 500));
  q.enqueue(run('urgent', 'immediate', 900));
  assert.deepEqual(q.list().map((r) => r.job), ['urgent', 'pools', 'chains', 'contracts', 'snapshots', 'cleanup']);
  assert.equal(q.take()?.job, 'urgent');
  assert.equal(q.length, 5);
  assert.deepEqual(q.drain().map((r) => r.job), ['pools', 'chains', 'contracts', 'snapshots', 'cleanup']);
  assert.equal(q.length, 0);
  assert.equal(q.take(), undefined);
});

test('a job waits at most once: a second due time while it waits is not added', () => {
  const q = new RunQueue();
  assert.equal(q.enqueue(run('sync-pools', 'high', 1)), true);
  assert.equal(q.enqueue(run('sync-pools', 'high', 2)), false);
  assert.equal(q.length, 1);
  assert.equal(q.take()?.dueAt, 1, 'the earliest due time is kept');
  assert.equal(q.enqueue(run('sync-pools', 'high', 3)), true, 'once started it can wait again');
});
