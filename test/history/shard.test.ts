import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import type { Config } from '../../src/config.js';
import { historyInstance } from '../../src/history/selection.js';
import { inShard, parseShard, resolveShard, shardOf } from '../../src/history/shard.js';

const keys = Array.from({ length: 5000 }, (_, i) => `${i % 3 ? 'pool' : 'protocol'}:${i.toString(16)}-${i * 7919}`);

test('shards 0..n-1 together take every key exactly once, in near-equal parts', () => {
  for (const n of [1, 2, 3, 8]) {
    const taken = new Map<string, number>();
    const sizes: number[] = [];
    for (let i = 0; i < n; i++) {
      const mine = keys.filter((k) => inShard(k, { index: i, count: n }));
      sizes.push(mine.length);
      for (const k of mine) taken.set(k, (taken.get(k) ?? 0) + 1);
    }
    assert.equal(taken.size, keys.length, `n=${n}: every key is taken`);
    assert.ok([...taken.values()].every((c) => c === 1), `n=${n}: no key is taken twice`);
    for (const s of sizes) assert.ok(Math.abs(s - keys.length / n) < (keys.length / n) * 0.15, `n=${n}: shard sizes ${sizes.join(', ')}`);
  }
});

test('the split depends on the key only: the same key lands in the same shard every time', () => {
  assert.equal(shardOf('pool:747c1d2a-c668-4682-b9f9-296708a3dd90', 4), shardOf('pool:747c1d2a-c668-4682-b9f9-296708a3dd90', 4));
  assert.equal(shardOf('anything', 1), 0);
});

test('--shard is i/n numbered from 0; bad values name the flag and the rule', () => {
  assert.deepEqual(parseShard('0/4'), { index: 0, count: 4 });
  assert.deepEqual(parseShard(' 3/4 '), { index: 3, count: 4 });
  for (const bad of ['4/4', '1/0', 'x', '1', '-1/2', '1/2/3', '0/1001']) {
    assert.throws(() => parseShard(bad), (e: unknown) => e instanceof ConfigError && /--shard must be i\/n/.test((e as Error).message) && e.message.includes(JSON.stringify(bad.trim())), bad);
  }
});

test('a Kubernetes Indexed Job gives the shard through JOB_COMPLETION_INDEX and JOB_COMPLETIONS; --shard wins', () => {
  const k8s = { jobCompletionIndex: 2, jobCompletions: 3 };
  assert.deepEqual(resolveShard({}, k8s), { index: 2, count: 3 });
  assert.deepEqual(resolveShard({ shard: '0/2' }, k8s), { index: 0, count: 2 });
  assert.deepEqual(resolveShard({}, { jobCompletionIndex: undefined, jobCompletions: undefined }), { index: 0, count: 1 });
  assert.deepEqual(resolveShard({}, { jobCompletionIndex: undefined, jobCompletions: 1 }), { index: 0, count: 1 });
  assert.throws(() => resolveShard({}, { jobCompletionIndex: 1, jobCompletions: undefined }), /JOB_COMPLETION_INDEX is 1 but JOB_COMPLETIONS is not set/);
  assert.throws(() => resolveShard({}, { jobCompletionIndex: undefined, jobCompletions: 4 }), /JOB_COMPLETIONS is 4 but JOB_COMPLETION_INDEX is not set/);
  assert.throws(() => resolveShard({}, { jobCompletionIndex: 4, jobCompletions: 4 }), /JOB_COMPLETION_INDEX must be below JOB_COMPLETIONS/);
});

test('each shard runs as its own instance of the job; an unsharded run has none', () => {
  const config = (extra: Partial<Config> = {}) => ({ historyTopN: 2000, historyMaxFailedShare: 0.1, jobCompletionIndex: undefined, jobCompletions: undefined, ...extra }) as Config;
  assert.equal(historyInstance({ shard: '1/4' }, config()), 'shard-1-of-4');
  assert.equal(historyInstance({ shard: '0/1' }, config()), undefined);
  assert.equal(historyInstance({}, config()), undefined);
  assert.equal(historyInstance({}, config({ jobCompletionIndex: 0, jobCompletions: 2 })), 'shard-0-of-2');
  // Every option is checked before the run is recorded, not only the shard.
  assert.throws(() => historyInstance({ top: '0' }, config()), /--top must be a whole number/);
});
