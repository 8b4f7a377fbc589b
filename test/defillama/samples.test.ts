/**
 * Every real API response in test/fixtures/defillama/ parses with zero rejected records,
 * directly through the schemas and end to end through the client (served by the replica's
 * --data-dir replay).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { z } from 'zod';
import { loadConfig } from '../../src/config.js';
import { createDefiLlamaClient } from '../../src/defillama/client.js';
import { RequestSpacer } from '../../src/defillama/rate-limiter.js';
import { apiChainSchema, apiChartPointSchema, apiPoolSchema, apiProtocolDetailSchema } from '../../src/defillama/schemas.js';
import { validateRecords } from '../../src/defillama/validate.js';
import { emptyStats } from '../../src/runs/stats.js';
import { fixturePath, readFixture } from '../helpers/fixtures.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

const read = (name: string): unknown => readFixture(name);
const key = () => undefined;

test('pools-2-records.json: both real pools are valid', () => {
  const body = read('pools-2-records.json') as { status: string; data: unknown[] };
  const r = validateRecords(body.data, apiPoolSchema, key);
  assert.deepEqual(r.rejected, []);
  assert.equal(r.records.length, 2);
  assert.equal(r.records[0]!.pool, '747c1d2a-c668-4682-b9f9-296708a3dd90');
  assert.equal(r.records[0]!.rewardTokens, null);
  assert.deepEqual(r.records[1]!.rewardTokens, ['0x8F08B70456eb22f6109F57b8fafE862ED28E6040']);
  assert.equal(r.records[0]!.predictions?.predictedClass, 'Stable/Up');
});

test('chart-10-points.json: ten real points are valid', () => {
  const body = read('chart-10-points.json') as { status: string; data: unknown[] };
  const r = validateRecords(body.data, apiChartPointSchema, key);
  assert.deepEqual(r.rejected, []);
  assert.equal(r.records.length, 10);
});

test('protocol-peppercoin.json: the real protocol body is valid, sections and all', () => {
  const r = apiProtocolDetailSchema.safeParse(read('protocol-peppercoin.json'));
  assert.ok(r.success, r.success ? '' : JSON.stringify(r.error.issues));
  assert.equal(r.data.id, '5800');
  assert.equal(r.data.audits, '0');
  assert.deepEqual(Object.keys(r.data.chainTvls ?? {}).sort(), ['Chiliz', 'Chiliz-staking', 'staking']);
  assert.equal(r.data.tvl?.length, 3);
  assert.equal(r.data.currentChainTvls?.staking, 1742574.37318);
});

test('v2-chains-2022-09.json: all 140 real chains are valid, "9001" and 0 chain ids included', () => {
  const r = validateRecords(read('v2-chains-2022-09.json') as unknown[], apiChainSchema, key);
  assert.deepEqual(r.rejected, []);
  assert.equal(r.records.length, 140);
  assert.ok(r.records.some((c) => c.chainId === '9001'));
  assert.ok(r.records.some((c) => c.chainId === 0));
});

let dir: string;
let replica: TestReplica;
before(async () => {
  // The samples laid out as a --data-dir recording.
  dir = mkdtempSync(join(tmpdir(), 'defi-sync-samples-'));
  mkdirSync(join(dir, 'v2'));
  mkdirSync(join(dir, 'protocol'));
  mkdirSync(join(dir, 'chart'));
  cpSync(fixturePath('pools-2-records.json'), join(dir, 'pools.json'));
  cpSync(fixturePath('v2-chains-2022-09.json'), join(dir, 'v2', 'chains.json'));
  cpSync(fixturePath('protocol-peppercoin.json'), join(dir, 'protocol', 'peppercoin.json'));
  cpSync(fixturePath('chart-10-points.json'), join(dir, 'chart', '747c1d2a-c668-4682-b9f9-296708a3dd90.json'));
  replica = await startTestReplica({ dataDir: dir });
});
after(async () => {
  await replica.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the client reads every sample, replayed by the replica, with zero rejected records', async () => {
  const config = loadConfig(replica.env());
  const client = createDefiLlamaClient(config, { stats: emptyStats(), log: pino({ level: 'silent' }), spacer: new RequestSpacer() });
  const pools = await client.pools();
  assert.deepEqual(pools.rejected, []);
  assert.equal(pools.records.length, 2);
  const chains = await client.chains();
  assert.deepEqual(chains.rejected, []);
  assert.equal(chains.records.length, 140);
  const chart = await client.poolChart('747c1d2a-c668-4682-b9f9-296708a3dd90');
  assert.deepEqual(chart.rejected, []);
  assert.equal(chart.records.length, 10);
  const detail = await client.protocol('peppercoin');
  assert.equal(detail.name, 'Peppercoin');
});

test('KEPT_AS_PARSED holds only schemas that cannot change a value: no transform, default or stripping', async () => {
  const schemas = await import('../../src/defillama/schemas.js');
  const all = Object.entries(schemas).filter(([, v]) => v instanceof z.ZodType) as [string, z.ZodType][];
  const unchanging = (schema: z.ZodType): boolean => {
    try {
      // Transforms cannot be written as JSON Schema (toJSONSchema throws); a default or a stripping
      // object makes what a schema accepts differ from what it gives.
      return JSON.stringify(z.toJSONSchema(schema, { io: 'input' })) === JSON.stringify(z.toJSONSchema(schema, { io: 'output' }));
    } catch {
      return false;
    }
  };
  for (const [name, schema] of all) {
    if (schemas.KEPT_AS_PARSED.has(schema)) assert.ok(unchanging(schema), `${name} is in KEPT_AS_PARSED but may change a value`);
  }
  assert.deepEqual(all.filter(([, s]) => schemas.KEPT_AS_PARSED.has(s)).map(([n]) => n).sort(), ['apiChartPointSchema', 'apiPoolSchema']);
  assert.equal(unchanging(schemas.apiPoolOldSchema), false, '/poolsOld keeps only the fields map-contracts reads');
  assert.equal(unchanging(schemas.apiProtocolSchema), false, 'ids are normalised to strings');
  assert.equal(unchanging(z.looseObject({ name: z.string().default('x') })), false);
  assert.equal(unchanging(z.object({ name: z.string() })), false);
  // On real records too: what the schema gives is what it was given.
  for (const record of (read('pools-2-records.json') as { data: unknown[] }).data) assert.deepEqual(apiPoolSchema.parse(record), record);
});

test('records of the schemas in KEPT_AS_PARSED are kept as parsed (no second copy); others are zod output', async () => {
  const { apiPoolOldSchema, apiProtocolSchema } = await import('../../src/defillama/schemas.js');
  const body = read('pools-2-records.json') as { data: unknown[] };
  const r = validateRecords(body.data, apiPoolSchema, key);
  assert.equal(r.records[0], body.data[0]);
  const protocols = validateRecords([{ id: 182, name: 'Lido', slug: 'lido', cmcId: 8000 }], apiProtocolSchema, key);
  assert.equal(protocols.records[0]!.id, '182');
  assert.equal(protocols.records[0]!.cmcId, '8000');
  // A /poolsOld record is a /pools record plus pool_old, poolTokenAddress and url.
  const old = { ...(body.data[0] as Record<string, unknown>), pool_old: '0xabc-ethereum', poolTokenAddress: null, url: 'https://example.org', tvlUsd: 'a lot' };
  const poolsOld = validateRecords([old], apiPoolOldSchema, key);
  assert.equal(poolsOld.rejected.length, 0, 'a field nothing reads does not reject the record');
  assert.deepEqual(Object.keys(poolsOld.records[0]!).sort(), ['pool', 'poolTokenAddress', 'pool_old', 'url']);
});
