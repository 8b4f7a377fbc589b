/**
 * A protocol's TVL history from /protocol/{slug}, as one row per UTC date: total TVL, TVL per
 * chain and TVL per section, split exactly as sync-protocols splits the current `chainTvls`, so
 * backfilled and live rows have the same shape.
 */
import { splitChainTvls, type SplitChainTvls } from '../defillama/chain-tvls.js';
import type { ApiProtocolDetail, ApiTvlPoint } from '../defillama/schemas.js';
import { HistoryWindow } from './dates.js';

export interface ProtocolDay {
  readonly snapshot_date: string;
  readonly tvl: number | null;
  /** {"Ethereum": 1.2e9, ...}: chains only. */
  readonly chain_tvls: Record<string, number>;
  /** {"staking": {"Ethereum": 3.4e6, "total": 3.4e6}, ...} */
  readonly section_tvls: SplitChainTvls['sectionTvls'];
}

/** Points outside `window` (absurd dates) are left out and counted there. */
export function protocolDays(detail: ApiProtocolDetail, window = new HistoryWindow()): ProtocolDay[] {
  // When a date has several points (the latest intra-day one), the last in time wins.
  const byDate = (points: readonly ApiTvlPoint[] | null | undefined) =>
    window.byDate((points ?? []).filter((p) => Number.isFinite(p.date) && Number.isFinite(p.totalLiquidityUSD)), (p) => p.date * 1000);
  const total = byDate(detail.tvl);
  const dates = new Set(total.keys());
  const series: [string, Map<string, ApiTvlPoint>][] = [];
  for (const [key, value] of Object.entries(detail.chainTvls ?? {})) {
    const values = byDate(value?.tvl);
    for (const d of values.keys()) dates.add(d);
    series.push([key, values]);
  }
  return [...dates].sort().map((date) => {
    const current: Record<string, number> = {};
    for (const [key, values] of series) {
      const v = values.get(date);
      if (v !== undefined) current[key] = v.totalLiquidityUSD;
    }
    const { chainTvls, sectionTvls } = splitChainTvls(current);
    return { snapshot_date: date, tvl: total.get(date)?.totalLiquidityUSD ?? null, chain_tvls: chainTvls, section_tvls: sectionTvls };
  });
}
