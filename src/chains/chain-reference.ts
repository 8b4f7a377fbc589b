// Labels ("Hyperliquid L1"), keys ("hyperliquid") and EVM chain ids, from DeFiLlama's SDK via scripts/derive-chain-reference.ts.
import reference from './data/chain-reference.json' with { type: 'json' };

// Maps built once: plain objects would also answer "constructor" or "__proto__".
const labelToKey = new Map<string, string>(Object.entries(reference.labelToKey));
const keyToLabel = new Map<string, string>(Object.entries(reference.keyToLabel));
const evmChainIds = new Map<string, number>(Object.entries(reference.evmChainIds));
const deadChains = new Map<string, string>(Object.entries(reference.deadChains));
const labelToKeyFolded = new Map<string, string>();
for (const [label, key] of labelToKey) if (!labelToKeyFolded.has(label.toLowerCase())) labelToKeyFolded.set(label.toLowerCase(), key);

/** By exact label, then ignoring case, then the label itself if it is a key ("ethereum"); undefined rather than a guess. */
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
