/** UTC calendar dates as 'YYYY-MM-DD' strings: the key of every snapshot row. */
import { ConfigError } from '../errors.js';

const DAY_MS = 86_400_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function utcDate(time: Date | number): string {
  return new Date(time).toISOString().slice(0, 10);
}

export function addDays(date: string, days: number): string {
  return utcDate(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS);
}

/** A real calendar date in YYYY-MM-DD form, or a ConfigError naming the flag. */
export function parseDateOption(flag: string, raw: unknown): string {
  const text = String(raw).trim();
  const m = ISO_DATE.exec(text);
  if (m) {
    const parsed = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    if (utcDate(parsed) === text) return text;
  }
  throw new ConfigError(`${flag} must be a calendar date as YYYY-MM-DD, got ${JSON.stringify(text)}`);
}
