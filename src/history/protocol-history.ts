/** A protocol's TVL history, one row per UTC date, split as sync-protocols splits `chainTvls` so the rows match live ones. */
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

export function protocolDays(detail: ApiProtocolDetail, window = new HistoryWindow()): ProtocolDay[] {
  // A date may have several points (the latest intra-day one): byDate keeps the last.
  const byDate = (points: readonly ApiTvlPoint[] | null | undefined) =>
    window.byDate((points ?? []).filter((p) => Number.isFinite(p.date) && Number.isFinite(p.totalLiquidityUSD)), (p) => p.date * 1000);
  const total = byDate(detail.tvl);
  const series = Object.entries(detail.chainTvls ?? {}).map(([key, value]) => [key, byDate(value?.tvl)] as const);
  const dates = new Set([total, ...series.map(([, values]) => values)].flatMap((values) => [...values.keys()]));
  return [...dates].sort().map((date) => {
    // A series without a point on this date gives undefined, which splitChainTvls skips.
    const { chainTvls, sectionTvls } = splitChainTvls(Object.fromEntries(series.map(([key, values]) => [key, values.get(date)?.totalLiquidityUSD])));
    return { snapshot_date: date, tvl: total.get(date)?.totalLiquidityUSD ?? null, chain_tvls: chainTvls, section_tvls: sectionTvls };
  });
}
