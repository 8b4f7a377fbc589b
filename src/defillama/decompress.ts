/**
 * Response bodies are asked for gzip-compressed and decompressed here in one piece, on libuv's
 * thread pool. The gzip trailer states the decompressed size, so zlib fills one buffer of that
 * size instead of handing over 16 kB chunks one at a time (2,600 for /poolsOld), each with its
 * allocation and callback on the main thread and a final copy of them all: that took about
 * 2.5 times the CPU, most of it on the thread that also parses and writes. A server or proxy
 * that answers in deflate or brotli anyway is understood too.
 */
import { constants as bufferConstants } from 'node:buffer';
import { promisify } from 'node:util';
import { brotliDecompress, brotliDecompressSync, constants, gunzip, gunzipSync, inflate, inflateRaw, inflateRawSync, inflateSync, type ZlibOptions } from 'node:zlib';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);
const brotliAsync = promisify(brotliDecompress);

/** The body would exceed the size limit once decompressed. */
export class BodyTooLargeError extends Error {}

/** The body is in an unknown encoding or does not decompress (`corrupt`: worth asking again). */
export class BodyEncodingError extends Error {
  constructor(
    message: string,
    readonly corrupt: boolean,
  ) {
    super(message);
  }
}

/** JSON compresses well, but not beyond this: a larger stated size is not trusted as a buffer size. */
const MAX_PLAUSIBLE_RATIO = 64;
const DEFAULT_CHUNK = 1 << 20;
/** The longest buffer this Node.js can make (4 GiB on Node 20): zlib refuses a larger limit. */
const MAX_BUFFER = bufferConstants.MAX_LENGTH;

/** The body as received (Content-Encoding gzip, deflate, br or none), decompressed, at most `maxBytes` long. */
export async function decompressBody(bytes: Buffer, encoding: unknown, maxBytes: number): Promise<Buffer> {
  const name = String(encoding ?? '').trim().toLowerCase();
  if (name === '' || name === 'identity') {
    if (bytes.length > maxBytes) throw new BodyTooLargeError();
    return bytes;
  }
  const limit = Math.min(maxBytes, MAX_BUFFER);
  // A stream cut short decompresses as far as it goes, so that the JSON parser names the truncation.
  const options: ZlibOptions = { maxOutputLength: limit, finishFlush: constants.Z_SYNC_FLUSH };
  try {
    if (name === 'gzip' || name === 'x-gzip') {
      // ISIZE, the last four bytes: the size (mod 2^32) of the last member. Only a hint.
      const stated = bytes.length >= 18 ? bytes.readUInt32LE(bytes.length - 4) : 0;
      const plausible = stated > 0 && stated <= bytes.length * MAX_PLAUSIBLE_RATIO;
      const chunkSize = Math.max(64 * 1024, Math.min(plausible ? stated + 1 : DEFAULT_CHUNK, limit + 1, MAX_BUFFER));
      return await gunzipAsync(bytes, { ...options, chunkSize });
    }
    if (name === 'deflate') {
      // "deflate" is zlib-wrapped by the standard and raw in practice: both are seen.
      return await inflateAsync(bytes, { ...options, chunkSize: DEFAULT_CHUNK }).catch((error: unknown) =>
        isTooLarge(error) ? Promise.reject(error) : inflateRawAsync(bytes, { ...options, chunkSize: DEFAULT_CHUNK }),
      );
    }
    if (name === 'br') return await brotliAsync(bytes, { maxOutputLength: limit, chunkSize: DEFAULT_CHUNK });
  } catch (error) {
    if (isTooLarge(error)) throw new BodyTooLargeError();
    throw new BodyEncodingError(`a ${name} body that does not decompress (${error instanceof Error ? error.message : String(error)})`, true);
  }
  throw new BodyEncodingError(`a body in an unknown encoding (${JSON.stringify(name)})`, false);
}

function isTooLarge(error: unknown): boolean {
  return (error as { code?: string } | null)?.code === 'ERR_BUFFER_TOO_LARGE';
}

/**
 * The start of an error page, decompressed if it can be, for its excerpt: at most `maxChars`
 * characters from the first compressed bytes; the bytes as they are if they do not decompress.
 */
export function bodyExcerptText(bytes: Buffer, encoding: unknown, maxChars = 65_536): string {
  const name = String(encoding ?? '').trim().toLowerCase();
  const decoders: Record<string, (b: Buffer, o: ZlibOptions) => Buffer> = {
    gzip: gunzipSync,
    'x-gzip': gunzipSync,
    deflate: (b, o) => {
      try {
        return inflateSync(b, o);
      } catch {
        return inflateRawSync(b, o);
      }
    },
    br: (b, o) => brotliDecompressSync(b, { maxOutputLength: o.maxOutputLength, finishFlush: constants.BROTLI_OPERATION_FLUSH }),
  };
  const decode = decoders[name];
  let plain = bytes;
  if (decode) {
    // A prefix of the compressed bytes is enough for an excerpt; smaller ones if that one
    // decompresses to too much.
    plain = Buffer.alloc(0);
    for (const prefix of [64 * 1024, 4 * 1024, 512]) {
      try {
        plain = decode(bytes.subarray(0, prefix), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 8 << 20 });
        break;
      } catch (error) {
        if (!isTooLarge(error)) {
          plain = bytes;
          break;
        }
      }
    }
  }
  return plain.subarray(0, maxChars * 4).toString('utf8').slice(0, maxChars);
}
