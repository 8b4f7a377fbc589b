// COPY's binary format, written straight into the buffers sent, so a large load is never held a second time. Nothing is
// escaped, and PostgreSQL parses no numbers or array literals: its side of the pools staging COPY takes a third less time.
// https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4 (each value in its type's send format)

/** The type a value is sent as: the staging column must have exactly this type, since binary input is not cast.
 * `json`: a string that is already JSON text storable in jsonb (no NUL, no lone surrogate), for a jsonb column. */
export type ColumnType = 'text' | 'float8' | 'int4' | 'int8' | 'bool' | 'text[]' | 'jsonb' | 'json' | 'timestamptz';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

/** A value as a row mapper hands it over (an object only for jsonb); null or undefined is SQL NULL. */
export type CopyValue = string | number | boolean | Date | readonly (string | null)[] | Readonly<Record<string, unknown>> | null | undefined;

const BUFFER_BYTES = 512 * 1024;
// Signature, flags and header-extension length; the trailer is a field count of -1.
const HEADER = Buffer.from('PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1');
const TEXT_OID = 25;
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const NUMBERS: ReadonlySet<ColumnType> = new Set(['int4', 'int8', 'float8']);

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

// NUL cannot be stored at all: records kept whole are rejected for one earlier (raw-limits.ts); other text drops it.
const storable = (s: string | null) => (s?.includes('\0') ? s.replaceAll('\0', '') : s);

/** Items as COPY binary data (`toRow`: an item's values in column order), in buffers of about 512 kB; a row may span two. */
export function* copyBinary<T>(columns: readonly Column[], items: Iterable<T>, toRow: (item: T) => readonly CopyValue[]): Generator<Buffer> {
  let buf = Buffer.allocUnsafe(BUFFER_BYTES);
  let pos = HEADER.copy(buf);
  const full: Buffer[] = [];
  // Each request keeps room for the widest a row's fixed-width values can be, so writing those never needs a check.
  const reserve = 2 + 12 * columns.length;
  const room = (bytes: number) => {
    if (pos + bytes + reserve <= buf.length) return;
    if (pos > 0) full.push(buf.subarray(0, pos));
    buf = Buffer.allocUnsafe(Math.max(BUFFER_BYTES, bytes + reserve));
    pos = 0;
  };
  // UTF-8 takes at most three bytes per UTF-16 unit; the length is written once known. `version`: jsonb's format.
  const text = (s: string, version?: number) => {
    room(5 + s.length * 3);
    const at = pos;
    pos += 4;
    if (version !== undefined) pos = buf.writeUInt8(version, pos);
    pos += buf.write(s, pos);
    buf.writeInt32BE(pos - at - 4, at);
  };
  for (const item of items) {
    const row = toRow(item);
    room(0);
    pos = buf.writeInt16BE(columns.length, pos);
    for (let i = 0; i < columns.length; i++) {
      const value = row[i];
      const { name, type } = columns[i]!;
      if (value === null || value === undefined) {
        pos = buf.writeInt32BE(-1, pos);
        continue;
      }
      // Node.js would write a string as the number it spells, and an int4 1.5 as 1: a mapper's mistake must not be stored quietly.
      if (NUMBERS.has(type) && !(typeof value === 'number' && (type === 'float8' || Number.isInteger(value)))) throw new TypeError(`COPY column ${name} (${type}) was given ${String(value)}`);
      switch (type) {
        case 'text':
          text(storable(String(value))!);
          break;
        case 'json':
        case 'jsonb':
          text(type === 'json' ? String(value) : jsonbText(value), 1);
          break;
        case 'bool':
          pos = buf.writeUInt8(value ? 1 : 0, buf.writeInt32BE(1, pos));
          break;
        case 'int4':
          pos = buf.writeInt32BE(value as number, buf.writeInt32BE(4, pos));
          break;
        case 'float8':
          pos = buf.writeDoubleBE(value as number, buf.writeInt32BE(8, pos));
          break;
        case 'int8':
          pos = buf.writeBigInt64BE(BigInt(value as number), buf.writeInt32BE(8, pos));
          break;
        case 'timestamptz':
          pos = buf.writeBigInt64BE(BigInt((value as Date).getTime() - PG_EPOCH_MS) * 1000n, buf.writeInt32BE(8, pos));
          break;
        case 'text[]': {
          const elements = (value as readonly (string | null)[]).map(storable);
          room(24 + elements.reduce((n, e) => n + 4 + (e?.length ?? 0) * 3, 0));
          const at = pos;
          // Dimensions (an empty array has none), has-nulls flag, element type; then the one dimension's length and lower bound.
          pos = buf.writeInt32BE(TEXT_OID, buf.writeInt32BE(elements.includes(null) ? 1 : 0, buf.writeInt32BE(elements.length > 0 ? 1 : 0, at + 4)));
          if (elements.length > 0) pos = buf.writeInt32BE(1, buf.writeInt32BE(elements.length, pos));
          for (const e of elements) {
            const bytes = e === null ? -1 : buf.write(e, pos + 4);
            pos = buf.writeInt32BE(bytes, pos) + Math.max(bytes, 0);
          }
          buf.writeInt32BE(pos - at - 4, at);
          break;
        }
      }
    }
    yield* full.splice(0);
  }
  room(0);
  pos = buf.writeInt16BE(-1, pos);
  yield* full.splice(0);
  yield buf.subarray(0, pos);
}
