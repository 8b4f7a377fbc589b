import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiPoolSchema } from '../../src/defillama/schemas.js';
import { validateRecords } from '../../src/defillama/validate.js';
import { POOLS_TABLE } from '../../src/sync/pool-rows.js';
import { rowObject } from '../../src/db/bulk-sync.js';
import { readFixture } from '../helpers/fixtures.js';

const sample = readFixture<{ data: Record<string, unknown>[] }>('pools-2-records.json').data;

test('a null inside a token list does not cost the pool: it loads, and the row keeps the addresses', () => {
  const pool = { ...sample[1], rewardTokens: [null, '0x8F08B70456eb22f6109F57b8fafE862ED28E6040'], underlyingTokens: [null] };
  const { records, rejected } = validateRecords([pool], apiPoolSchema, () => undefined);
  assert.deepEqual(rejected, []);
  const row = rowObject(POOLS_TABLE, records[0]!);
  assert.deepEqual(row.reward_tokens, ['0x8F08B70456eb22f6109F57b8fafE862ED28E6040']);
  assert.deepEqual(row.underlying_tokens, []);
});

test('a token list of the wrong type is still a malformed record', () => {
  const { rejected } = validateRecords([{ ...sample[0], rewardTokens: 'WETH' }], apiPoolSchema, () => 'x');
  assert.equal(rejected.length, 1);
  assert.match(rejected[0]!.reason, /rewardTokens/);
});
