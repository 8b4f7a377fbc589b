/**
 * Per-record validation: each record is checked on its own, so one malformed pool is rejected
 * with its reason while the others load.
 */
import type { z } from 'zod';

export interface Rejected {
  index: number;
  key?: string;
  reason: string;
}

export interface Validated<T> {
  records: T[];
  rejected: Rejected[];
}

export function validateRecords<S extends z.ZodType>(
  items: readonly unknown[],
  schema: S,
  keyOf: (record: unknown) => string | undefined,
): Validated<z.output<S>> {
  const records: z.output<S>[] = [];
  const rejected: Rejected[] = [];
  for (let index = 0; index < items.length; index++) {
    const parsed = schema.safeParse(items[index]);
    if (parsed.success) {
      records.push(parsed.data);
    } else {
      const key = keyOf(items[index]);
      const reason = formatIssues(parsed.error.issues);
      rejected.push(key === undefined ? { index, reason } : { index, key, reason });
    }
  }
  return { records, rejected };
}

/** The first few schema issues as one line: "tvlUsd: Invalid input: expected number, received string". */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(record)'}: ${i.message}`)
    .join('; ');
}
