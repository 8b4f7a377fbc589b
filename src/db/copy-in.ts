/**
 * COPY ... FROM STDIN of text-format lines, packed into buffers as they are produced, so that a
 * large load is never held a second time as text. Cancellation is checked between buffers.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Conn } from './connection.js';

/** COPY data goes to the socket in buffers of about this many bytes. */
const CHUNK_BYTES = 512 * 1024;

/**
 * Sends `lines` (each ending with its newline) to `copySql` on the connection; then, if given,
 * the lines `after` resolves to (lines that had to wait for something).
 */
export async function copyIn(conn: Conn, copySql: string, lines: Iterable<string>, signal: AbortSignal | undefined, after?: () => Promise<Iterable<string>>): Promise<void> {
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let pos = 0;
  function* pack(list: Iterable<string>): Generator<Buffer> {
    for (const line of list) {
      // UTF-8 takes at most three bytes per UTF-16 unit.
      if (CHUNK_BYTES - pos < line.length * 3) {
        if (pos > 0) {
          yield chunk.subarray(0, pos);
          chunk = Buffer.allocUnsafe(CHUNK_BYTES);
          pos = 0;
        }
        signal?.throwIfAborted();
        if (line.length * 3 > CHUNK_BYTES) {
          yield Buffer.from(line);
          continue;
        }
      }
      pos += chunk.write(line, pos);
    }
  }
  function* all(): Generator<Buffer> {
    yield* pack(lines);
    if (pos > 0) yield chunk.subarray(0, pos);
  }
  async function* allThenAfter(): AsyncGenerator<Buffer> {
    yield* pack(lines);
    yield* pack(await after!());
    if (pos > 0) yield chunk.subarray(0, pos);
  }
  // pg-promise types its raw client as a subset of pg's; the connection is a pg.Client.
  const stream = (conn.client as unknown as pg.Client).query(copyStreams.from(copySql));
  await pipeline(Readable.from(after ? allThenAfter() : all(), { objectMode: false }), stream);
}
