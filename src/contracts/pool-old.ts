// `pool_old`, the adapter's own pool key from /poolsOld: mostly "<address>", "<address>-<chainkey>" or "<chainkey>-<address>";
// anything else is read as DeFiLlama reads it, taking the first "0x" followed by 40 or more hex digits.
import { chainKeyForLabel } from '../chains/chain-reference.js';
import { classifyAddress, type Classified, type ParsedAddress, type RejectReason } from './address.js';
import { chainFamily } from './chain-family.js';
import type { SourceKind } from './sources.js';

export type PoolOldResult =
  | { readonly ok: true; readonly value: ParsedAddress; readonly kind: Extract<SourceKind, 'reliable' | 'guess'> }
  | { readonly ok: false; readonly reason: RejectReason };

const FIRST_HEX_RUN = /0x([0-9a-f]{40,})/i;
/** "0x...", "0x...-<chain>", "<chain>-0x...". */
const EVM_SHAPES = /^(?:([A-Za-z][A-Za-z0-9_ .]{0,40})-)?(0x[0-9a-fA-F]{40})(?:-([A-Za-z][A-Za-z0-9_ .]{0,40}))?$/;

/** Whether text names a chain, by key or by label ("arbitrum", "Arbitrum", "avax"). */
const isChainKey = (text: string): boolean => chainKeyForLabel(text) !== undefined;

export function parsePoolOld(raw: unknown, chainKey: string | undefined): PoolOldResult {
  if (typeof raw !== 'string') return { ok: false, reason: 'empty' };
  const text = raw.trim();
  if (text === '') return { ok: false, reason: 'empty' };

  // The common shapes with an EVM address, without trying each candidate in turn.
  const evm = EVM_SHAPES.exec(text);
  if (evm && (evm[1] === undefined || isChainKey(evm[1])) && (evm[3] === undefined || isChainKey(evm[3]))) {
    const c = classifyAddress(evm[2]!, chainKey);
    if (c.ok || c.reason === 'sentinel') return withKind(c, 'reliable');
  }

  let firstReject: RejectReason | undefined;
  for (const candidate of shapes(text)) {
    const c = classifyAddress(candidate, chainKey);
    // Free-form "other" matches would accept any slug ("aave-v3-usdc-ethereum"): not here.
    if (c.ok && c.value.family !== 'other') return { ok: true, value: c.value, kind: 'reliable' };
    if (!c.ok && c.reason === 'sentinel') return c;
    if (!c.ok) firstReject ??= c.reason;
  }

  const run = FIRST_HEX_RUN.exec(text);
  if (!run) return { ok: false, reason: firstReject === 'empty' ? 'junk' : (firstReject ?? 'junk') };
  const hex = run[1]!;
  if (hex.length === 40) return withKind(classifyAddress(`0x${hex}`, chainKey), 'reliable');
  const family = chainFamily(chainKey);
  if (family === 'move' || family === 'starknet' || (hex.length === 64 && (family === 'other' || family === 'solana' || family === 'ton'))) {
    return withKind(classifyAddress(`0x${hex.slice(0, 64)}`, chainKey), 'reliable');
  }
  // A longer id on an EVM chain (Balancer's is the pool address + 12 bytes): its first 20 bytes are only a guess at the pool.
  return withKind(classifyAddress(`0x${hex.slice(0, 40)}`, chainKey), 'guess');
}

function withKind(c: Classified, kind: 'reliable' | 'guess'): PoolOldResult {
  return c.ok ? { ok: true, value: c.value, kind } : c;
}

/** The whole value, then the part beside a leading or trailing chain key. */
function* shapes(text: string): Generator<string> {
  yield text;
  const last = text.lastIndexOf('-');
  if (last > 0 && isChainKey(text.slice(last + 1))) yield text.slice(0, last);
  const first = text.indexOf('-');
  if (first > 0 && isChainKey(text.slice(0, first))) yield text.slice(first + 1);
}
