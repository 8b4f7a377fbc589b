// Where a mapping comes from, and the confidence scale users were promised: 1.0 code at the address on-chain, 0.8 two or
// more independent sources agree, 0.6 one reliable source, 0.4 found in free text, 0.2 a low-confidence guess.

export type ContractType = 'pool' | 'lp_token' | 'underlying_token' | 'reward_token' | 'protocol_token' | 'factory' | 'router';

/** The field a claim was read from; each one is an independent source. */
export type SourceName =
  | 'poolsOld.pool_old'
  | 'poolsOld.poolTokenAddress'
  | 'poolsOld.url'
  | 'pools.underlyingTokens'
  | 'pools.rewardTokens'
  | 'pools.poolMeta'
  | 'protocols.address';

/** reliable: the field states the address; heuristic: found in free text; guess: inferred. */
export type SourceKind = 'reliable' | 'heuristic' | 'guess';

/** One element of contract_mappings.data_sources. No timestamps: a rerun must compare equal. */
export interface SourceEntry {
  readonly source: SourceName;
  readonly kind: SourceKind;
  /** The raw value the address was read from (truncated), for tracing a mapping back. */
  readonly value: string;
}

const TIER: Readonly<Record<SourceKind, number>> = Object.freeze({ reliable: 0.6, heuristic: 0.4, guess: 0.2 });
const AGREED = 0.8;

/** Sources read from /poolsOld: optional, so their entries outlive a run that could not read it. */
export const OPTIONAL_SOURCE_PREFIX = 'poolsOld.';

const MAX_VALUE_CHARS = 200;

// NUL and lone surrogates cannot be stored in jsonb (the cheap test first: they are rare).
const MAYBE_UNSTORABLE = /[\0\uD800-\uDFFF]/;
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function entry(source: SourceName, kind: SourceKind, value: string): SourceEntry {
  const cut = value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}…` : value;
  return { source, kind, value: MAYBE_UNSTORABLE.test(cut) ? cut.replace(UNSTORABLE, '\uFFFD') : cut };
}

/** data_sources as PostgreSQL prints jsonb (keys shortest first), so a stored row compares as text; JSON.stringify escapes as jsonb does
 * (a source carried from a row edited by hand may hold anything). */
export function entriesJson(entries: readonly SourceEntry[]): string {
  let out = '[';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    out += `${i > 0 ? ', ' : ''}{"kind": "${e.kind}", "value": ${JSON.stringify(e.value)}, "source": ${JSON.stringify(e.source)}}`;
  }
  return out + ']';
}

/** Stored data_sources read back; undefined when it holds anything else (edited by hand). */
export function parseEntries(json: string): SourceEntry[] | undefined {
  const value: unknown = JSON.parse(json);
  const isEntry = (e: Partial<Record<keyof SourceEntry, unknown>> | null) => typeof e?.source === 'string' && typeof e.value === 'string' && Object.hasOwn(TIER, String(e.kind));
  return Array.isArray(value) && value.every(isEntry) ? (value as SourceEntry[]) : undefined;
}

/** Guesses never count towards agreement. */
export function confidenceOf(entries: readonly SourceEntry[]): number {
  if (entries.length === 1) return TIER[entries[0]!.kind];
  const agreeing = new Set<string>();
  let best = 0;
  for (const e of entries) {
    if (e.kind !== 'guess') agreeing.add(e.source);
    best = Math.max(best, TIER[e.kind]);
  }
  return agreeing.size >= 2 ? AGREED : best;
}

/** One entry per source, in a stable order. */
export function mergeEntries(entries: Iterable<SourceEntry>): SourceEntry[] {
  const bySource = new Map<string, SourceEntry>();
  for (const e of entries) {
    const held = bySource.get(e.source);
    // A reliable reading of a field beats a guess from the same field.
    if (!held || TIER[e.kind] > TIER[held.kind]) bySource.set(e.source, e);
  }
  return [...bySource.values()].sort((a, b) => compare(a.source, b.source));
}

/** Code-unit order: PostgreSQL's under the C collation. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
