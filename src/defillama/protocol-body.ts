// /protocol/{slug} bodies reach tens of MB, nearly all `tokens` and `tokensInUsd` series that nothing reads. JSON.parse
// would build them (~5 bytes of memory per body byte); stream-json drops them while reading, so only TVL series are built.
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import Assembler from 'stream-json/assembler.js';
import { ignore } from 'stream-json/filters/ignore.js';

const SKIPPED: ReadonlySet<string> = new Set(['tokens', 'tokensInUsd']);
/** Deepest nesting the parser accepts; a deeper body is refused (real ones nest 4 levels). */
const MAX_DEPTH = 64;
const CHUNK_BYTES = 256 * 1024;

/** A skipped series: top level (`tokens`) or per chain (`chainTvls.<chain>.tokens`). */
function skipped(stack: readonly (string | number | null)[]): boolean {
  const key = stack[stack.length - 1];
  if (typeof key !== 'string' || !SKIPPED.has(key)) return false;
  return stack.length === 1 || (stack.length === 3 && stack[0] === 'chainTvls');
}

/** The body as a value without its token series; rejects with the parser's error on invalid JSON. */
export async function parseProtocolBody(body: Buffer): Promise<unknown> {
  const chunks = function* () {
    for (let i = 0; i < body.length; i += CHUNK_BYTES) yield body.subarray(i, i + CHUNK_BYTES);
  };
  const tokens = Readable.from(chunks(), { objectMode: false }).pipe(ignore.withParserAsStream({ filter: skipped, maxDepth: MAX_DEPTH, streamValues: false }));
  // Assembled as emitted: async iteration would queue a chunk's tokens past young-generation GCs (a third more peak RSS).
  const assembler = Assembler.connectTo(tokens);
  let read = 0;
  tokens.on('data', () => (read += 1));
  await finished(tokens);
  // A body that ends inside a value assembles nothing whole (the parser names most truncations itself).
  if (read === 0 || !assembler.done) throw new SyntaxError('Unexpected end of JSON input');
  return assembler.current;
}
