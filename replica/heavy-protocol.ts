/**
 * A `/protocol/<slug>` body grown to a given size in the real shape: the largest real bodies are
 * tens of MB because their `tokens` and `tokensInUsd` series (top level and per chain) list many
 * tokens for every day. The TVL series are left as they are; each token series point lists as
 * many tokens as it takes to reach the size.
 */

type Json = Record<string, unknown>;
type TokenPoint = { date: number; tokens: Record<string, number> };

/** Bytes of one `"TKN00001":123456.789,` entry, near enough to size the token lists. */
const ENTRY_BYTES = 24;
/** Token lists rotate among a few variants, so the points of a series differ like real ones. */
const VARIANTS = 7;

/** The body text of `detail` with its token series grown until the text is about `mb` MB. */
export function heavyProtocolText(detail: Json, mb: number): string {
  const target = mb * 1024 * 1024;
  const base = JSON.stringify(detail).length;
  const series = tokenSeries(detail);
  const points = series.reduce((n, s) => n + s.length, 0);
  if (points === 0 || target <= base) return JSON.stringify(detail);
  const perPoint = Math.max(1, Math.ceil((target - base) / (points * ENTRY_BYTES)));
  const variants = Array.from({ length: VARIANTS }, (_, v) => {
    const tokens: Record<string, number> = {};
    for (let k = 0; k < perPoint; k++) tokens[`TKN${String(k).padStart(5, '0')}`] = Math.round(((k * 7919 + v * 104729) % 1_000_000_000) * 1000) / 1000 + 0.125;
    return tokens;
  });
  const grown: Json = { ...detail };
  const grow = (list: TokenPoint[]) => list.map((p, i) => ({ date: p.date, tokens: variants[i % VARIANTS]! }));
  if (Array.isArray(grown.tokens)) grown.tokens = grow(grown.tokens as TokenPoint[]);
  if (Array.isArray(grown.tokensInUsd)) grown.tokensInUsd = grow(grown.tokensInUsd as TokenPoint[]);
  if (grown.chainTvls && typeof grown.chainTvls === 'object') {
    grown.chainTvls = Object.fromEntries(
      Object.entries(grown.chainTvls as Record<string, Json>).map(([k, v]) => [
        k,
        { ...v, tokens: Array.isArray(v.tokens) ? grow(v.tokens as TokenPoint[]) : v.tokens, tokensInUsd: Array.isArray(v.tokensInUsd) ? grow(v.tokensInUsd as TokenPoint[]) : v.tokensInUsd },
      ]),
    );
  }
  return JSON.stringify(grown);
}

function tokenSeries(detail: Json): unknown[][] {
  const out: unknown[][] = [];
  const add = (v: unknown) => Array.isArray(v) && out.push(v);
  add(detail.tokens);
  add(detail.tokensInUsd);
  for (const v of Object.values((detail.chainTvls ?? {}) as Record<string, Json>)) {
    add(v?.tokens);
    add(v?.tokensInUsd);
  }
  return out;
}
