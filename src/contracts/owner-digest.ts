// One digest per owner (pool or protocol) of its mappings: a run reads and sends nothing for owners whose
// digest is unchanged. An owner's rows come together and in key order, so the same mappings give the same digest.
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

/** Raise it when what the write stores changes while the rows built stay the same, so every owner is compared once. */
const DIGEST_VERSION = 1;

/** What a row's stored columns are made of, before verification (which the merge applies). */
function digestLine(r: MappingRow, json: string): string {
  // An EVM address's display form follows from the address itself.
  const display = r.family === 'evm' ? '' : (r.display ?? '');
  return `${r.chain}\t${r.address}\t${r.type}\t${r.chainKey ?? ''}\t${r.evmChainId ?? ''}\t${r.family}\t${r.confidence}\t${display}\t${json}\n`;
}

export interface OwnerDigest {
  readonly key: string;
  /** SHA-256, hex: faster than md5 on CPUs with SHA instructions. */
  readonly digest: string;
  readonly rows: number;
}

export interface RowWithJson {
  readonly row: MappingRow;
  readonly json: string;
}

export function ownerDigest(key: string, rows: readonly RowWithJson[]): OwnerDigest {
  let text = `${DIGEST_VERSION}\n`;
  for (const { row, json } of rows) text += digestLine(row, json);
  return { key, digest: hash('sha256', text, 'hex'), rows: rows.length };
}
