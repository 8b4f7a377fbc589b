// Checks on a record kept whole (the `raw` jsonb column), before its schema. The walk is iterative so it cannot overflow itself.
// - nesting: JSON.stringify, zod and jsonb's parser all recurse, so very deep records would overflow a stack (real ones nest 3-4).
// - NUL: PostgreSQL cannot store it. The record is rejected (and counted), not silently altered to disagree with its source.

/** The record itself is level 1. */
const MAX_RAW_DEPTH = 32;

/** Why a record cannot be kept, or undefined when it can. */
export function rawRecordProblem(record: unknown): string | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const stack: { value: unknown; depth: number; field: string }[] = [{ value: record, depth: 1, field: '' }];
  while (stack.length > 0) {
    const { value, depth, field } = stack.pop()!;
    if (depth > MAX_RAW_DEPTH) return `${field || '(record)'}: nested deeper than ${MAX_RAW_DEPTH} levels`;
    const top = depth === 1;
    if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item === 'string') {
          if (item.includes('\0')) return nulIn(field);
        } else if (typeof item === 'object' && item !== null) {
          stack.push({ value: item, depth: depth + 1, field });
        }
      }
      continue;
    }
    for (const key in value as Record<string, unknown>) {
      const name = top ? key : field;
      if (key.includes('\0')) return nulIn(top ? '(a key)' : field);
      const item = (value as Record<string, unknown>)[key];
      if (typeof item === 'string') {
        if (item.includes('\0')) return nulIn(name);
      } else if (typeof item === 'object' && item !== null) {
        stack.push({ value: item, depth: depth + 1, field: name });
      }
    }
  }
  return undefined;
}

function nulIn(field: string): string {
  return `${field || '(record)'}: contains a NUL character (U+0000), which PostgreSQL cannot store`;
}
