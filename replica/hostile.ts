/**
 * Hostile records for the replica's `hostile` fault: a served body with poisoned records or points
 * added, the rest untouched. Each case is one way real upstream data has broken a sync:
 *
 * - long-field: a key text field (a pool's project, a protocol's slug, a chain's name) of 8 kB
 *   of incompressible text;
 * - deep-nesting: a field nested 6,000 levels deep;
 * - non-finite: a number written as the literal 1e400 (Infinity once parsed);
 * - nul: a NUL character (U+0000) in a text field;
 * - absurd-dates: history points dated 1970-01-01 and 2999-01-01 (/chart and /protocol).
 *
 * The body is returned as text: the deep nesting and 1e400 cannot go through JSON.stringify.
 */
import { randomBytes } from 'node:crypto';

export const HOSTILE_CASES = ['long-field', 'deep-nesting', 'non-finite', 'nul', 'absurd-dates'] as const;
export type HostileCase = (typeof HOSTILE_CASES)[number];

export const DEEP_LEVELS = 6_000;
const LONG_FIELD_BYTES = 8 * 1024;
// Markers that stand for the values JSON.stringify cannot write, replaced in the text.
const DEEP_MARK = '__replica_deep_nesting__';
const HUGE_MARK = '__replica_1e400__';
const deepText = `${'{"a":'.repeat(DEEP_LEVELS)}1${'}'.repeat(DEEP_LEVELS)}`;

/** Absurd dates: the epoch and a far future day. */
export const ABSURD_DATES = ['1970-01-01', '2999-01-01'] as const;

type Rec = Record<string, unknown>;

/** The body text of `value` (a response of `route`) with the hostile records or points of `cases` added. */
export function hostileBody(value: unknown, route: string, cases: readonly HostileCase[]): string {
  const poisoned = route.startsWith('/chart/')
    ? poisonChart(value, cases)
    : route.startsWith('/protocol/')
      ? poisonProtocol(value, cases)
      : poisonList(value, route, cases);
  return JSON.stringify(poisoned).replaceAll(`"${DEEP_MARK}"`, deepText).replaceAll(`"${HUGE_MARK}"`, '1e400');
}

function records(value: unknown): { list: unknown[]; wrap: (list: unknown[]) => unknown } | undefined {
  if (Array.isArray(value)) return { list: value, wrap: (list) => list };
  if (value && typeof value === 'object' && Array.isArray((value as { data?: unknown }).data)) {
    return { list: (value as { data: unknown[] }).data, wrap: (list) => ({ ...(value as object), data: list }) };
  }
  return undefined;
}

/** Fields per list route: the key (kept unique), the long key text, the nested, numeric and text fields. */
const LIST_FIELDS: Record<string, { key: string; long: string; deep: string; number: string; text: string }> = {
  '/pools': { key: 'pool', long: 'project', deep: 'poolMeta', number: 'tvlUsd', text: 'symbol' },
  '/protocols': { key: 'slug', long: 'slug', deep: 'description', number: 'tvl', text: 'symbol' },
  '/v2/chains': { key: 'name', long: 'name', deep: 'tokenSymbol', number: 'tvl', text: 'tokenSymbol' },
};

function poisonList(value: unknown, route: string, cases: readonly HostileCase[]): unknown {
  const found = records(value);
  const fields = LIST_FIELDS[route];
  if (!found || !fields || found.list.length === 0) return value;
  const template = found.list[0] as Rec;
  const added: Rec[] = [];
  let n = 0;
  for (const c of cases) {
    if (c === 'absurd-dates') continue; // list records carry no history dates
    n += 1;
    const rec: Rec = { ...template, [fields.key]: uniqueKey(route, n) };
    if (route === '/protocols') rec.id = `hostile-${n}`;
    if (c === 'long-field') rec[fields.long] = randomBytes((LONG_FIELD_BYTES * 3) / 4).toString('base64');
    else if (c === 'deep-nesting') rec[fields.deep] = DEEP_MARK;
    else if (c === 'non-finite') rec[fields.number] = HUGE_MARK;
    else if (c === 'nul') rec[fields.text] = 'HOST\u0000ILE';
    added.push(rec);
  }
  return found.wrap([...found.list, ...added]);
}

function uniqueKey(route: string, n: number): string {
  if (route === '/pools') return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return `hostile-${n}`;
}

function poisonChart(value: unknown, cases: readonly HostileCase[]): unknown {
  const found = records(value);
  if (!found) return value;
  const template = (found.list[0] ?? { tvlUsd: 1, apy: 1 }) as Rec;
  const added: Rec[] = [];
  for (const c of cases) {
    if (c === 'absurd-dates') for (const d of ABSURD_DATES) added.push({ ...template, timestamp: `${d}T00:00:00.000Z` });
    else if (c === 'non-finite') added.push({ ...template, tvlUsd: HUGE_MARK });
    else if (c === 'deep-nesting') added.push({ ...template, extra: DEEP_MARK });
  }
  return found.wrap([...added, ...found.list]);
}

function poisonProtocol(value: unknown, cases: readonly HostileCase[]): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value) || !cases.includes('absurd-dates')) return value;
  const detail = { ...(value as Rec) };
  const absurd = ABSURD_DATES.map((d) => ({ date: Date.parse(`${d}T00:00:00Z`) / 1000, totalLiquidityUSD: 1 }));
  if (Array.isArray(detail.tvl)) detail.tvl = [...absurd, ...detail.tvl];
  if (detail.chainTvls && typeof detail.chainTvls === 'object') {
    detail.chainTvls = Object.fromEntries(
      Object.entries(detail.chainTvls as Record<string, Rec>).map(([k, v]) => [k, Array.isArray(v?.tvl) ? { ...v, tvl: [...absurd, ...v.tvl] } : v]),
    );
  }
  return detail;
}
