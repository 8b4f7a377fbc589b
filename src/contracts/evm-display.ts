/**
 * EIP-55 checksum forms for display, computed by viem. Hashing is the costly part of mapping
 * (keccak per address), so forms already stored are reused and each address is hashed once.
 */
import { getAddress } from 'viem';

export class EvmDisplayForms {
  private readonly forms = new Map<string, string>();
  private computedCount = 0;

  /** A form already stored for this lower-case address (from an earlier run). */
  remember(address: string, display: string): void {
    this.forms.set(address, display);
  }

  /** The EIP-55 form of a lower-case 0x + 40 hex address. */
  displayOf(address: string): string {
    let form = this.forms.get(address);
    if (form === undefined) {
      form = getAddress(address);
      this.forms.set(address, form);
      this.computedCount += 1;
    }
    return form;
  }

  /** How many forms were computed (not reused) so far. */
  get computed(): number {
    return this.computedCount;
  }
}
