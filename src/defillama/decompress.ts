/**
 * Response bodies are asked for gzip-compressed and decompressed here in one piece, on libuv's
 * thread pool. The gzip trailer states the decompressed size, so zlib fills one buffer of that
 * size instead of handing over 16 kB chunks one at a time (2,600 for /poolsOld), each with its
 * allocation and callback on the main thread and a final copy of them all: that took about
 * 2.5 times the CPU, most of it on the thread that also parses and writes.
 */
import { promisify } from 'node:util';
import { constants, gunzip, gunzipSync } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

/** The body would exceed the size limit once decompressed. */
export class BodyTooLargeError extends Error {}

/** The body came in an encoding that was not asked for, or does not decompress. */
export class BodyEncodingError extends Error {}

/** JSON compresses well, but not beyond this: a larger stated size is not trusted as a buffer size. */
const MAX_PLAUSIBLE_RATIO = 64;
const DEFAULT_CHUNK = 1 << 20;

/** The body as received (Content-Encoding gzip or none), decompressed, at most `maxBytes` long. */
export async function decompressBody(bytes: Buffer, encoding: unknown, maxBytes: number): Promise<Buffer> {
  const name = String(encoding ?? '').trim().toLowerCase();
  if (name === '' || name === 'identity') {
    if (bytes.length > maxBytes) throw new BodyTooLargeError();
    return bytes;
  }
  if (name !== 'gzip' && name !== 'x-gzip') throw new BodyEncodingError(`a body in an encoding that was not asked for (${JSON.stringify(name)})`);
  // ISIZE, the last four bytes: the size (mod 2^32) of the last member. Only a hint.
  const stated = bytes.length >= 18 ? bytes.readUInt32LE(bytes.length - 4) : 0;
  const plausible = stated > 0 && stated <= bytes.length * MAX_PLAUSIBLE_RATIO;
  const chunkSize = Math.max(64 * 1024, Math.min(plausible ? stated + 1 : DEFAULT_CHUNK, maxBytes + 1));
  try {
    // A stream cut short decompresses as far as it goes, so that the JSON parser names the truncation.
    return await gunzipAsync(bytes, { chunkSize, maxOutputLength: maxBytes, finishFlush: constants.Z_SYNC_FLUSH });
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new BodyTooLargeError();
    throw new BodyEncodingError(`a gzip body that does not decompress (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** The start of a small body (an error page), decompressed if it can be; '' if not. */
export function bodyExcerptText(bytes: Buffer, encoding: unknown, maxChars = 65_536): string {
  try {
    const plain = /gzip/i.test(String(encoding ?? '')) ? gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 1 << 20 }) : bytes;
    return plain.subarray(0, maxChars).toString('utf8');
  } catch {
    return '';
  }
}
