/** How claims of several sources combine into mapping rows and their confidence (no database). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildMappings, type BuildInput, type MappingRow, type PoolOldInput } from '../../src/contracts/build-mappings.js';

const POOL_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
const A = '0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640';
const A_LOWER = A.toLowerCase();
const WETH = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2';
const USDC = '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48';

function build(partial: Partial<BuildInput> & { old?: PoolOldInput; pool?: Partial<BuildInput['pools'][number]> }): MappingRow[] {
  const pool = { poolId: POOL_ID, chain: 'Ethereum', poolMeta: null, underlyingTokens: null, rewardTokens: null, ...partial.pool };
  return buildMappings({
    pools: partial.pools ?? [pool],
    poolsOld: partial.poolsOld ?? new Map(partial.old ? [[POOL_ID, partial.old]] : []),
    protocols: partial.protocols ?? [],
    carried: partial.carried ?? [],
  }).rows;
}

const summary = (rows: MappingRow[]) =>
  rows.map((r) => [r.type, r.address, r.confidence, r.entries.map((e) => `${e.source}:${e.kind}`).join(',')]).sort();

test('pool_old and poolTokenAddress naming one address: the pool and its LP token, each confirmed twice (0.8)', () => {
  const rows = build({ old: { pool_old: `${A}-ethereum`, poolTokenAddress: A_LOWER } });
  assert.deepEqual(summary(rows), [
    ['lp_token', A_LOWER, 0.8, 'poolsOld.poolTokenAddress:reliable,poolsOld.pool_old:reliable'],
    ['pool', A_LOWER, 0.8, 'poolsOld.poolTokenAddress:reliable,poolsOld.pool_old:reliable'],
  ]);
  assert.equal(rows[0]!.chainKey, 'ethereum');
  assert.equal(rows[0]!.evmChainId, 1);
  assert.equal(rows[0]!.display, undefined, 'EVM display forms are resolved at write time');
});

test('token arrays: one reliable source each (0.6); a token listed twice in two spellings is one row', () => {
  const rows = build({ pool: { underlyingTokens: [WETH, WETH.toLowerCase(), '0x0000000000000000000000000000000000000000'], rewardTokens: [USDC, 'coingecko:usd-coin'] } });
  assert.deepEqual(summary(rows), [
    ['reward_token', USDC, 0.6, 'pools.rewardTokens:reliable'],
    ['underlying_token', WETH.toLowerCase(), 0.6, 'pools.underlyingTokens:reliable'],
  ]);
});

test('free text alone is a heuristic (0.4); confirming a stated address it adds a source (0.8)', () => {
  const alone = build({ pool: { poolMeta: `gauge ${A}` } });
  assert.deepEqual(summary(alone), [['pool', A_LOWER, 0.4, 'pools.poolMeta:heuristic']]);
  const confirming = build({ pool: { poolMeta: `gauge ${A}`, underlyingTokens: [A] } });
  assert.deepEqual(summary(confirming), [['underlying_token', A_LOWER, 0.8, 'pools.poolMeta:heuristic,pools.underlyingTokens:reliable']]);
  const url = build({ old: { pool_old: A, url: `https://app.example.fi/pool/${A}` } });
  assert.deepEqual(summary(url), [['pool', A_LOWER, 0.8, 'poolsOld.pool_old:reliable,poolsOld.url:heuristic']]);
});

test('a guess stays 0.2 unless a reliable source names the address too', () => {
  const id = `${A_LOWER}000200000000000000000014`;
  assert.deepEqual(summary(build({ old: { pool_old: id } })), [['pool', A_LOWER, 0.2, 'poolsOld.pool_old:guess']]);
  assert.deepEqual(summary(build({ old: { pool_old: id, poolTokenAddress: A } })), [
    ['lp_token', A_LOWER, 0.6, 'poolsOld.poolTokenAddress:reliable,poolsOld.pool_old:guess'],
    ['pool', A_LOWER, 0.6, 'poolsOld.poolTokenAddress:reliable,poolsOld.pool_old:guess'],
  ]);
});

test('protocol address: the protocol token on its chain; a bare 0x for a protocol not on Ethereum is a guess', () => {
  const rows = buildMappings({
    pools: [],
    poolsOld: undefined,
    protocols: [
      { id: '1', address: 'arbitrum:0x912CE59144191C1204E64559FE8253a0e49E6548', chains: ['Arbitrum'] },
      { id: '2', address: '0x7Fc66500c84A76Ad7e9c93437bFc5Ac33E2DDaE9', chains: ['BSC'] },
      { id: '3', address: 'solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', chains: ['Solana'] },
      { id: '4', address: '-', chains: ['Ethereum'] },
    ],
    carried: [],
  }).rows;
  assert.deepEqual(
    rows.map((r) => [r.protocolId, r.chain, r.chainKey, r.family, r.type, r.confidence, r.display]),
    [
      ['1', 'Arbitrum', 'arbitrum', 'evm', 'protocol_token', 0.6, undefined],
      ['2', 'Ethereum', 'ethereum', 'evm', 'protocol_token', 0.2, undefined],
      ['3', 'Solana', 'solana', 'solana', 'protocol_token', 0.6, 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v'],
    ],
  );
});

test('a token naming its own chain is mapped on that chain', () => {
  const rows = build({ pool: { underlyingTokens: ['arbitrum:0x912CE59144191C1204E64559FE8253a0e49E6548'] } });
  assert.deepEqual(rows.map((r) => [r.chain, r.chainKey, r.evmChainId]), [['Arbitrum', 'arbitrum', 42161]]);
});

test('when /poolsOld is silent about a pool, its earlier entries are carried with their display form', () => {
  const carried = [
    {
      poolId: POOL_ID,
      chain: 'Ethereum',
      chainKey: 'ethereum',
      address: A_LOWER,
      addressDisplay: A,
      family: 'evm' as const,
      type: 'pool' as const,
      entries: [
        { source: 'poolsOld.pool_old' as const, kind: 'reliable' as const, value: A },
        { source: 'pools.underlyingTokens' as const, kind: 'reliable' as const, value: A },
      ],
    },
  ];
  // Silent: no /poolsOld at all, or /poolsOld without this pool.
  for (const poolsOld of [undefined, new Map<string, PoolOldInput>()]) {
    const result = buildMappings({ pools: [{ poolId: POOL_ID, chain: 'Ethereum', poolMeta: null, underlyingTokens: [A], rewardTokens: null }], poolsOld, protocols: [], carried });
    assert.deepEqual(summary(result.rows), [
      ['pool', A_LOWER, 0.6, 'poolsOld.pool_old:reliable'],
      ['underlying_token', A_LOWER, 0.6, 'pools.underlyingTokens:reliable'],
    ]);
    assert.equal(result.rows.find((r) => r.type === 'pool')!.display, A);
    assert.equal(result.carriedEntries, 1, 'only entries of the optional source are carried; the others are read afresh');
  }
  // /poolsOld spoke about the pool (and no longer names the address): nothing is carried.
  const spoken = buildMappings({ pools: [{ poolId: POOL_ID, chain: 'Ethereum', poolMeta: null, underlyingTokens: null, rewardTokens: null }], poolsOld: new Map([[POOL_ID, { pool_old: 'something-else' }]]), protocols: [], carried });
  assert.deepEqual(spoken.rows, []);
  assert.equal(spoken.carriedEntries, 0);
});

test('rejected values are counted by source and reason; a pool without a chain is skipped', () => {
  const result = buildMappings({
    pools: [
      { poolId: POOL_ID, chain: 'Ethereum', poolMeta: null, underlyingTokens: ['0x0000000000000000000000000000000000000000', 'ETH', 'coingecko:ethereum'], rewardTokens: null },
      { poolId: 'ffffffff-bbbb-4ccc-8ddd-eeeeeeeeeeee', chain: null, poolMeta: null, underlyingTokens: [A], rewardTokens: null },
    ],
    poolsOld: undefined,
    protocols: [],
    carried: [],
  });
  assert.deepEqual(result.rejected, { 'pools.underlyingTokens': { sentinel: 1, junk: 1, 'price-id': 1 } });
  assert.equal(result.poolsWithoutChain, 1);
  assert.equal(result.poolsWithMapping, 0);
});
