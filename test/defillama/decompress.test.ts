/** Response bodies decompressed in one piece: sizes, limits, truncation and refusals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constants as bufferConstants } from 'node:buffer';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { BodyEncodingError, bodyExcerptText, BodyTooLargeError, decompressBody } from '../../src/defillama/decompress.js';

const json = Buffer.from(JSON.stringify({ status: 'success', data: Array.from({ length: 20_000 }, (_, i) => ({ pool: `p-${i}`, tvlUsd: i * 7 })) }));

test('a gzip body decompresses to what was compressed, whether its trailer states the size or only the last member', async () => {
  assert.ok(json.length > 300_000);
  assert.deepEqual(await decompressBody(gzipSync(json), 'gzip', 10_000_000), json);
  // Two members: the trailer holds the second one's size, far less than the whole.
  const half = json.length >> 1;
  const twoMembers = Buffer.concat([gzipSync(json.subarray(0, half)), gzipSync(json.subarray(half, half + 10))]);
  assert.deepEqual(await decompressBody(twoMembers, ' GZIP ', 10_000_000), json.subarray(0, half + 10));
});

test('an uncompressed body is returned as it is', async () => {
  assert.equal(await decompressBody(json, undefined, json.length), json);
  assert.equal(await decompressBody(json, 'identity', json.length), json);
});

test('a body over the limit, compressed or not, is refused', async () => {
  await assert.rejects(decompressBody(gzipSync(json), 'gzip', json.length - 1), BodyTooLargeError);
  await assert.rejects(decompressBody(json, '', json.length - 1), BodyTooLargeError);
  assert.deepEqual(await decompressBody(gzipSync(json), 'gzip', json.length), json);
});

test('a gzip stream cut short gives what it holds; damaged bodies and unknown encodings are refused', async () => {
  const gz = gzipSync(json);
  const cut = await decompressBody(gz.subarray(0, gz.length >> 1), 'gzip', 10_000_000);
  assert.ok(cut.length > 0 && cut.length < json.length);
  assert.deepEqual(cut, json.subarray(0, cut.length));
  await assert.rejects(decompressBody(Buffer.from('this is not gzip at all'), 'gzip', 1000), (e: unknown) => e instanceof BodyEncodingError && e.corrupt && /gzip body that does not decompress/.test(e.message));
  await assert.rejects(decompressBody(json, 'zstd', 10_000_000), (e: unknown) => e instanceof BodyEncodingError && !e.corrupt && /"zstd"/.test(e.message));
});

test('deflate (wrapped or raw) and brotli, from a server that answers in them anyway, are understood', async () => {
  for (const [encoding, bytes] of [['deflate', deflateSync(json)], ['deflate', deflateRawSync(json)], ['br', brotliCompressSync(json)]] as const) {
    assert.deepEqual(await decompressBody(bytes, encoding, 10_000_000), json, encoding);
    await assert.rejects(decompressBody(bytes, encoding, json.length - 1), BodyTooLargeError, encoding);
  }
});

test('a limit above the largest buffer this Node.js can make still decompresses', async () => {
  assert.deepEqual(await decompressBody(gzipSync(json), 'gzip', bufferConstants.MAX_LENGTH + 1_000_000), json);
});

test('an error page is read for its excerpt: compressed or not, large, or not what its header says', () => {
  assert.equal(bodyExcerptText(gzipSync('Bad Gateway'), 'gzip'), 'Bad Gateway');
  assert.equal(bodyExcerptText(brotliCompressSync('Bad Gateway'), 'br'), 'Bad Gateway');
  assert.equal(bodyExcerptText(deflateSync('Bad Gateway'), 'deflate'), 'Bad Gateway');
  assert.equal(bodyExcerptText(Buffer.from('Bad Gateway'), undefined), 'Bad Gateway');
  assert.equal(bodyExcerptText(Buffer.from('Bad Gateway, not gzip'), 'gzip'), 'Bad Gateway, not gzip');
  const page = `<html>${'x'.repeat(2 << 20)}</html>`;
  const excerpt = bodyExcerptText(gzipSync(page), 'gzip', 100);
  assert.equal(excerpt, page.slice(0, 100));
});
