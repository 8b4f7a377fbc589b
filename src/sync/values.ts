// Shapes are already validated; these make a value fit its column, so one odd value becomes a NULL, never a failed load.

export function float(value: unknown): number | null {
  return typeof value === 'number' && !Number.isNaN(value) ? value : null;
}

const INT4_MAX = 2_147_483_647;

export function int4(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= INT4_MAX ? value : null;
}

/** A positive integer id given as a number or a numeric string ("9001"); null otherwise (0 included). */
export function positiveId(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

export function bool(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

export function textArray(value: unknown): string[] | null {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : null;
}

// timestamptz accepts years up to 294276; a date beyond JavaScript's range is not a listing date.
const MAX_UNIX_SECONDS = 8.64e12;

/** Unix seconds as a Date; null when absent or not a plausible time. */
export function unixSeconds(value: unknown): Date | null {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < MAX_UNIX_SECONDS ? new Date(Math.round(value * 1000)) : null;
}

export function object(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}
