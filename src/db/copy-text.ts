// COPY text format, built row by row so no second copy of a large response is held in memory.
// https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2

/** `json`: a string that is already JSON text storable in jsonb (no NUL, no lone surrogate). */
export type ColumnType = 'text' | 'float8' | 'int4' | 'int8' | 'bool' | 'text[]' | 'jsonb' | 'json' | 'timestamptz';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

/** A value as a row mapper hands it over (an object only for jsonb); null or undefined is SQL NULL. */
export type CopyValue = string | number | boolean | Date | readonly (string | null)[] | Readonly<Record<string, unknown>> | null | undefined;

const NULL = '\\N';
// NUL cannot be stored at all: records kept whole are rejected for one earlier (raw-limits.ts); other text drops it.
const SPECIAL = /[\\\t\n\r\0]/;
const SPECIAL_ALL = /[\\\t\n\r\0]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '' };

function escapeText(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIAL_ALL, (c) => ESCAPES[c]!) : s;
}

// JSON.stringify escapes tab, newline, CR and NUL, so only backslashes need escaping (a substring search is much cheaper).
function escapeJson(json: string): string {
  return json.includes('\\') ? json.replaceAll('\\', '\\\\') : json;
}

// Always quoted: that keeps commas, braces, spaces and the word NULL inside an element literal.
function arrayLiteral(items: readonly (string | null)[]): string {
  const elements = items.map((item) => (item === null || item === undefined ? 'NULL' : `"${item.replace(/[\\"]/g, '\\$&')}"`));
  return `{${elements.join(',')}}`;
}

/** jsonb rejects the \u escapes JSON.stringify writes for U+0000 and lone surrogates; one must not fail a load: they become U+FFFD. */
export function jsonbText(value: unknown): string {
  const json = JSON.stringify(value);
  if (!json.includes('\\u')) return json;
  return json.replace(/(\\*)\\u(0000|[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?|[dD][c-fC-F][0-9a-fA-F]{2})/g, (whole, slashes: string, code: string) => {
    // An odd run of backslashes before "u" means the backslash is itself escaped: literal text.
    if (slashes.length % 2 === 1) return whole;
    if (code.length > 4) return whole; // a well-formed surrogate pair
    return `${slashes}\\ufffd`;
  });
}

function encode(value: CopyValue, type: ColumnType): string {
  if (value === null || value === undefined) return NULL;
  switch (type) {
    case 'text':
      return escapeText(String(value));
    case 'float8':
    case 'int4':
    case 'int8':
      return typeof value === 'number' ? String(value) : escapeText(String(value));
    case 'bool':
      return value ? 't' : 'f';
    case 'text[]':
      return escapeText(arrayLiteral(value as readonly (string | null)[]));
    case 'jsonb':
      return escapeJson(jsonbText(value));
    case 'json':
      return escapeJson(String(value));
    case 'timestamptz':
      return value instanceof Date ? value.toISOString() : escapeText(String(value));
  }
}

/** One line of COPY text (with its newline) for values in column order. */
export function copyLine(columns: readonly Column[], values: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < columns.length; i++) {
    if (i > 0) line += '\t';
    line += encode(values[i], columns[i]!.type);
  }
  return line + '\n';
}
