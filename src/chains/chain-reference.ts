/**
 * DeFiLlama's chain reference: display labels ("BSC", "Hyperliquid L1") used by /pools and
 * /protocols, internal chain keys ("bsc", "hyperliquid") and EVM chain ids. The data is derived
 * from DeFiLlama's SDK by scripts/derive-chain-reference.ts and ships inside the package.
 */
import reference from './data/chain-reference.json' with { type: 'json' };

// Maps built once: plain objects would also answer "constructor" or "__proto__".
const labelToKey = new Map<string, string>(Object.entries(reference.labelToKey));
const keyToLabel = new Map<string, string>(Object.entries(reference.keyToLabel));
const evmChainIds = new Map<string, number>(Object.entries(reference.evmChainIds));
const deadChains = new Map<string, string>(Object.entries(reference.deadChains));
const labelToKeyFolded = new Map<string, string>();
for (const [label, key] of labelToKey) if (!labelToKeyFolded.has(label.toLowerCase())) labelToKeyFolded.set(label.toLowerCase(), key);

/**
 * The chain key of a display label: the exact label, then the label ignoring case, then the
 * label itself when it already is a key ("ethereum"). Undefined for a chain the reference does
 * not know, rather than a guess.
 */
export function chainKeyForLabel(label: string): string | undefined {
  const exact = labelToKey.get(label);
  if (exact !== undefined) return exact;
  const folded = label.trim().toLowerCase();
  return labelToKeyFolded.get(folded) ?? (keyToLabel.has(folded) ? folded : undefined);
}

/** The display label of a chain key ("avax" -> "Avalanche"), undefined when unknown. */
export function labelForChainKey(key: string): string | undefined {
  return keyToLabel.get(key) ?? keyToLabel.get(key.toLowerCase());
}

/** The EVM chain id of a chain key ("bsc" -> 56), undefined for non-EVM or unknown chains. */
export function evmChainIdForKey(key: string): number | undefined {
  return evmChainIds.get(key) ?? evmChainIds.get(key.toLowerCase());
}

/** The date (YYYY-MM-DD) DeFiLlama marks a chain key dead from, undefined when it is alive. */
export function deadSinceForKey(key: string): string | undefined {
  return deadChains.get(key);
}
