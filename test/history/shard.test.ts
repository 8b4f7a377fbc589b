import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config } from '../../src/config.js';
import { historyInstance } from '../../src/history/selection.js';
import { describeShard, inShard, parseShard, resolveShard, shardOf, type Shard } from '../../src/history/shard.js';

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

test('--shard is i/n numbered from 0; a bad value is refused with the rule', () => {
  const shard = (raw: string) => {
    const parsed = parseShard(raw);
    return parsed.ok ? describeShard(parsed.value) : parsed.expected;
  };
  assert.equal(shard('0/4'), '0/4');
  assert.equal(shard(' 3/4 '), '3/4');
  for (const bad of ['4/4', '1/0', 'x', '1', '-1/2', '1/2/3', '0/1001']) assert.match(shard(bad), /^i\/n with 1 <= n <= 1000 and 0 <= i < n/, bad);
});

test('a Kubernetes Indexed Job gives the shard through JOB_COMPLETION_INDEX and JOB_COMPLETIONS; --shard wins', () => {
  const k8s = { jobCompletionIndex: 2, jobCompletions: 3 };
  const resolved = (given: Shard | undefined, config: Pick<Config, 'jobCompletionIndex' | 'jobCompletions'>) => describeShard(resolveShard(given, config));
  assert.equal(resolved(undefined, k8s), '2/3');
  assert.equal(resolved({ index: 0, count: 2 }, k8s), '0/2');
  assert.equal(resolved(undefined, { jobCompletionIndex: undefined, jobCompletions: undefined }), '0/1');
  assert.equal(resolved(undefined, { jobCompletionIndex: undefined, jobCompletions: 1 }), '0/1');
  assert.throws(() => resolveShard(undefined, { jobCompletionIndex: 1, jobCompletions: undefined }), /JOB_COMPLETION_INDEX is 1 but JOB_COMPLETIONS is not set/);
  assert.throws(() => resolveShard(undefined, { jobCompletionIndex: undefined, jobCompletions: 4 }), /JOB_COMPLETIONS is 4 but JOB_COMPLETION_INDEX is not set/);
  assert.throws(() => resolveShard(undefined, { jobCompletionIndex: 4, jobCompletions: 4 }), /JOB_COMPLETION_INDEX must be below JOB_COMPLETIONS/);
});

test('each shard runs as its own instance of the job; an unsharded run has none', () => {
  const config = (extra: Partial<Config> = {}) => ({ historyTopN: 2000, historyMaxFailedShare: 0.1, jobCompletionIndex: undefined, jobCompletions: undefined, ...extra }) as Config;
  assert.equal(historyInstance({ shard: { index: 1, count: 4 } }, config()), 'shard-1-of-4');
  assert.equal(historyInstance({ shard: { index: 0, count: 1 } }, config()), undefined);
  assert.equal(historyInstance({}, config()), undefined);
  assert.equal(historyInstance({}, config({ jobCompletionIndex: 0, jobCompletions: 2 })), 'shard-0-of-2');
  // Settings are checked before the run is recorded too.
  assert.throws(() => historyInstance({}, config({ jobCompletionIndex: 1 })), /JOB_COMPLETION_INDEX is 1 but JOB_COMPLETIONS is not set/);
});
