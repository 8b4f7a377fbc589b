import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extractFromText } from '../../src/contracts/free-text.js';
import { parsePoolOld } from '../../src/contracts/pool-old.js';
import { parseProtocolAddress } from '../../src/contracts/protocol-address.js';
import { confidenceOf, entry, mergeEntries } from '../../src/contracts/sources.js';

const POOL = '0x88e6A0c2dDD26FEEb64F039a2c41296FcB3f5640';
const POOL_LOWER = POOL.toLowerCase();

test('pool_old: a bare address, "<address>-<chainkey>" and "<chainkey>-<address>" give the same address', () => {
  for (const raw of [POOL, `${POOL}-ethereum`, `${POOL_LOWER}-Ethereum`, `ethereum-${POOL}`, `${POOL}-arbitrum`]) {
    const r = parsePoolOld(raw, 'ethereum');
    assert.ok(r.ok, raw);
    assert.deepEqual([r.value.address, r.value.family, r.kind], [POOL_LOWER, 'evm', 'reliable'], raw);
  }
});

test('pool_old: otherwise the first 0x followed by 40+ hex digits, as DeFiLlama reads it', () => {
  const gauge = '0x1111111111111111111111111111111111111111';
  const r = parsePoolOld(`${POOL}-${gauge}-staked`, 'ethereum');
  assert.ok(r.ok);
  assert.equal(r.value.address, POOL_LOWER);
  const inText = parsePoolOld(`curve-${POOL}`, 'ethereum');
  assert.ok(inText.ok && inText.value.address === POOL_LOWER);

  // Balancer's pool id (address + 12 bytes): the first 20 bytes, as a low-confidence guess.
  const balancer = parsePoolOld('0x5c6ee304399dbdb9c8ef030ab642b10820db8f56000200000000000000000014', 'ethereum');
  assert.ok(balancer.ok);
  assert.deepEqual([balancer.value.address, balancer.kind], ['0x5c6ee304399dbdb9c8ef030ab642b10820db8f56', 'guess']);

  // On a Move chain a 32-byte hex is the object id itself.
  const sui = parsePoolOld(`0x${'cd'.repeat(32)}-sui`, 'sui');
  assert.ok(sui.ok);
  assert.deepEqual([sui.value.family, sui.value.address, sui.kind], ['move', `0x${'cd'.repeat(32)}`, 'reliable']);
});

test('pool_old: non-EVM shapes, sentinels and slugs', () => {
  const sol = parsePoolOld('8sLbNZoA1cfnvMJLPfp98ZLAnFSYCFApfJKMbiXNLwxj-solana', 'solana');
  assert.ok(sol.ok);
  assert.deepEqual([sol.value.family, sol.value.address], ['solana', '8sLbNZoA1cfnvMJLPfp98ZLAnFSYCFApfJKMbiXNLwxj']);
  const ton = parsePoolOld('EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs', 'ton');
  assert.ok(ton.ok && ton.value.family === 'ton');
  const zero = parsePoolOld('0x0000000000000000000000000000000000000000-ethereum', 'ethereum');
  assert.deepEqual(zero, { ok: false, reason: 'sentinel' });
  const slug = parsePoolOld('aave-v3-usdc-ethereum', 'ethereum');
  assert.equal(slug.ok, false);
  assert.equal(parsePoolOld('', 'ethereum').ok, false);
  assert.equal(parsePoolOld(null, 'ethereum').ok, false);
});

test('protocol address: "chainkey:address", a bare 0x on Ethereum, and guesses', () => {
  const arb = parseProtocolAddress('arbitrum:0x912CE59144191C1204E64559FE8253a0e49E6548', ['Arbitrum']);
  assert.ok(arb.ok);
  assert.deepEqual([arb.value.chainKey, arb.value.address, arb.kind], ['arbitrum', '0x912ce59144191c1204e64559fe8253a0e49e6548', 'reliable']);

  const bare = parseProtocolAddress('0x7Fc66500c84A76Ad7e9c93437bFc5Ac33E2DDaE9', ['Ethereum', 'Polygon']);
  assert.ok(bare.ok);
  assert.deepEqual([bare.value.chainKey, bare.kind], ['ethereum', 'reliable']);
  // DeFiLlama assumes Ethereum for a bare 0x address: only a guess for a protocol not on Ethereum.
  const guessed = parseProtocolAddress('0x7Fc66500c84A76Ad7e9c93437bFc5Ac33E2DDaE9', ['BSC']);
  assert.ok(guessed.ok);
  assert.equal(guessed.kind, 'guess');

  const sol = parseProtocolAddress('solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', ['Solana']);
  assert.ok(sol.ok && sol.value.family === 'solana' && sol.value.chainKey === 'solana');
  const move = parseProtocolAddress('aptos:0x1::aptos_coin::AptosCoin', ['Aptos']);
  assert.ok(move.ok && move.value.family === 'move');
  const singleChain = parseProtocolAddress('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', ['Tron']);
  assert.ok(singleChain.ok && singleChain.value.chainKey === 'tron' && singleChain.value.family === 'tron');

  assert.deepEqual(parseProtocolAddress('EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', ['Solana', 'Ethereum']), { ok: false, reason: 'unknown-chain' });
  assert.deepEqual(parseProtocolAddress('-', ['Ethereum']), { ok: false, reason: 'junk' });
  assert.deepEqual(parseProtocolAddress(null, ['Ethereum']), { ok: false, reason: 'empty' });
  assert.deepEqual(parseProtocolAddress('coingecko:aave', ['Ethereum']), { ok: false, reason: 'price-id' });
  assert.deepEqual(parseProtocolAddress('ethereum:0x0000000000000000000000000000000000000000', ['Ethereum']), { ok: false, reason: 'sentinel' });
});

test('free text: addresses of the chain family, typed by the word before them', () => {
  const text = `Factory: ${POOL}; router 0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D, pool ${POOL_LOWER}, tx 0x${'ab'.repeat(32)}`;
  const found = extractFromText(text, 'ethereum');
  assert.deepEqual(
    found.map((f) => [f.value.address, f.type]),
    [
      [POOL_LOWER, 'factory'],
      ['0x7a250d5630b4cf539739df2c5dacb4c659f2488d', 'router'],
    ],
  );
  assert.deepEqual(extractFromText('V3 market, 0.05%', 'ethereum'), []);
  assert.deepEqual(extractFromText(null, 'ethereum'), []);
  assert.deepEqual(extractFromText('https://app.uniswap.org/#/add/0x0000000000000000000000000000000000000000', 'ethereum'), [], 'sentinels are dropped');
  const sol = extractFromText('Whirlpool 8sLbNZoA1cfnvMJLPfp98ZLAnFSYCFApfJKMbiXNLwxj (concentratedliquiditypositions)', 'solana');
  assert.deepEqual(sol.map((f) => f.value.address), ['8sLbNZoA1cfnvMJLPfp98ZLAnFSYCFApfJKMbiXNLwxj']);
  const move = extractFromText('lp 0x1::aptos_coin::AptosCoin pair', 'aptos');
  assert.deepEqual(move.map((f) => f.value.family), ['move']);
  assert.deepEqual(extractFromText(`pool ${POOL}`, 'solana'), [], 'an EVM address in Solana text is not taken');
});

test('confidence: 0.6 one reliable source, 0.4 free text, 0.2 a guess, 0.8 two independent sources', () => {
  const oldEntry = entry('poolsOld.pool_old', 'reliable', POOL);
  const tokenEntry = entry('poolsOld.poolTokenAddress', 'reliable', POOL);
  const meta = entry('pools.poolMeta', 'heuristic', `pool ${POOL}`);
  const guess = entry('poolsOld.pool_old', 'guess', `${POOL}000200000000000000000014`);
  const protocolGuess = entry('protocols.address', 'guess', POOL);
  assert.equal(confidenceOf([oldEntry]), 0.6);
  assert.equal(confidenceOf([meta]), 0.4);
  assert.equal(confidenceOf([guess]), 0.2);
  assert.equal(confidenceOf([oldEntry, tokenEntry]), 0.8);
  assert.equal(confidenceOf([oldEntry, meta]), 0.8, 'free text confirming a stated address');
  assert.equal(confidenceOf([guess, protocolGuess]), 0.2, 'guesses never count as agreement');
  assert.equal(confidenceOf([guess, tokenEntry]), 0.6);
  // One entry per source, stable order, a reliable reading beats a guess of the same field.
  assert.deepEqual(mergeEntries([tokenEntry, guess, oldEntry, tokenEntry]), [tokenEntry, oldEntry]);
});
