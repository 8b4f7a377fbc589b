/**
 * Regenerates chains.json, the chain table the replica draws from, out of DeFiLlama's own
 * reference data in test/fixtures/defillama/ (see its README for origins):
 *   chain-labels-and-keys.json (DefiLlama/defillama-sdk src/util/chainUtils/data.json),
 *   evm-chain-ids.json (DefiLlama/defillama-sdk src/providers.json),
 *   v2-chains-2022-09.json (a real /v2/chains response, for gecko ids, symbols and cmc ids).
 * Run once from the repo root: `npx tsx replica/data/build-chains.ts [samples dir]`.
 * The replica itself never needs the samples directory.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const samples = process.argv[2] ?? join(process.cwd(), 'test', 'fixtures', 'defillama');
const read = (name: string): unknown => JSON.parse(readFileSync(join(samples, name), 'utf8'));

const labels = read('chain-labels-and-keys.json') as {
  chainKeyToChainLabelMap: Record<string, string>;
  chainLabelsToKeyMap: Record<string, string>;
};
const evm = read('evm-chain-ids.json') as Record<string, { chainId: number }>;
const v2 = read('v2-chains-2022-09.json') as { name: string; gecko_id: string | null; tokenSymbol: string | null; cmcId: string | null; chainId: number | string | null; tvl: number }[];

// Address conventions of the non-EVM chains the replica reproduces.
const FAMILY: Record<string, string> = {
  solana: 'solana', eclipse: 'solana', sonic_svm: 'solana', soon: 'solana',
  aptos: 'move', sui: 'move', movement: 'move', supra: 'move', initia: 'move',
  tron: 'tron', ton: 'ton',
  bitcoin: 'other', cardano: 'other', near: 'other', algorand: 'other', cosmos: 'other', osmosis: 'other',
  stellar: 'other', hedera: 'other', starknet: 'other', tezos: 'other', polkadot: 'other', ripple: 'other',
};

// EVM chains missing from evm-chain-ids.json (ids from their public docs).
const EXTRA_EVM_IDS: Record<string, number> = {
  sonic: 146, linea: 59144, berachain: 80094, era: 324, kava: 2222, mode: 34443, manta: 169, zora: 7777777,
  unichain: 130, ink: 57073, sei: 1329, abstract: 2741, soneium: 1868, plasma: 9745, katana: 747474,
};

// The chains that carry most pools today, first; then by 2022 TVL; then alphabetically.
const FIRST = ['Ethereum', 'Solana', 'BSC', 'Arbitrum', 'Base', 'Tron', 'Polygon', 'Avalanche', 'OP Mainnet', 'Hyperliquid L1',
  'Sui', 'Aptos', 'TON', 'ZKsync Era', 'Sonic', 'Linea', 'Scroll', 'Mantle', 'Blast', 'Berachain', 'Gnosis', 'Fantom',
  'Cronos', 'Celo', 'Kava', 'Near', 'Starknet', 'Cardano', 'Bitcoin', 'Algorand', 'Osmosis', 'Manta', 'Mode', 'Moonbeam'];

const byV2 = new Map(v2.map((c) => [c.name, c]));
const seen = new Set<string>();
const rows: { label: string; key: string; chainId: number | null; gecko: string | null; symbol: string | null; cmc: string | null; family: string; rank: number }[] = [];
for (const [key, label] of Object.entries(labels.chainKeyToChainLabelMap)) {
  if (seen.has(label)) continue;
  // The canonical key is the one the label maps back to.
  const canonical = labels.chainLabelsToKeyMap[label] ?? key.toLowerCase();
  seen.add(label);
  const old = byV2.get(label);
  const chainId = evm[canonical]?.chainId ?? EXTRA_EVM_IDS[canonical] ?? (typeof old?.chainId === 'number' && old.chainId > 0 ? old.chainId : null);
  const family = FAMILY[canonical] ?? (chainId !== null ? 'evm' : 'other');
  const first = FIRST.indexOf(label);
  rows.push({
    label, key: canonical, chainId, family,
    gecko: old?.gecko_id ?? null, symbol: old?.tokenSymbol ?? null, cmc: old?.cmcId ?? null,
    rank: first >= 0 ? first : old ? 1000 - Math.min(999, Math.log10(1 + old.tvl) * 50) : 2000,
  });
}
rows.sort((a, b) => a.rank - b.rank || a.label.localeCompare(b.label));

const out = {
  origin: 'Derived by replica/data/build-chains.ts from DefiLlama/defillama-sdk src/util/chainUtils/data.json and src/providers.json @ 62cdd7a1, and a real /v2/chains response (DefiLlama/dimension-adapters @ a1bc1e0e).',
  columns: ['label', 'key', 'chainId', 'gecko_id', 'tokenSymbol', 'cmcId', 'family'],
  chains: rows.map((r) => [r.label, r.key, r.chainId, r.gecko, r.symbol, r.cmc, r.family]),
};
const target = join(dirname(fileURLToPath(import.meta.url)), 'chains.json');
writeFileSync(target, JSON.stringify(out).replace(/\],\[/g, '],\n['));
console.log(`wrote ${rows.length} chains to ${target}`);
