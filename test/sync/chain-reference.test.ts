import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { chainKeyForLabel, deadSinceForKey, evmChainIdForKey, labelForChainKey } from '../../src/chains/chain-reference.js';
import { readFixture } from '../helpers/fixtures.js';

const sample = <T>(name: string): T => readFixture<T>(name);

test('display labels map to DeFiLlama chain keys, including the irregular ones', () => {
  assert.equal(chainKeyForLabel('Ethereum'), 'ethereum');
  assert.equal(chainKeyForLabel('BSC'), 'bsc');
  assert.equal(chainKeyForLabel('Avalanche'), 'avax');
  assert.equal(chainKeyForLabel('Gnosis'), 'xdai');
  assert.equal(chainKeyForLabel('xDai'), 'xdai');
  assert.equal(chainKeyForLabel('zkSync Era'), 'era');
  assert.equal(chainKeyForLabel('Hyperliquid L1'), 'hyperliquid');
  assert.equal(chainKeyForLabel('Arbitrum Nova'), 'arbitrum_nova');
});

test('labels are also found ignoring case, or when given as a key; unknown labels stay unknown', () => {
  assert.equal(chainKeyForLabel('ethereum'), 'ethereum');
  assert.equal(chainKeyForLabel('HYPERLIQUID L1'), 'hyperliquid');
  assert.equal(chainKeyForLabel('avax'), 'avax');
  assert.equal(chainKeyForLabel('No Such Chain 42'), undefined);
  assert.equal(chainKeyForLabel('constructor'), undefined);
  assert.equal(chainKeyForLabel('__proto__'), undefined);
});

test('keys map back to labels and to EVM chain ids', () => {
  assert.equal(labelForChainKey('avax'), 'Avalanche');
  assert.equal(labelForChainKey('bsc'), 'BSC');
  assert.equal(labelForChainKey('nope'), undefined);
  assert.equal(evmChainIdForKey('ethereum'), 1);
  assert.equal(evmChainIdForKey('bsc'), 56);
  assert.equal(evmChainIdForKey('arbitrum'), 42161);
  assert.equal(evmChainIdForKey('solana'), undefined);
  assert.equal(deadSinceForKey('airdao'), '2026-01-20');
  assert.equal(deadSinceForKey('ethereum'), undefined);
});

test('every chain of a real /v2/chains response has a key, and its EVM chain id agrees with the reference', () => {
  const chains = sample<{ name: string; chainId: number | string | null }[]>('v2-chains-2022-09.json');
  assert.ok(chains.length > 100);
  const disagreements: string[] = [];
  for (const c of chains) {
    const key = chainKeyForLabel(c.name);
    assert.ok(key, `no key for ${c.name}`);
    const ref = evmChainIdForKey(key);
    const own = Number(c.chainId);
    if (ref !== undefined && own > 0 && ref !== own) disagreements.push(`${c.name}: ${own} vs ${ref}`);
  }
  assert.deepEqual(disagreements, []);
});

test('the shipped reference is derived from the samples it names (rerun scripts/derive-chain-reference.ts when they change)', () => {
  const shipped = JSON.parse(readFileSync('src/chains/data/chain-reference.json', 'utf8')) as { labelToKey: Record<string, string>; keyToLabel: Record<string, string>; evmChainIds: Record<string, number> };
  const labels = sample<{ chainLabelsToKeyMap: Record<string, string>; chainKeyToChainLabelMap: Record<string, string> }>('chain-labels-and-keys.json');
  const providers = sample<Record<string, { chainId: number }>>('evm-chain-ids.json');
  assert.deepEqual(shipped.labelToKey, Object.fromEntries(Object.entries(labels.chainLabelsToKeyMap).sort(([a], [b]) => (a < b ? -1 : 1))));
  assert.deepEqual(Object.keys(shipped.keyToLabel).sort(), Object.keys(labels.chainKeyToChainLabelMap).sort());
  for (const [key, p] of Object.entries(providers)) assert.equal(shipped.evmChainIds[key], p.chainId, key);
});
