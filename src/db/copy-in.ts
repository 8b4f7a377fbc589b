// Lines are packed into buffers as they are produced, so a large load is never held a second time as text.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate } from 'node:timers/promises';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Conn } from './connection.js';

const CHUNK_BYTES = 512 * 1024;

/** `lines` each end with their newline; cancellation is checked between buffers. */
export async function copyIn(conn: Conn, copySql: string, lines: Iterable<string>, signal: AbortSignal | undefined): Promise<void> {
  async function* chunks(): AsyncGenerator<Buffer> {
    let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let pos = 0;
    for (const line of lines) {
      // UTF-8 takes at most three bytes per UTF-16 unit.
      if (CHUNK_BYTES - pos < line.length * 3) {
        if (pos > 0) {
          yield chunk.subarray(0, pos);
          // While PostgreSQL keeps up, nothing else lets the event loop turn (timers, signals, I/O) until the last line.
          await setImmediate();
          chunk = Buffer.allocUnsafe(CHUNK_BYTES);
          pos = 0;
        }
        signal?.throwIfAborted();
        if (line.length * 3 > CHUNK_BYTES) {
          yield Buffer.from(line);
          await setImmediate();
          continue;
        }
      }
      pos += chunk.write(line, pos);
    }
    if (pos > 0) yield chunk.subarray(0, pos);
  }
  // pg-promise types its raw client as a subset of pg's; the connection is a pg.Client.
  const stream = (conn.client as unknown as pg.Client).query(copyStreams.from(copySql));
  await pipeline(Readable.from(chunks(), { objectMode: false }), stream);
}
