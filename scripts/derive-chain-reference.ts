/**
 * Derives src/chains/data/chain-reference.json from two files of DeFiLlama's own SDK, copied to
 * test/fixtures/defillama/ (DefiLlama/defillama-sdk @ 62cdd7a1):
 *   src/util/chainUtils/data.json -> chain-labels-and-keys.json (label <-> key maps, dead chains)
 *   src/providers.json            -> evm-chain-ids.json (EVM chain keys with chain ids)
 * The installed program reads only the derived file. Rerun after refreshing the fixtures:
 *   npx tsx scripts/derive-chain-reference.ts [samplesDir]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/paths.js';

interface LabelsAndKeys {
  chainKeyToChainLabelMap: Record<string, string>;
  chainLabelsToKeyMap: Record<string, string>;
  deadChains: Record<string, string>;
}

const samples = process.argv[2] ?? join(packageRoot(), 'test', 'fixtures', 'defillama');
const labels = JSON.parse(readFileSync(join(samples, 'chain-labels-and-keys.json'), 'utf8')) as LabelsAndKeys;
const providers = JSON.parse(readFileSync(join(samples, 'evm-chain-ids.json'), 'utf8')) as Record<string, { chainId?: unknown }>;

const sorted = <V>(o: Record<string, V>): Record<string, V> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

const evmChainIds: Record<string, number> = {};
for (const [key, p] of Object.entries(providers)) {
  if (typeof p.chainId === 'number' && Number.isSafeInteger(p.chainId) && p.chainId > 0) evmChainIds[key] = p.chainId;
}

const reference = {
  source: 'DefiLlama/defillama-sdk@62cdd7a1: src/util/chainUtils/data.json and src/providers.json (derived by scripts/derive-chain-reference.ts)',
  labelToKey: sorted(labels.chainLabelsToKeyMap),
  keyToLabel: sorted(labels.chainKeyToChainLabelMap),
  evmChainIds: sorted(evmChainIds),
  deadChains: sorted(labels.deadChains),
};

const target = join(packageRoot(), 'src', 'chains', 'data', 'chain-reference.json');
writeFileSync(target, JSON.stringify(reference, null, 1) + '\n');
console.log(`wrote ${target}: ${Object.keys(reference.labelToKey).length} labels, ${Object.keys(reference.keyToLabel).length} keys, ${Object.keys(evmChainIds).length} EVM chain ids`);
