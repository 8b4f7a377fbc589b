/**
 * Token and contract addresses in the shapes DeFiLlama really serves: EVM addresses lower-case
 * or EIP-55 checksummed, native sentinels, Solana base58, Move types, Tron, TON, and the odd junk
 * string. Checksums are computed lazily and memoised: keccak is the costly part. They come from
 * ox's Address module (what viem is built on), which loads in a tenth of the time viem's whole
 * graph takes, at every start of a process that serves the replica.
 */
import { checksum as eip55 } from 'ox/Address';
import type { Rng } from './random.js';

export type AddressFamily = 'evm' | 'solana' | 'move' | 'tron' | 'ton' | 'other';

export const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';
export const EEEE_ADDRESS = '0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const checksums = new Map<string, string>();

/** EIP-55 spelling of a lower-case EVM address. */
export function checksum(lower: string): string {
  let out = checksums.get(lower);
  if (out === undefined) {
    out = eip55(lower as `0x${string}`);
    checksums.set(lower, out);
  }
  return out;
}

export function evmAddress(rng: Rng): string {
  return rng.hex(40, '0x');
}

/** A contract or token address of the family, in its canonical spelling (EVM: lower-case). */
export function addressFor(family: AddressFamily, chainKey: string, rng: Rng): string {
  switch (family) {
    case 'evm':
      return evmAddress(rng);
    case 'solana':
      return rng.fromAlphabet(BASE58, 43 + rng.int(2));
    case 'move': {
      const owner = rng.hex(64, '0x');
      if (rng.chance(0.3)) return owner;
      const mod = rng.pick(['coin', 'pool', 'lp_coin', 'vault', 'token']);
      return `${owner}::${mod}::${rng.pick(['USDC', 'LP', 'Coin', 'VaultShare', 'T'])}`;
    }
    case 'tron':
      return rng.fromAlphabet(BASE58, 33, 'T');
    case 'ton':
      return rng.fromAlphabet(BASE64URL, 46, 'EQ');
    default: {
      const r = rng.next();
      if (r < 0.4) return `${chainKey.replace(/[^a-z0-9]/g, '').slice(0, 8) || 'addr'}1${rng.fromAlphabet('023456789acdefghjklmnpqrstuvwxyz', 38)}`;
      if (r < 0.7) return `coingecko:${rng.pick(['bitcoin', 'cardano', 'near', 'polkadot', 'cosmos', 'algorand', 'stellar', 'tezos'])}`;
      if (r < 0.9) return rng.fromAlphabet(BASE58, 40);
      return rng.pick(['native', 'uatom', 'TOKEN', '-', 'ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2']);
    }
  }
}

/** The well-known native or wrapped tokens of a few families. */
export function nativeTokens(family: AddressFamily, chainKey: string): string[] {
  switch (family) {
    case 'evm':
      return [ZERO_ADDRESS, EEEE_ADDRESS];
    case 'solana':
      return ['So11111111111111111111111111111111111111112'];
    case 'move':
      return chainKey === 'sui' ? ['0x2::sui::SUI'] : ['0x1::aptos_coin::AptosCoin'];
    case 'tron':
      return ['TNUC9Qb1rRpS5CbWLmNMxXBjyFoydXjWFR'];
    case 'ton':
      return ['EQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAM9c'];
    default:
      return [`coingecko:${chainKey}`];
  }
}
