/** The replica's chain table: the first N rows of data/chains.json, then synthetic chains if N is larger. */
import { readFileSync } from 'node:fs';
import type { AddressFamily } from './addresses.js';

export interface ChainRow {
  label: string;
  key: string;
  chainId: number | null;
  geckoId: string | null;
  tokenSymbol: string | null;
  cmcId: string | null;
  family: AddressFamily;
}

let cached: ChainRow[] | undefined;

function loadRows(): ChainRow[] {
  if (!cached) {
    // Read at run time (not imported): a JSON import would need an import attribute.
    const text = readFileSync(new URL('./data/chains.json', import.meta.url), 'utf8');
    const data = JSON.parse(text) as { chains: [string, string, number | null, string | null, string | null, string | null, AddressFamily][] };
    cached = data.chains.map(([label, key, chainId, geckoId, tokenSymbol, cmcId, family]) => ({ label, key, chainId, geckoId, tokenSymbol, cmcId, family }));
  }
  return cached;
}

export function chainTable(count: number): ChainRow[] {
  const rows = loadRows().slice(0, count);
  for (let i = rows.length; i < count; i++) {
    rows.push({ label: `Chain ${i + 1}`, key: `chain${i + 1}`, chainId: 900_000 + i, geckoId: null, tokenSymbol: null, cmcId: null, family: 'evm' });
  }
  return rows;
}
