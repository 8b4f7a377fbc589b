/**
 * A protocol's TVL history from /protocol/{slug}, as one row per UTC date: total TVL, TVL per
 * chain and TVL per section, split exactly as sync-protocols splits the current `chainTvls`, so
 * backfilled and live rows have the same shape.
 */
import { splitChainTvls } from '../defillama/chain-tvls.js';
import type { ApiProtocolDetail, ApiTvlPoint } from '../defillama/schemas.js';
import { HistoryWindow, utcDate } from './dates.js';

export interface ProtocolDay {
  readonly snapshot_date: string;
  readonly tvl: number | null;
  /** {"Ethereum": 1.2e9, ...}: chains only. */
  readonly chain_tvls: Record<string, number>;
  /** {"staking": {"Ethereum": 3.4e6, "total": 3.4e6}, ...} */
  readonly section_tvls: Record<string, Record<string, number>>;
}

/** Points keyed by UTC date; when a date has several points (the latest intra-day one), the last in time wins. */
function byDate(points: readonly ApiTvlPoint[] | null | undefined, window: HistoryWindow): Map<string, number> {
  const sorted = [...(points ?? [])]
    .filter((p) => Number.isFinite(p.date) && Number.isFinite(p.totalLiquidityUSD) && window.admits(p.date * 1000))
    .sort((a, b) => a.date - b.date);
  const out = new Map<string, number>();
  for (const p of sorted) out.set(utcDate(p.date * 1000), p.totalLiquidityUSD);
  return out;
}

/** Points outside `window` (absurd dates) are left out and counted there. */
export function protocolDays(detail: ApiProtocolDetail, window = new HistoryWindow()): ProtocolDay[] {
  const total = byDate(detail.tvl, window);
  const dates = new Set(total.keys());
  const series: [string, Map<string, number>][] = [];
  for (const [key, value] of Object.entries(detail.chainTvls ?? {})) {
    const values = byDate(value?.tvl, window);
    for (const d of values.keys()) dates.add(d);
    series.push([key, values]);
  }
  return [...dates].sort().map((date) => {
    const current: Record<string, number> = {};
    for (const [key, values] of series) {
      const v = values.get(date);
      if (v !== undefined) current[key] = v;
    }
    const { chainTvls, sectionTvls } = splitChainTvls(current);
    return { snapshot_date: date, tvl: total.get(date) ?? null, chain_tvls: chainTvls, section_tvls: sectionTvls as Record<string, Record<string, number>> };
  });
}
