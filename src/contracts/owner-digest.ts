/**
 * One digest per owner (a pool or a protocol) of the mappings built for it: a run compares them
 * with contract_mapping_digests to find the owners whose mappings changed, and reads and sends
 * nothing for the others. An owner's rows come together and in key order (mappingRows), so the
 * same mappings always give the same digest.
 */
import { hash } from 'node:crypto';
import type { MappingRow } from './build-mappings.js';

export type OwnerKind = 'pool' | 'protocol';

/** 'pool:<id>' or 'protocol:<id>': how owners are keyed in memory (split at the first colon). */
export function ownerKey(r: Pick<MappingRow, 'poolId' | 'protocolId'>): string {
  return r.poolId !== null ? `pool:${r.poolId}` : `protocol:${r.protocolId}`;
}

export function splitOwnerKey(key: string): { readonly kind: OwnerKind; readonly id: string } {
  const colon = key.indexOf(':');
  return { kind: key.slice(0, colon) as OwnerKind, id: key.slice(colon + 1) };
}

/**
 * Changes every digest: raise it when what the write stores changes while the rows built stay
 * the same (a new column, another rule in the merge), so that every owner is compared once.
 */
const DIGEST_VERSION = 1;

/** What a row's stored columns are made of, before verification (which the merge applies). */
function digestLine(r: MappingRow, json: string): string {
  // An EVM address's display form follows from the address itself.
  const display = r.family === 'evm' ? '' : (r.display ?? '');
  return `${r.chain}\t${r.address}\t${r.type}\t${r.chainKey ?? ''}\t${r.evmChainId ?? ''}\t${r.family}\t${r.confidence}\t${display}\t${json}\n`;
}

export interface OwnerDigest {
  readonly key: string;
  /** SHA-256, hex (faster than md5 where the CPU has SHA instructions, as most now do). */
  readonly digest: string;
  /** Its rows. */
  readonly rows: number;
}

/** Folds rows, owner after owner, into one digest per owner. */
export class OwnerDigester {
  private key: string | undefined;
  private text = '';
  private rows = 0;
  private readonly seen = new Set<string>();

  /** Whether rows of this owner came. */
  saw(key: string): boolean {
    return this.seen.has(key);
  }

  /** Adds a row; when the row starts another owner, returns the digest of the one it ends. */
  add(row: MappingRow, json: string): OwnerDigest | undefined {
    const key = ownerKey(row);
    let ended: OwnerDigest | undefined;
    if (key !== this.key) {
      ended = this.finish();
      // Rows of one owner apart would give it two digests, each of part of its mappings.
      if (this.seen.has(key)) throw new Error(`the mappings of ${key} do not come together`);
      this.seen.add(key);
      this.key = key;
    }
    this.text += digestLine(row, json);
    this.rows++;
    return ended;
  }

  /** The digest of the last owner (undefined when there were no rows since the last call). */
  finish(): OwnerDigest | undefined {
    if (this.key === undefined) return undefined;
    const ended = { key: this.key, digest: hash('sha256', `${DIGEST_VERSION}\n${this.text}`, 'hex'), rows: this.rows };
    this.key = undefined;
    this.text = '';
    this.rows = 0;
    return ended;
  }
}
