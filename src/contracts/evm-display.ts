/**
 * EIP-55 checksum forms for display, computed by ox (the Ethereum primitives viem is built on):
 * its Address module alone loads in a fraction of the time viem's whole graph takes.
 */
import { checksum } from 'ox/Address';

/** The EIP-55 form of a lower-case 0x + 40 hex address. */
export function eip55(address: string): string {
  return checksum(address as `0x${string}`);
}
