/** A pool's history from /chart/{pool}, as one row per UTC date (the day's last point wins). */
import type { ApiChartPoint } from '../defillama/schemas.js';
import { HistoryWindow } from './dates.js';

export interface PoolDay {
  readonly snapshot_date: string;
  readonly tvl_usd: number | null;
  readonly apy: number | null;
  readonly apy_base: number | null;
  readonly apy_reward: number | null;
  readonly il7d: number | null;
  readonly apy_base_7d: number | null;
}

export function poolDays(points: readonly ApiChartPoint[], window = new HistoryWindow()): PoolDay[] {
  // Newer points are the day's last hourly sample and the final one may be intra-day.
  return [...window.byDate(points, (p) => Date.parse(p.timestamp))].map(([date, p]) => ({
    snapshot_date: date,
    tvl_usd: p.tvlUsd ?? null,
    apy: p.apy ?? null,
    apy_base: p.apyBase ?? null,
    apy_reward: p.apyReward ?? null,
    il7d: p.il7d ?? null,
    apy_base_7d: p.apyBase7d ?? null,
  }));
}
