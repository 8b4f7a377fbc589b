import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyAddress } from '../../src/contracts/address.js';
import { chainFamily } from '../../src/contracts/chain-family.js';
import { readFixture } from '../helpers/fixtures.js';

const WETH_LOWER = '0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2';
const WETH_EIP55 = '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2';

function ok(raw: string, chainKey: string | undefined) {
  const c = classifyAddress(raw, chainKey);
  assert.ok(c.ok, `${raw} on ${chainKey} should be an address, got ${JSON.stringify(c)}`);
  return c.value;
}
function reason(raw: unknown, chainKey: string | undefined) {
  const c = classifyAddress(raw, chainKey);
  assert.ok(!c.ok, `${String(raw)} on ${chainKey} should be rejected, got ${JSON.stringify(c)}`);
  return c.reason;
}

test('EVM addresses are stored lower-case whatever their spelling (store.test.ts: their EIP-55 display form)', () => {
  for (const spelling of [WETH_LOWER, WETH_EIP55, WETH_LOWER.toUpperCase().replace('0X', '0x'), ` ${WETH_EIP55} `]) {
    const a = ok(spelling, 'ethereum');
    assert.equal(a.family, 'evm');
    assert.equal(a.address, WETH_LOWER);
  }
});

test('native-coin sentinels are not contracts on any chain', () => {
  assert.equal(reason('0x0000000000000000000000000000000000000000', 'ethereum'), 'sentinel');
  assert.equal(reason('0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE', 'arbitrum'), 'sentinel');
  assert.equal(reason('0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', undefined), 'sentinel');
  assert.equal(reason('11111111111111111111111111111111', 'solana'), 'sentinel');
  assert.equal(reason('T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb', 'tron'), 'sentinel');
  assert.equal(reason('EQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAM9c', 'ton'), 'sentinel');
});

test('junk strings and price ids are rejected with a reason', () => {
  for (const junk of ['', '   ', '-', 'null', 'ETH', '0x', '0x1234', 'USDC-WETH', 'some text with spaces', 'https://example.org/x']) {
    const r = reason(junk, 'ethereum');
    assert.ok(r === 'junk' || r === 'empty', `${junk}: ${r}`);
  }
  assert.equal(reason(null, 'ethereum'), 'empty');
  assert.equal(reason(42, 'ethereum'), 'empty');
  assert.equal(reason('coingecko:bitcoin', 'bitcoin'), 'price-id');
  assert.equal(reason('coingecko:ethereum', 'ethereum'), 'price-id');
  // A 32-byte hex on an EVM chain is a hash or an id.
  assert.equal(reason(`0x${'ab'.repeat(32)}`, 'ethereum'), 'wrong-shape-for-chain');
});

test('Solana, Move, Tron, TON and Bitcoin addresses are classified by shape, then by chain family', () => {
  const usdcSol = ok('EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', 'solana');
  assert.deepEqual([usdcSol.family, usdcSol.address], ['solana', 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v']);

  const apt = ok('0x1::aptos_coin::AptosCoin', 'aptos');
  assert.equal(apt.family, 'move');
  assert.equal(apt.address, `0x${'0'.repeat(63)}1::aptos_coin::AptosCoin`);
  // The short and the long spelling of a Move account are one address.
  assert.equal(ok(`0x${'0'.repeat(63)}2::sui::SUI`, 'sui').address, ok('0x2::sui::SUI', 'sui').address);
  const suiObject = ok(`0x${'AB'.repeat(32)}`, 'sui');
  assert.deepEqual([suiObject.family, suiObject.address], ['move', `0x${'ab'.repeat(32)}`]);

  const usdt = ok('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', 'tron');
  assert.equal(usdt.family, 'tron');
  // Tron has an EVM chain id in DeFiLlama's metadata, yet its base58 addresses are not EVM.
  assert.equal(chainFamily('tron'), 'tron');

  const tonUsdt = ok('EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs', 'ton');
  assert.equal(tonUsdt.family, 'ton');
  assert.equal(tonUsdt.address, 'EQCxE6mUtQJKFnGfaROTKOt1lZbDiiX1kCixRv7Nw2Id_sDs', 'TON friendly forms are case-sensitive: kept as given');
  const tonRaw = ok(`0:${'AB'.repeat(32)}`, 'ton');
  assert.deepEqual([tonRaw.family, tonRaw.address], ['ton', `0:${'ab'.repeat(32)}`]);

  assert.equal(ok('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', 'bitcoin').family, 'bitcoin');
  assert.equal(ok('BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ', 'bitcoin').address, 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq');
  assert.equal(ok('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', 'bitcoin').family, 'bitcoin');

  // Other formats are kept as text with family "other".
  const near = ok('token.burrow.near', 'near');
  assert.deepEqual([near.family, near.address], ['other', 'token.burrow.near']);
  assert.equal(ok('31566704', 'algorand').family, 'other');
  assert.equal(ok('0x04718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d', 'starknet').family, 'other');
});

test('an address of the wrong family for its chain is rejected', () => {
  assert.equal(reason(WETH_LOWER, 'solana'), 'wrong-shape-for-chain');
  assert.equal(reason('EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', 'ethereum'), 'wrong-shape-for-chain');
  assert.equal(reason('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', 'ethereum'), 'wrong-shape-for-chain');
  assert.equal(reason('0x1::aptos_coin::AptosCoin', 'ethereum'), 'wrong-shape-for-chain');
});

test('a value naming its own chain ("arbitrum:0x...") carries that chain', () => {
  const a = ok('arbitrum:0x912CE59144191C1204E64559FE8253a0e49E6548', 'ethereum');
  assert.deepEqual([a.chainKey, a.family, a.address], ['arbitrum', 'evm', '0x912ce59144191c1204e64559fe8253a0e49e6548']);
  const s = ok('solana:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', undefined);
  assert.deepEqual([s.chainKey, s.family], ['solana', 'solana']);
  const m = ok('sui:0x2::sui::SUI', undefined);
  assert.deepEqual([m.chainKey, m.family], ['sui', 'move']);
  assert.equal(reason('notachain:0x912CE59144191C1204E64559FE8253a0e49E6548', 'ethereum'), 'junk');
});

test('chains without an EVM id in the reference accept addresses by shape', () => {
  assert.equal(chainFamily('sonic'), 'unknown');
  assert.equal(ok(WETH_EIP55, 'sonic').family, 'evm');
  assert.equal(ok(WETH_EIP55, undefined).family, 'evm');
  assert.equal(ok('EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', undefined).family, 'solana');
});

test('every token address in the real core-assets sample of a known family is accepted', () => {
  const assets = readFixture<Record<string, unknown>>('core-assets-by-chain.json');
  const families: Record<string, string> = { ethereum: 'evm', arbitrum: 'evm', bsc: 'evm', solana: 'solana', aptos: 'move', sui: 'move', tron: 'tron', ton: 'ton' };
  let checked = 0;
  for (const [chain, family] of Object.entries(families)) {
    for (const [symbol, raw] of Object.entries(assets[chain] as Record<string, string>)) {
      const c = classifyAddress(raw, chain);
      if (!c.ok) {
        assert.equal(c.reason, 'sentinel', `${chain} ${symbol} ${raw}: ${c.reason}`);
        continue;
      }
      assert.equal(c.value.family, family, `${chain} ${symbol} ${raw}`);
      checked += 1;
    }
  }
  assert.ok(checked > 100, `checked ${checked}`);
});
