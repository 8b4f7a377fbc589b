/** Record -> row mapping on real DeFiLlama responses, and the COPY binary data it is written as. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rowObject } from '../../src/db/bulk-sync.js';
import { apiChainSchema, apiPoolSchema, apiProtocolSchema } from '../../src/defillama/schemas.js';
import { validateRecords } from '../../src/defillama/validate.js';
import { CHAINS_TABLE, chainIdOf } from '../../src/sync/chain-rows.js';
import { splitChainTvls } from '../../src/defillama/chain-tvls.js';
import { copyBinary, jsonbText, type Column, type CopyValue } from '../../src/db/copy-binary.js';
import { POOLS_TABLE } from '../../src/sync/pool-rows.js';
import { PROTOCOLS_TABLE } from '../../src/sync/protocol-rows.js';
import { useTestDatabase } from '../helpers/db.js';
import { readFixture } from '../helpers/fixtures.js';

const sample = (name: string): unknown => readFixture(name);

const database = await useTestDatabase({ migrated: false });

test('real /pools records map to typed pool columns', () => {
  const body = sample('pools-2-records.json') as { data: unknown[] };
  const { records, rejected } = validateRecords(body.data, apiPoolSchema, () => undefined);
  assert.deepEqual(rejected, []);
  const lido = rowObject(POOLS_TABLE, records[0]!);
  assert.equal(lido.pool_id, '747c1d2a-c668-4682-b9f9-296708a3dd90');
  assert.equal(lido.chain, 'Ethereum');
  assert.equal(lido.project, 'lido');
  assert.equal(lido.symbol, 'STETH');
  assert.equal(lido.tvl_usd, 25583811736);
  assert.equal(lido.apy, 2.722);
  assert.equal(lido.apy_reward, null);
  assert.equal(lido.apy_mean_30d, 3.21431);
  assert.equal(lido.stablecoin, false);
  assert.equal(lido.il_risk, 'no');
  assert.equal(lido.exposure, 'single');
  assert.equal(lido.pool_meta, null);
  assert.equal(lido.reward_tokens, null);
  assert.deepEqual(lido.underlying_tokens, ['0x0000000000000000000000000000000000000000']);
  assert.deepEqual(lido.predictions, { predictedClass: 'Stable/Up', predictedProbability: 75, binnedConfidence: 3 });
  assert.equal(lido.count, 996);
  assert.equal(lido.outlier, false);
  assert.equal(lido.raw, records[0]);
  const weeth = rowObject(POOLS_TABLE, records[1]!);
  assert.deepEqual(weeth.reward_tokens, ['0x8F08B70456eb22f6109F57b8fafE862ED28E6040']);
  assert.equal(weeth.apy_base_7d, 2.84167);
});

test('a real /v2/chains response maps to chain rows with keys and EVM chain ids (number, numeric string, 0, null)', () => {
  const { records, rejected } = validateRecords(sample('v2-chains-2022-09.json') as unknown[], apiChainSchema, () => undefined);
  assert.deepEqual(rejected, []);
  const rows = new Map(records.map((r) => [r.name, rowObject(CHAINS_TABLE, r)]));
  assert.deepEqual(
    { ...rows.get('BSC'), raw: undefined },
    { name: 'BSC', chain_key: 'bsc', chain_id: 56, gecko_id: 'binancecoin', token_symbol: 'BNB', cmc_id: '1839', tvl: 6485387194.818199, raw: undefined },
  );
  assert.equal(rows.get('Avalanche')!.chain_key, 'avax');
  assert.equal(rows.get('xDai')!.chain_key, 'xdai');
  assert.equal(rows.get('Evmos')!.chain_id, 9001, 'chainId "9001" (a string) is read as a number');
  assert.equal(rows.get('Palm')!.chain_id, 11297108109, 'ids beyond int4 are kept (bigint)');
  assert.equal(rows.get('Arbitrum')!.gecko_id, null);
  // Kardia answers chainId 0: not an id, so the reference's id for its key (24) is used.
  assert.equal(rows.get('Kardia')!.chain_id, 24);
  assert.equal(chainIdOf({ name: 'No Such Chain', chainId: 0 }), null);
  assert.equal(chainIdOf({ name: 'No Such Chain', chainId: '77' }), 77);
  assert.equal(chainIdOf({ name: 'Solana', chainId: null }), null);
  assert.equal(rows.get('Solana')!.chain_key, 'solana');
  for (const row of rows.values()) assert.ok(row.chain_key, `chain key of ${String(row.name)}`);
});

test('a real protocol maps to protocol columns; listedAt in unix seconds becomes a time', () => {
  // /protocol/peppercoin: the same metadata as its /protocols entry; its currentChainTvls has the
  // shape of a /protocols entry's chainTvls.
  const body = sample('protocol-peppercoin.json') as Record<string, unknown>;
  const entry = { ...body, slug: 'peppercoin', tvl: 0, chainTvls: body.currentChainTvls };
  const { records, rejected } = validateRecords([entry], apiProtocolSchema, () => undefined);
  assert.deepEqual(rejected, []);
  const row = rowObject(PROTOCOLS_TABLE, records[0]!);
  assert.equal(row.id, '5800');
  assert.equal(row.slug, 'peppercoin');
  assert.equal(row.name, 'Peppercoin');
  assert.equal(row.symbol, 'PEPPER');
  assert.equal(row.category, 'Governance Incentives');
  assert.equal(row.chain, 'Chiliz');
  assert.deepEqual(row.chains, ['Chiliz']);
  assert.equal(row.address, 'chiliz:0x60F397acBCfB8f4e3234C659A3E10867e6fA6b67');
  assert.equal(row.gecko_id, 'pepper');
  assert.equal(row.cmc_id, '33603');
  assert.equal(row.mcap, 0);
  assert.deepEqual(row.listed_at, new Date('2025-02-17T17:20:59.000Z'));
  assert.deepEqual(row.chain_tvls, { Chiliz: 0 });
  assert.deepEqual(row.section_tvls, { staking: { Chiliz: 1742574.37318, total: 1742574.37318 } });
  const noToken = rowObject(PROTOCOLS_TABLE, { ...records[0]!, symbol: '-', chains: undefined, listedAt: undefined });
  assert.equal(noToken.symbol, null);
  assert.deepEqual(noToken.chains, []);
  assert.equal(noToken.listed_at, null);
});

test('chainTvls: sections split off only by the known suffixes; labels with spaces and dashes stay chains', () => {
  const { chainTvls, sectionTvls } = splitChainTvls({
    Ethereum: 100,
    'Ethereum-staking': 5,
    'Ethereum-borrowed': 7,
    'Ethereum-pool2': 1,
    'Ethereum-vesting': 2,
    'Ethereum-treasury': 3,
    'Ethereum-offers': 4,
    'zkSync Era': 9,
    'zkSync Era-staking': 8,
    'Hyperliquid L1': 11,
    'terra-classic': 6,
    'terra-classic-borrowed': 0.5,
    staking: 13,
    pool2: 1,
    borrowed: 7.5,
    vesting: 2,
    treasury: 3,
    offers: 4,
    'Ethereum-masterchef': 10,
    Broken: null,
  });
  assert.deepEqual(chainTvls, { Ethereum: 100, 'zkSync Era': 9, 'Hyperliquid L1': 11, 'terra-classic': 6, 'Ethereum-masterchef': 10 });
  assert.deepEqual(sectionTvls, {
    staking: { Ethereum: 5, 'zkSync Era': 8, total: 13 },
    borrowed: { Ethereum: 7, 'terra-classic': 0.5, total: 7.5 },
    pool2: { Ethereum: 1, total: 1 },
    vesting: { Ethereum: 2, total: 2 },
    treasury: { Ethereum: 3, total: 3 },
    offers: { Ethereum: 4, total: 4 },
  });
});

test('COPY binary round-trips awkward values through PostgreSQL unchanged', async () => {
  const columns: Column[] = [
    { name: 't', type: 'text' },
    { name: 'f', type: 'float8' },
    { name: 'i', type: 'int8' },
    { name: 'b', type: 'bool' },
    { name: 'a', type: 'text[]' },
    { name: 'j', type: 'jsonb' },
    { name: 'ts', type: 'timestamptz' },
    { name: 'n', type: 'int4' },
    { name: 'pre', type: 'json' },
  ];
  const long = 'x'.repeat(700_000);
  const rows: CopyValue[][] = [
    ['tab\there, newline\nthere, cr\r, back\\slash, \\N, "quotes", {braces}, NULL', 1e-300, 11297108109, true, ['a,b', 'c"d', 'e\\f', 'NULL', '', '{x}', ' sp '], { k: 'v\t\n\\"', n: 1.5, deep: [null, true] }, new Date('2025-02-17T17:20:59.123Z'), -2147483648, '{"k":[1,"\\u00e9"]}'],
    [null, -0.5, null, false, [], { u: 'é ✓ 𝔘', z: 'nul\u0000byte', s: 'lone\ud800surrogate' }, new Date('1969-07-20T20:17:40Z'), null, null],
    ['ünïcödé ✓ 𝔘 emoji 🚀', 25583811736, 0, null, null, null, null, 2147483647, null],
    ['nul\u0000in text', Number.MAX_VALUE, -1, null, ['x', null, 'n\u0000ul', 'é𝔘'], [1, 'two'] as unknown as CopyValue, null, 0, null],
    // Longer than one buffer: rows before and after it span buffer boundaries.
    [long, -Infinity, Number.MAX_SAFE_INTEGER, true, [long], { long }, null, null, null],
  ];
  // Many ordinary rows too, so buffer boundaries fall between and inside rows of every kind of value (three-byte text is the tightest).
  const many = Array.from({ length: 20_000 }, (_, i): CopyValue[] => [`row ${i} ${'✓'.repeat(i % 40)}`, i / 3, i * 1e6, i % 2 === 0, [`a${i}`, null], { i }, new Date(i * 1e6), i, `{"i":${i}}`]);
  const buffers = [...copyBinary(columns, [...rows, ...many], (r) => r)];
  assert.ok(buffers.length > 6, `${buffers.length} buffers`);
  assert.throws(() => [...copyBinary([{ name: 'f', type: 'float8' }], [['1.5']], (r) => r)], /COPY column f \(float8\) was given 1\.5/);
  assert.throws(() => [...copyBinary([{ name: 'n', type: 'int4' }], [[1.5]], (r) => r)], /COPY column n \(int4\) was given 1\.5/);
  assert.throws(() => [...copyBinary([{ name: 'i', type: 'int8' }], [[NaN]], (r) => r)], /COPY column i \(int8\) was given NaN/);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query('CREATE TABLE copy_check (t text, f float8, i int8, b bool, a text[], j jsonb, ts timestamptz, n int4, pre jsonb)');
    await pipeline(Readable.from(buffers), client.query(copyStreams.from('COPY copy_check FROM STDIN (FORMAT binary)')));
    const check = await client.query(`SELECT count(*)::int AS n, count(*) FILTER (WHERE b = (n % 2 = 0))::int AS b,
      bool_and(f = n::float8 / 3 AND i = n * 1000000::bigint AND a = ARRAY['a' || n, NULL] AND (j ->> 'i')::int = n
        AND (pre ->> 'i')::int = n AND t = 'row ' || n || ' ' || repeat('✓', n % 40) AND ts = to_timestamp(n * 1000)) AS rows_intact
      FROM copy_check WHERE t LIKE 'row %'`);
    assert.deepEqual(check.rows[0], { n: 20_000, b: 20_000, rows_intact: true });
    const back = await client.query(`SELECT t, f, i::text AS i, b, a, j, ts, n, pre FROM copy_check WHERE t IS NULL OR t NOT LIKE 'row %'`);
    assert.equal(back.rows.length, 5);
    const [r0, r1, r2, r3, r4] = back.rows as Record<string, unknown>[];
    assert.equal(r0!.t, rows[0]![0]);
    assert.equal(r0!.f, 1e-300);
    assert.equal(r0!.i, '11297108109');
    assert.equal(r0!.b, true);
    assert.deepEqual(r0!.a, rows[0]![4]);
    assert.deepEqual(r0!.j, rows[0]![5]);
    assert.deepEqual(r0!.ts, rows[0]![6]);
    assert.equal(r0!.n, -2147483648);
    assert.deepEqual(r0!.pre, { k: [1, 'é'] });
    assert.equal(r1!.t, null);
    assert.equal(r1!.f, -0.5);
    assert.equal(r1!.b, false);
    assert.deepEqual(r1!.a, []);
    // jsonb cannot hold U+0000 or a lone surrogate: they become U+FFFD instead of failing the load.
    assert.deepEqual(r1!.j, { u: 'é ✓ 𝔘', z: 'nul\ufffdbyte', s: 'lone\ufffdsurrogate' });
    assert.deepEqual(r1!.ts, rows[1]![6]);
    assert.equal(r1!.n, null);
    assert.equal(r2!.t, 'ünïcödé ✓ 𝔘 emoji 🚀');
    assert.equal(r2!.f, 25583811736);
    assert.equal(r2!.i, '0');
    assert.equal(r2!.a, null);
    assert.equal(r2!.j, null);
    assert.equal(r2!.n, 2147483647);
    // text cannot hold U+0000 either: it is dropped, in arrays too.
    assert.equal(r3!.t, 'nulin text');
    assert.equal(r3!.f, Number.MAX_VALUE);
    assert.deepEqual(r3!.a, ['x', null, 'nul', 'é𝔘']);
    assert.deepEqual(r3!.j, [1, 'two']);
    assert.equal(r4!.t, long);
    assert.equal(r4!.f, -Infinity);
    assert.equal(r4!.i, String(Number.MAX_SAFE_INTEGER));
    assert.deepEqual(r4!.a, [long]);
    assert.deepEqual(r4!.j, { long });
  } finally {
    await client.end();
  }
});

test('COPY binary rows split across buffers anywhere, fixed-width values included', async () => {
  // Three-byte text fills its reserved room exactly, so the fixed-width values after it meet each buffer's end.
  const columns: Column[] = [{ name: 't', type: 'text' }, ...Array.from({ length: 30 }, (_, k): Column => ({ name: `f${k}`, type: 'float8' }))];
  const rows = Array.from({ length: 5_000 }, (_, i): CopyValue[] => ['✓'.repeat(i % 97), ...Array.from({ length: 30 }, (_, k) => i + k / 7)]);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE copy_split (${columns.map((c) => `${c.name} ${c.type}`).join(', ')})`);
    await pipeline(Readable.from(copyBinary(columns, rows, (r) => r)), client.query(copyStreams.from('COPY copy_split FROM STDIN (FORMAT binary)')));
    const back = await client.query(`SELECT count(*)::int AS n, bool_and(char_length(t) = f0::int % 97 AND f29 = f0 + 29::float8 / 7) AS intact FROM copy_split`);
    assert.deepEqual(back.rows[0], { n: 5_000, intact: true });
  } finally {
    await client.end();
  }
});

test('jsonbText leaves escaped backslashes and surrogate pairs alone', () => {
  assert.equal(jsonbText({ a: '\\u0000' }), '{"a":"\\\\u0000"}');
  assert.equal(JSON.parse(jsonbText({ a: '𝔘' })).a, '𝔘');
  assert.equal(JSON.parse(jsonbText({ a: '\ud835\udd18' })).a, '𝔘');
  assert.equal(JSON.parse(jsonbText({ a: 'x\udd18y' })).a, 'x\ufffdy');
});
