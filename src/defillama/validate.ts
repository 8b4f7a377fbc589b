// Each record is checked on its own, so one malformed pool is rejected with its reason while the others load.
import type { z } from 'zod';
import { rawRecordProblem } from './raw-limits.js';
import { KEPT_AS_PARSED, MAX_KEY_CHARS } from './schemas.js';

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
  return new RecordBatch<z.output<S>>(items, schema, keyOf).all();
}

// Records are validated when read, so a writer validates while the database ingests what it already sent.
// Read each index once: `rejected` grows as malformed records are met.
export class RecordBatch<T> {
  readonly rejected: Rejected[] = [];
  private readonly keepInput: boolean;

  constructor(
    readonly items: readonly unknown[],
    private readonly schema: z.ZodType,
    private readonly keyOf: (record: unknown) => string | undefined,
    /** Where the records came from (a redacted URL), for messages. */
    readonly source = '',
    /** The records are stored whole: check their nesting and text first (see raw-limits.ts). */
    private readonly keptWhole = false,
  ) {
    this.keepInput = KEPT_AS_PARSED.has(schema);
  }

  get length(): number {
    return this.items.length;
  }

  /** The record at `index` when it is valid; otherwise undefined, and noted in `rejected`. */
  at(index: number): T | undefined {
    const item = this.items[index];
    const problem = this.keptWhole ? rawRecordProblem(item) : undefined;
    if (problem !== undefined) return this.reject(index, item, problem);
    const parsed = this.schema.safeParse(item);
    if (parsed.success) return (this.keepInput ? item : parsed.data) as T;
    return this.reject(index, item, formatIssues(parsed.error.issues));
  }

  private reject(index: number, item: unknown, reason: string): undefined {
    const key = this.keyOf(item);
    // A key too long to be a real one names no row; it is left out rather than carried around.
    this.rejected.push(key === undefined || key.length > MAX_KEY_CHARS ? { index, reason } : { index, key, reason });
    return undefined;
  }

  /** Every valid record in order, and the rejected ones. */
  all(): Validated<T> {
    const records: T[] = [];
    for (let i = 0; i < this.items.length; i++) {
      const record = this.at(i);
      if (record !== undefined) records.push(record);
    }
    return { records, rejected: this.rejected };
  }
}

/** The first few schema issues as one line: "tvlUsd: Invalid input: expected number, received string". */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(record)'}: ${i.message}`)
    .join('; ');
}
