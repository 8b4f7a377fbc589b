/** Every option rule of sync-historical, parsed in process by the CLI's own program (the child-process path is in failures.test.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Config } from '../../src/config.js';
import { historyOptions, scopeOf, type SyncHistoricalOptions } from '../../src/history/selection.js';
import { describeShard } from '../../src/history/shard.js';
import { parseArgs } from '../helpers/parse-args.js';

const config = (extra: Partial<Config> = {}) => ({ historyTopN: 2000, historyMaxFailedShare: 0.1, jobCompletionIndex: undefined, jobCompletions: undefined, ...extra }) as Config;
const UUID = '747c1d2a-c668-4682-b9f9-296708a3dd90';

async function options(...args: string[]): Promise<SyncHistoricalOptions> {
  const r = await parseArgs(['sync-historical', ...args]);
  assert.equal(r.code, 0, r.error);
  return r.options as SyncHistoricalOptions;
}

test('defaults: the top HISTORY_TOP_N of both kinds, the whole set, HISTORY_MAX_FAILED_SHARE', async () => {
  const o = historyOptions(await options(), config());
  assert.deepEqual(o.selection, { kinds: ['pool', 'protocol'], top: 2000, all: false, pool: undefined, protocol: undefined });
  assert.deepEqual([o.shard.index, o.shard.count], [0, 1]);
  assert.equal(o.maxFailedShare, 0.1);
  assert.equal(scopeOf(o), 'top=2000 kinds=pool,protocol shard=0/1');
});

test('flags pick the items, the shard and the threshold; the scope names them', async () => {
  const o = historyOptions(await options('--top', '50', '--only', 'protocols', '--shard', '1/3', '--max-failed-share', '0.25'), config({ historyTopN: 10 }));
  assert.deepEqual([o.selection.kinds, o.selection.top, describeShard(o.shard), o.maxFailedShare], [['protocol'], 50, '1/3', 0.25]);
  assert.equal(scopeOf(o), 'top=50 kinds=protocol shard=1/3');
  assert.equal(scopeOf(historyOptions(await options('--all', '--only', 'pools'), config())), 'all kinds=pool shard=0/1');
  const single = historyOptions(await options('--pool', UUID, '--protocol', 'aave-v3'), config());
  assert.deepEqual(single.selection, { kinds: ['pool', 'protocol'], top: undefined, all: false, pool: UUID, protocol: 'aave-v3' });
  assert.equal(scopeOf(single), `pool=${UUID} protocol=aave-v3 shard=0/1`);
  assert.equal(historyOptions(await options('--max-failed-share', '0'), config()).maxFailedShare, 0);
  assert.equal(JSON.stringify(await options('--shard', ' 2/4 ')), '{"shard":"2/4"}', 'sync_jobs.args records the shard as given');
});

test('bad options: exit 2 with one line naming the option, the value and the rule', async () => {
  const invalid = (option: string, value: string, rule: string) => new RegExp(`^error: option '${option}' argument '${value}' is invalid\\. ${rule}$`);
  const cases: [string[], RegExp][] = [
    [['--top', '0'], invalid('--top <n>', '0', 'It must be a whole number from 1 to 1000000\\.')],
    [['--top', 'many'], invalid('--top <n>', 'many', 'It must be a whole number from 1 to 1000000\\.')],
    [['--top', '1.5'], invalid('--top <n>', '1\\.5', 'It must be a whole number from 1 to 1000000\\.')],
    [['--all', '--top', '5'], /^error: option '--all' cannot be used with option '--top <n>'$/],
    [['--only', 'chains'], invalid('--only <kind>', 'chains', 'Allowed choices are pools, protocols\\.')],
    [['--pool', 'not-a-uuid'], invalid('--pool <id>', 'not-a-uuid', 'It must be a DeFiLlama pool id \\(a UUID\\)\\.')],
    [['--pool', UUID, '--all'], /^error: option '--pool <id>' cannot be used with option '--all'$/],
    [['--protocol', 'aave', '--only', 'pools'], /^error: option '--protocol <slug>' cannot be used with option '--only <kind>'$/],
    [['--top', '3', '--protocol', 'aave'], /^error: option '--protocol <slug>' cannot be used with option '--top <n>'$/],
    [['--protocol', 'has space'], invalid('--protocol <slug>', 'has space', 'It must be a protocol slug such as "aave-v3"\\.')],
    [['--max-failed-share', '1.5'], invalid('--max-failed-share <x>', '1\\.5', 'It must be a number between 0 and 1\\.')],
    [['--max-failed-share', 'half'], invalid('--max-failed-share <x>', 'half', 'It must be a number between 0 and 1\\.')],
    [['--max-failed-share', ''], invalid('--max-failed-share <x>', '', 'It must be a number between 0 and 1\\.')],
    [['--shard', '2/2'], invalid('--shard <i/n>', '2/2', 'It must be i/n with 1 <= n <= 1000 and 0 <= i < n .*')],
  ];
  for (const [args, message] of cases) {
    const r = await parseArgs(['sync-historical', ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.error, message, args.join(' '));
  }
});
