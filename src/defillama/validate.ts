/**
 * Per-record validation: each record is checked on its own, so one malformed pool is rejected
 * with its reason while the others load.
 *
 * Memory: zod builds a new object for every record. When a schema cannot change a value (no
 * transforms, defaults or overwriting checks: see isIdentitySchema) the parsed input record is
 * kept instead, so zod's copies die young and a 50,000-pool response is not held twice.
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
  const keepInput = isIdentitySchema(schema);
  const records: z.output<S>[] = [];
  const rejected: Rejected[] = [];
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    const parsed = schema.safeParse(item);
    if (parsed.success) {
      records.push(keepInput ? (item as z.output<S>) : parsed.data);
    } else {
      const key = keyOf(item);
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
