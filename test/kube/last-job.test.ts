/** `status --kubernetes`: which Job is a CronJob's last one, and its state. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1CronJob, V1Job } from '@kubernetes/client-node';
import { jobState, lastJobOf } from '../../src/kube/cronjob-status.js';

const cronJob: V1CronJob = { metadata: { name: 'r-defi-sync-sync-pools', uid: 'cj-1' } };

function job(name: string, created: string, status: V1Job['status'] = {}, ownerUid = 'cj-1'): V1Job {
  return {
    metadata: { name, creationTimestamp: new Date(created), ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'x', uid: ownerUid }] },
    status,
  };
}

test('the newest Job owned by the CronJob is its last one, scheduled or manual', () => {
  const jobs = [
    job('r-defi-sync-sync-pools-29000000', '2026-01-01T03:00:00Z', { conditions: [{ type: 'Complete', status: 'True' }], completionTime: new Date('2026-01-01T03:01:00Z') }),
    job('r-defi-sync-sync-pools-manual-abc', '2026-01-02T10:00:00Z', { conditions: [{ type: 'Failed', status: 'True', lastTransitionTime: new Date('2026-01-02T10:00:30Z') }] }),
    job('other-release-job', '2026-01-03T00:00:00Z', {}, 'cj-2'),
  ];
  assert.deepEqual(lastJobOf(cronJob, jobs), {
    name: 'r-defi-sync-sync-pools-manual-abc',
    state: 'failed',
    createdAt: '2026-01-02T10:00:00.000Z',
    finishedAt: '2026-01-02T10:00:30.000Z',
  });
  assert.equal(lastJobOf(cronJob, [jobs[2]!]), null);
});

test('a Job is succeeded, failed, running while a pod is active, and pending before', () => {
  assert.equal(jobState(job('a', '2026-01-01T00:00:00Z', { conditions: [{ type: 'Complete', status: 'True' }] })), 'succeeded');
  assert.equal(jobState(job('a', '2026-01-01T00:00:00Z', { conditions: [{ type: 'Failed', status: 'True' }] })), 'failed');
  // A condition that is not (yet) true decides nothing.
  assert.equal(jobState(job('a', '2026-01-01T00:00:00Z', { active: 1, conditions: [{ type: 'Failed', status: 'False' }] })), 'running');
  assert.equal(jobState(job('a', '2026-01-01T00:00:00Z', {})), 'pending');
});
