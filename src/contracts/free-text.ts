// Addresses in free text (poolMeta, the adapter's url): only shapes of the chain's family that cannot be ordinary words.
// The word just before an address ("factory 0x...", "router: 0x...") names its contract type when it can.
import { classifyAddress, type ParsedAddress } from './address.js';
import { chainFamily, type ChainFamily } from './chain-family.js';
import type { ContractType } from './sources.js';

export interface TextAddress {
  readonly value: ParsedAddress;
  readonly type: ContractType;
}

const EVM_IN_TEXT = /(?<![0-9A-Za-z])0x[0-9a-fA-F]{40}(?![0-9A-Za-z])/g;
const MOVE_IN_TEXT = /(?<![0-9A-Za-z])0x[0-9a-fA-F]{1,64}::[A-Za-z_][A-Za-z0-9_]*::[A-Za-z_][A-Za-z0-9_]*/g;
const HEX64_IN_TEXT = /(?<![0-9A-Za-z])0x[0-9a-fA-F]{64}(?![0-9A-Za-z:])/g;
const BASE58_IN_TEXT = /(?<![0-9A-Za-z])[1-9A-HJ-NP-Za-km-z]{32,44}(?![0-9A-Za-z])/g;
const TRON_IN_TEXT = /(?<![0-9A-Za-z])T[1-9A-HJ-NP-Za-km-z]{33}(?![0-9A-Za-z])/g;
const TON_IN_TEXT = /(?<![0-9A-Za-z_-])[EU][Q][A-Za-z0-9_-]{46}(?![0-9A-Za-z_-])/g;

const PATTERNS: Readonly<Record<ChainFamily, readonly RegExp[]>> = {
  solana: [BASE58_IN_TEXT],
  move: [MOVE_IN_TEXT, HEX64_IN_TEXT],
  tron: [TRON_IN_TEXT, EVM_IN_TEXT],
  ton: [TON_IN_TEXT],
  evm: [EVM_IN_TEXT],
  unknown: [EVM_IN_TEXT],
  other: [EVM_IN_TEXT],
  // Base58/bech32 words and bare hex runs are too easy to misread in prose.
  bitcoin: [],
  starknet: [],
};

const CONTEXT_CHARS = 24;

/** Addresses found in `text` for a chain; duplicates (by normalised form) removed. */
export function extractFromText(text: string | null | undefined, chainKey: string | undefined): TextAddress[] {
  if (!text) return [];
  const found = new Map<string, TextAddress>();
  for (const pattern of PATTERNS[chainFamily(chainKey)]) {
    for (const m of text.matchAll(pattern)) {
      const c = classifyAddress(m[0], chainKey);
      if (!c.ok || found.has(c.value.address)) continue;
      // A base58 run must mix digits and letters: a long plain word is not an account.
      if (c.value.family === 'solana' && !(/\d/.test(m[0]) && /[A-Za-z]/.test(m[0]))) continue;
      found.set(c.value.address, { value: c.value, type: typeFromContext(text.slice(Math.max(0, m.index - CONTEXT_CHARS), m.index)) });
    }
  }
  return [...found.values()];
}

function typeFromContext(before: string): ContractType {
  const words = before.toLowerCase();
  if (/factory\W*$/.test(words)) return 'factory';
  if (/router\W*$/.test(words)) return 'router';
  return 'pool';
}
