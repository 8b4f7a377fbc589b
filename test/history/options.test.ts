/** Every option rule of sync-historical, in process (the CLI path is in failures.test.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { parseHistoryOptions, scopeOf } from '../../src/history/selection.js';

const config = (extra: Partial<Config> = {}) => ({ historyTopN: 2000, historyMaxFailedShare: 0.1, jobCompletionIndex: undefined, jobCompletions: undefined, ...extra }) as Config;
const UUID = '747c1d2a-c668-4682-b9f9-296708a3dd90';

test('defaults: the top HISTORY_TOP_N of both kinds, the whole set, HISTORY_MAX_FAILED_SHARE', () => {
  const o = parseHistoryOptions({}, config());
  assert.deepEqual(o.selection, { kinds: ['pool', 'protocol'], top: 2000, all: false, pool: undefined, protocol: undefined });
  assert.deepEqual(o.shard, { index: 0, count: 1 });
  assert.equal(o.maxFailedShare, 0.1);
  assert.equal(scopeOf(o), 'top=2000 kinds=pool,protocol shard=0/1');
});

test('flags pick the items, the shard and the threshold; the scope names them', () => {
  const o = parseHistoryOptions({ top: '50', only: 'protocols', shard: '1/3', maxFailedShare: '0.25' }, config({ historyTopN: 10 }));
  assert.deepEqual([o.selection.kinds, o.selection.top, o.shard, o.maxFailedShare], [['protocol'], 50, { index: 1, count: 3 }, 0.25]);
  assert.equal(scopeOf(o), 'top=50 kinds=protocol shard=1/3');
  assert.equal(scopeOf(parseHistoryOptions({ all: true, only: 'pools' }, config())), 'all kinds=pool shard=0/1');
  const single = parseHistoryOptions({ pool: UUID, protocol: 'aave-v3' }, config());
  assert.deepEqual(single.selection, { kinds: ['pool', 'protocol'], top: undefined, all: false, pool: UUID, protocol: 'aave-v3' });
  assert.equal(scopeOf(single), `pool=${UUID} protocol=aave-v3 shard=0/1`);
  assert.equal(parseHistoryOptions({ maxFailedShare: '0' }, config()).maxFailedShare, 0);
});

test('bad options: ConfigError with one sentence naming the flag and the value', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ top: '0' }, /^--top must be a whole number from 1 to 1000000, got "0"$/],
    [{ top: 'many' }, /^--top must be a whole number from 1 to 1000000, got "many"$/],
    [{ top: '1.5' }, /^--top must be a whole number/],
    [{ all: true, top: '5' }, /^--all and --top cannot be combined/],
    [{ only: 'chains' }, /^--only must be "pools" or "protocols", got "chains"$/],
    [{ pool: 'not-a-uuid' }, /^--pool must be a DeFiLlama pool id \(a UUID\), got "not-a-uuid"$/],
    [{ pool: UUID, all: true }, /^--pool and --protocol pick single items and cannot be combined with --all, --top or --only$/],
    [{ protocol: 'aave', only: 'pools' }, /^--pool and --protocol pick single items/],
    [{ protocol: 'has space' }, /^--protocol must be a protocol slug/],
    [{ maxFailedShare: '1.5' }, /^--max-failed-share must be a number from 0 to 1 \(a share of the items\), got "1.5"$/],
    [{ maxFailedShare: 'half' }, /^--max-failed-share must be a number from 0 to 1/],
    [{ maxFailedShare: '' }, /^--max-failed-share must be a number from 0 to 1/],
    [{ shard: '2/2' }, /^--shard must be i\/n/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => parseHistoryOptions(options, config()), (e: unknown) => e instanceof ConfigError && message.test(e.message), JSON.stringify(options));
  }
});
