// Mainnets of the `chain` parameter of Moralis' GET /erc20/metadata, by EVM chain id.
import { evmChainIdForKey } from '../chains/chain-reference.js';

const BY_CHAIN_ID: ReadonlyMap<number, string> = new Map([
  [1, 'eth'],
  [10, 'optimism'],
  [25, 'cronos'],
  [56, 'bsc'],
  [100, 'gnosis'],
  [137, 'polygon'],
  [143, 'monad'],
  [250, 'fantom'],
  [369, 'pulse'],
  [747, 'flow'],
  [1135, 'lisk'],
  [1284, 'moonbeam'],
  [1285, 'moonriver'],
  [1329, 'sei'],
  [2020, 'ronin'],
  [8453, 'base'],
  [42161, 'arbitrum'],
  [43114, 'avalanche'],
  [59144, 'linea'],
  [88888, 'chiliz'],
]);

/** DeFiLlama chain keys of Moralis' chains that the chain reference has no EVM chain id for. */
const BY_KEY: ReadonlyMap<string, string> = new Map([
  ['avax', 'avalanche'],
  ['linea', 'linea'],
  ['monad', 'monad'],
  ['ronin', 'ronin'],
  ['lisk', 'lisk'],
]);

/** Moralis' name of a chain key's chain ("ethereum" -> "eth"), undefined when Moralis does not serve it. */
export function moralisChainForKey(chainKey: string): string | undefined {
  const key = chainKey.toLowerCase();
  const id = evmChainIdForKey(key);
  return (id === undefined ? undefined : BY_CHAIN_ID.get(id)) ?? BY_KEY.get(key);
}

/** Every chain name Moralis is asked about (the stand-in accepts these). */
export const MORALIS_CHAINS: ReadonlySet<string> = new Set(BY_CHAIN_ID.values());
