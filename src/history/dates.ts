/** UTC calendar dates as 'YYYY-MM-DD' strings: the key of every snapshot row. */
import { fail, ok, type Parsed } from '../config.js';

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function utcDate(time: Date | number): string {
  return new Date(time).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return utcDate(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS);
}

/** A real calendar date in YYYY-MM-DD form, not after today (UTC). */
export function pastDate(raw: string): Parsed<string> {
  const text = raw.trim();
  const m = ISO_DATE.exec(text);
  if (!m || utcDate(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) !== text) return fail('a calendar date as YYYY-MM-DD');
  const today = utcDate(new Date());
  return text <= today ? ok(text) : fail(`a date that is not in the future (today is ${today}, UTC)`);
}

/** DeFiLlama's history starts in 2018; a point before 2017 is an upstream error (often 1970-01-01) that would make partitions. */
export const HISTORY_START = '2017-01-01';

/** HISTORY_START to tomorrow (UTC, for clocks a little ahead); a point outside is rejected and counted, the others load. */
export class HistoryWindow {
  rejected = 0;
  private readonly fromMs = Date.parse(`${HISTORY_START}T00:00:00Z`);
  // Exclusive: the start of the day after tomorrow.
  private readonly toMs = Date.parse(`${addDays(utcDate(Date.now()), 2)}T00:00:00Z`);

  /** The points on kept dates keyed by UTC date, in date order; of a date's points, the last in time wins. */
  byDate<P>(points: readonly P[], timeMs: (p: P) => number): Map<string, P> {
    const kept = points.map((p) => ({ p, t: timeMs(p) })).filter(({ t }) => t >= this.fromMs && t < this.toMs);
    this.rejected += points.length - kept.length;
    return new Map(kept.sort((a, b) => a.t - b.t).map(({ p, t }) => [utcDate(t), p]));
  }
}
