/** /protocols `address`, the protocol's token: "<chainkey>:<address>", a bare 0x address (DeFiLlama assumes Ethereum), or null. */
import { chainKeyForLabel } from '../chains/chain-reference.js';
import { classifyAddress, type ParsedAddress, type RejectReason } from './address.js';
import type { SourceKind } from './sources.js';

export type ProtocolAddressResult =
  | { readonly ok: true; readonly value: ParsedAddress & { readonly chainKey: string }; readonly kind: Extract<SourceKind, 'reliable' | 'guess'> }
  | { readonly ok: false; readonly reason: RejectReason | 'unknown-chain' };

const ETHEREUM = 'ethereum';

/** `chains` are the protocol's display labels ("Ethereum", "Arbitrum"). */
export function parseProtocolAddress(raw: unknown, chains: readonly string[]): ProtocolAddressResult {
  if (typeof raw !== 'string' || raw.trim() === '') return { ok: false, reason: 'empty' };
  const text = raw.trim();
  const chainKeys = chains.map((c) => chainKeyForLabel(c)).filter((k): k is string => k !== undefined);

  const named = classifyAddress(text, undefined);
  if (named.ok && named.value.chainKey !== undefined) {
    return { ok: true, value: { ...named.value, chainKey: named.value.chainKey }, kind: 'reliable' };
  }
  if (!named.ok && named.reason !== 'junk' && named.reason !== 'wrong-shape-for-chain') return named;

  if (/^0x[0-9a-f]{40}$/i.test(text)) {
    // On Ethereum by DeFiLlama's convention; only a guess for a protocol that does not list Ethereum.
    const c = classifyAddress(text, ETHEREUM);
    if (!c.ok) return c;
    const kind = chainKeys.length === 0 || chainKeys.includes(ETHEREUM) ? 'reliable' : 'guess';
    return { ok: true, value: { ...c.value, chainKey: ETHEREUM }, kind };
  }

  // Another bare form ("So1...", "0x1::coin::T") is only placeable on a single-chain protocol.
  const only = new Set(chainKeys);
  if (only.size !== 1) return { ok: false, reason: 'unknown-chain' };
  const [key] = only;
  const c = classifyAddress(text, key);
  return c.ok ? { ok: true, value: { ...c.value, chainKey: key! }, kind: 'reliable' } : c;
}
