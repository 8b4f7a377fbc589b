/** Address classification: by shape first, then by the chain's family. */
import { chainKeyForLabel } from '../chains/chain-reference.js';
import { chainFamily, type ChainFamily } from './chain-family.js';

export type AddressFamily = 'evm' | 'solana' | 'move' | 'tron' | 'ton' | 'bitcoin' | 'other';

export interface ParsedAddress {
  readonly family: AddressFamily;
  /** The uniqueness and join key: lower-case hex where the format is case-insensitive, as given where case matters. */
  readonly address: string;
  /** As given (trimmed); for EVM the EIP-55 form replaces it before storage. */
  readonly given: string;
  /** Set when the value named its own chain ("arbitrum:0x..."), which overrides the context's. */
  readonly chainKey?: string;
}

export type RejectReason = 'empty' | 'sentinel' | 'price-id' | 'wrong-shape-for-chain' | 'junk';

export type Classified = { readonly ok: true; readonly value: ParsedAddress } | { readonly ok: false; readonly reason: RejectReason };

const EVM = /^0x[0-9a-f]{40}$/i;
const HEX = /^0x[0-9a-f]{1,64}$/i;
const MOVE_TYPE = /^(0x[0-9a-f]{1,64})(::[A-Za-z_][A-Za-z0-9_]*::[A-Za-z_][A-Za-z0-9_]*(?:<.+>)?)$/i;
const SOLANA = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;
const TRON = /^T[1-9A-HJ-NP-Za-km-z]{33}$/;
const TON_FRIENDLY = /^[EUk0][Qf][A-Za-z0-9_-]{46}$/;
const TON_RAW = /^(-1|0):([0-9a-f]{64})$/i;
const BECH32_BTC = /^(bc1|ltc1|tb1)[02-9ac-hj-np-z]{11,87}$/i;
const BASE58_BTC = /^[13LMD9A][1-9A-HJ-NP-Za-km-z]{25,34}$/;
/** Opaque identifiers of other chains: no spaces, long enough not to be a word or a symbol. */
const OTHER = /^[A-Za-z0-9][A-Za-z0-9._:/@-]{19,199}$/;
const NUMERIC_ID = /^\d{1,20}$/;
const SHORT_OTHER = /^(?=.*[0-9._@-])[A-Za-z0-9][A-Za-z0-9._:/@-]{3,199}$/;
/** "coingecko:bitcoin", "cg:ethereum": price-feed ids, not addresses. */
const PRICE_ID = /^(coingecko|cg|coinmarketcap|cmc):/i;
/** "chainkey:rest" (the key never contains ':' itself; Move types start with 0x). */
const CHAIN_PREFIX = /^([A-Za-z][A-Za-z0-9_ .-]{0,40}):(?!:)(.+)$/;

/** Placeholders for "the chain's own coin", never contracts; in normalised form. */
const SENTINELS: ReadonlySet<string> = new Set([
  '0x0000000000000000000000000000000000000000',
  '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',
  '11111111111111111111111111111111', // Solana's system program, "native SOL" to some adapters
  'T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb', // Tron's zero address (base58 of 0x41000...0)
  'EQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAM9c', // TON's zero address, friendly and raw
  '0:0000000000000000000000000000000000000000000000000000000000000000',
]);

const JUNK_WORDS: ReadonlySet<string> = new Set(['-', 'null', 'undefined', 'none', 'nan', 'n/a', '0x', '0', 'native', 'eth', 'unknown']);

const ok = (value: ParsedAddress): Classified => ({ ok: true, value });
const no = (reason: RejectReason): Classified => ({ ok: false, reason });

/** Left-pads the hex part of a Move address to 32 bytes: "0x2" and "0x00..02" are one account. */
function moveAccount(hex: string): string {
  return `0x${hex.slice(2).toLowerCase().padStart(64, '0')}`;
}

/** `chainKey` is undefined when the chain is not known. Never throws: what is not a usable address gets a reason. */
export function classifyAddress(raw: unknown, chainKey: string | undefined): Classified {
  if (typeof raw !== 'string') return no('empty');
  // Fast path for the common case, a well-formed EVM address: nothing to trim, no chain prefix.
  if (raw.length === 42 && raw.charCodeAt(1) === 120 /* x */ && EVM.test(raw)) return classifyBare(raw, chainFamily(chainKey));
  const given = raw.trim();
  if (given === '') return no('empty');
  if (JUNK_WORDS.has(given.toLowerCase())) return no('junk');
  if (PRICE_ID.test(given)) return no('price-id');

  const prefixed = CHAIN_PREFIX.exec(given);
  if (prefixed && !TON_RAW.test(given)) {
    const key = chainKeyForLabel(prefixed[1]!);
    if (key === undefined) return no('junk');
    const inner = classifyAddress(prefixed[2]!, key);
    return inner.ok ? ok({ ...inner.value, chainKey: key }) : inner;
  }
  return classifyBare(given, chainFamily(chainKey));
}

function classifyBare(given: string, family: ChainFamily): Classified {
  const lenient = family === 'unknown' || family === 'other';

  // The hex patterns ignore case ("0X..." too); what they match is lower-cased or re-prefixed below.
  if (EVM.test(given)) {
    const address = given.toLowerCase();
    if (SENTINELS.has(address)) return no('sentinel');
    if (family === 'move') return ok({ family: 'move', address: moveAccount(address), given });
    if (family === 'starknet') return ok({ family: 'other', address, given });
    if (family === 'evm' || family === 'tron' || lenient) return ok({ family: 'evm', address, given });
    return no('wrong-shape-for-chain');
  }

  const moveType = MOVE_TYPE.exec(given);
  if (moveType) {
    if (family !== 'move' && !lenient) return no('wrong-shape-for-chain');
    return ok({ family: 'move', address: `${moveAccount(moveType[1]!)}${moveType[2]!}`, given });
  }

  if (HEX.test(given)) {
    const digits = given.length - 2;
    if (family === 'move') return ok({ family: 'move', address: moveAccount(given), given });
    if (family === 'starknet' || (lenient && digits === 64)) return ok({ family: 'other', address: given.toLowerCase(), given });
    if (/^0x0*$/i.test(given)) return no('sentinel');
    // A 32-byte hex on an EVM chain is an id or a hash, not an address.
    return no(digits === 64 ? 'wrong-shape-for-chain' : 'junk');
  }

  const tonRaw = TON_RAW.exec(given);
  if (tonRaw) {
    const address = `${tonRaw[1]}:${tonRaw[2]!.toLowerCase()}`;
    if (SENTINELS.has(address)) return no('sentinel');
    return family === 'ton' || lenient ? ok({ family: 'ton', address, given }) : no('wrong-shape-for-chain');
  }

  if (SENTINELS.has(given)) return no('sentinel');

  switch (family) {
    case 'solana':
      return SOLANA.test(given) ? ok({ family: 'solana', address: given, given }) : no(rejectShape(given));
    case 'tron':
      return TRON.test(given) ? ok({ family: 'tron', address: given, given }) : no(rejectShape(given));
    case 'ton':
      return TON_FRIENDLY.test(given) ? ok({ family: 'ton', address: given, given }) : no(rejectShape(given));
    case 'bitcoin':
      if (BECH32_BTC.test(given)) return ok({ family: 'bitcoin', address: given.toLowerCase(), given });
      return BASE58_BTC.test(given) ? ok({ family: 'bitcoin', address: given, given }) : no(rejectShape(given));
    case 'evm':
    case 'move':
    case 'starknet':
      return no(rejectShape(given));
    case 'other':
    case 'unknown':
      return classifyByShapeOnly(given, family);
  }
}

/** A chain without a strict format: the shape alone names the family. */
function classifyByShapeOnly(given: string, family: ChainFamily): Classified {
  if (TRON.test(given)) return ok({ family: 'tron', address: given, given });
  if (TON_FRIENDLY.test(given)) return ok({ family: 'ton', address: given, given });
  if (BECH32_BTC.test(given)) return ok({ family: 'bitcoin', address: given.toLowerCase(), given });
  // Solana-shaped; on a chain known to have its own format it stays "other".
  if (SOLANA.test(given)) return ok({ family: family === 'unknown' ? 'solana' : 'other', address: given, given });
  if (OTHER.test(given)) return ok({ family: 'other', address: given, given });
  // On a chain with its own format, shorter ids are real too ("wrap.near", Algorand asset ids); plain words ("USDC") are not.
  if (family === 'other' && (NUMERIC_ID.test(given) ? given.length >= 4 : SHORT_OTHER.test(given))) return ok({ family: 'other', address: given, given });
  return no('junk');
}

function rejectShape(given: string): RejectReason {
  // Address-like for another chain, or junk (words, symbols, URLs). EVM addresses never get here.
  return TRON.test(given) || TON_FRIENDLY.test(given) || SOLANA.test(given) ? 'wrong-shape-for-chain' : 'junk';
}
