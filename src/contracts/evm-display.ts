/**
 * EIP-55 checksum forms for display, computed by viem (keccak of the lower-case address).
 * Hashing is the costly part of mapping, so the merge asks only for addresses never stored.
 */
import { getAddress } from 'viem';

/** The EIP-55 form of a lower-case 0x + 40 hex address. */
export function eip55(address: string): string {
  return getAddress(address);
}
