// A chain's address format: the non-EVM families listed here first, then EVM if the chain reference gives an EVM chain id.
// Otherwise "unknown", and the address's own shape decides (most such chains are EVM chains without an id in the reference).
import { evmChainIdForKey } from '../chains/chain-reference.js';

export type ChainFamily = 'evm' | 'solana' | 'move' | 'tron' | 'ton' | 'bitcoin' | 'starknet' | 'other' | 'unknown';

const NON_EVM: Readonly<Record<string, ChainFamily>> = Object.freeze({
  // Solana Virtual Machine chains: base58 accounts.
  solana: 'solana',
  eclipse: 'solana',
  soon: 'solana',
  fogo: 'solana',
  sonic_svm: 'solana',
  // Move chains: 0x-hex accounts (up to 32 bytes) and `0x..::module::Type` coin types.
  aptos: 'move',
  sui: 'move',
  movement: 'move',
  supra: 'move',
  iota: 'move',
  initia: 'move',
  tron: 'tron', // EVM-like in DeFiLlama's metadata (it has a chain id), but its addresses are base58 T...
  ton: 'ton',
  bitcoin: 'bitcoin',
  litecoin: 'bitcoin',
  doge: 'bitcoin',
  bitcoincash: 'bitcoin',
  bsv: 'bitcoin',
  starknet: 'starknet', // 0x + up to 64 hex (field elements), never a 20-byte EVM address
  // Chains with their own formats (named accounts, numeric asset ids, ...): kept as text.
  near: 'other',
  algorand: 'other',
  tezos: 'other',
  stellar: 'other',
  cardano: 'other',
  cosmos: 'other',
  osmosis: 'other',
  polkadot: 'other',
  ripple: 'other',
  xrpl: 'other',
  hedera: 'other',
  icp: 'other',
  zksync: 'other',
  terra: 'other',
  terra2: 'other',
  injective: 'other',
  sei: 'other',
  kava: 'other',
  neutron: 'other',
  multiversx: 'other',
  elrond: 'other',
  radixdlt: 'other',
  waves: 'other',
  eos: 'other',
  wax: 'other',
  stacks: 'other',
  ergo: 'other',
});

const known = new Map<string, ChainFamily>();

export function chainFamily(chainKey: string | undefined): ChainFamily {
  if (chainKey === undefined) return 'unknown';
  let family = known.get(chainKey);
  if (family === undefined) {
    family = NON_EVM[chainKey.toLowerCase()] ?? (evmChainIdForKey(chainKey) !== undefined ? 'evm' : 'unknown');
    known.set(chainKey, family);
  }
  return family;
}
