/**
 * Per-record validation: each record is checked on its own, so one malformed pool is rejected
 * with its reason while the others load.
 *
 * Memory: zod builds a new object for every record. When a schema cannot change a value (no
 * transforms, defaults or overwriting checks: see isIdentitySchema) the parsed input record is
 * kept instead, so zod's copies die young and a 50,000-pool response is not held twice.
 */
import type { z } from 'zod';
import { rawRecordProblem } from './raw-limits.js';
import { MAX_KEY_CHARS } from './schemas.js';

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

/**
 * The parsed records of one response, each validated when it is read. A writer that reads them
 * one by one validates while the database ingests what it already sent, instead of validating
 * the whole response first. Read each index once: `rejected` grows as malformed records are met.
 */
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
    this.keepInput = isIdentitySchema(schema);
  }

  get length(): number {
    return this.items.length;
  }

  /** The record at `index` when it is valid; otherwise undefined, and noted in `rejected`. */
  at(index: number): T | undefined {
    const item = this.items[index];
    const problem = this.keptWhole ? rawRecordProblem(item) : undefined;
    if (problem === undefined) {
      const parsed = this.schema.safeParse(item);
      if (parsed.success) return (this.keepInput ? item : parsed.data) as T;
      return this.reject(index, item, formatIssues(parsed.error.issues));
    }
    return this.reject(index, item, problem);
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

const LEAVES = new Set(['string', 'number', 'boolean', 'unknown', 'any', 'null', 'undefined', 'literal', 'enum', 'bigint']);
/** Checks that only accept or refuse; "overwrite" (trim, toLowerCase...) changes the value. */
const PURE_CHECKS = new Set(['string_format', 'min_length', 'max_length', 'length_equals', 'greater_than', 'less_than', 'multiple_of', 'number_format', 'custom']);
const identity = new WeakMap<object, boolean>();

/** True when every value the schema accepts comes out unchanged (only loose objects, no transforms or defaults). */
export function isIdentitySchema(schema: z.ZodType): boolean {
  const known = identity.get(schema);
  if (known !== undefined) return known;
  identity.set(schema, false); // recursive schemas: assume the worst while looking
  const result = check(schema);
  identity.set(schema, result);
  return result;
}

type AnyDef = {
  type: string;
  checks?: { _zod: { def: { check: string } } }[];
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  keyType?: z.ZodType;
  valueType?: z.ZodType;
};

function check(schema: z.ZodType): boolean {
  const def = (schema as unknown as { _zod: { def: AnyDef } })._zod.def;
  if (def.checks?.some((c) => !PURE_CHECKS.has(c._zod.def.check))) return false;
  if (LEAVES.has(def.type)) return true;
  switch (def.type) {
    case 'optional':
    case 'nullable':
      return isIdentitySchema(def.innerType!);
    case 'array':
      return isIdentitySchema(def.element!);
    case 'union':
      return def.options!.every(isIdentitySchema);
    case 'record':
      return isIdentitySchema(def.keyType!) && isIdentitySchema(def.valueType!);
    case 'object':
      // Only loose objects: a stripping object drops unknown keys, so its output differs.
      return (
        def.catchall !== undefined &&
        (def.catchall as unknown as { _zod: { def: AnyDef } })._zod.def.type === 'unknown' &&
        Object.values(def.shape!).every(isIdentitySchema)
      );
    default:
      return false; // pipe, transform, default, catch, ...: may change the value
  }
}
