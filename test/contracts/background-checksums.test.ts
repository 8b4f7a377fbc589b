/** EIP-55 forms computed on a worker thread, in batches, as map-contracts' first run uses them. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { getAddress } from 'viem';
import type * as Module from '../../src/contracts/background-checksums.js';

// The compiled module, whose worker thread runs the compiled checksum-worker.js (npm test builds
// first); from the TypeScript sources the worker cannot start and every form is left to the writer.
const compiled = pathToFileURL(join(process.cwd(), 'dist', 'src', 'contracts', 'background-checksums.js')).href;
const { BackgroundChecksums } = (await import(compiled)) as typeof Module;

test('the worker finds EVM addresses in any value and delivers their EIP-55 forms', async () => {
  const checksums = new BackgroundChecksums();
  try {
    const many = Array.from({ length: 5000 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}`);
    checksums.add(['0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED', '', 'https://app.example.org/pool/0x1a9611e76f823e59a76bb33d39e1eda828a22982?x=1', 'no address here', '0x123'].join('\n'));
    checksums.add(many.join('\n'));
    await checksums.done();
    assert.equal(checksums.forms.get('0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed'), '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed' /* EIP-55's own example */);
    assert.equal(checksums.forms.get('0x1a9611e76f823e59a76bb33d39e1eda828a22982'), getAddress('0x1a9611e76f823e59a76bb33d39e1eda828a22982'));
    assert.equal(checksums.forms.size, 2 + many.length, 'one form per distinct address; short hex is not an address');
    for (const a of many.slice(0, 50)) assert.equal(checksums.forms.get(a), getAddress(a));
  } finally {
    await checksums.close();
  }
});

test('after close, done() still resolves, with nothing more delivered', async () => {
  const checksums = new BackgroundChecksums();
  await checksums.close();
  checksums.add('0x5aeda56215b167893e80b4fe645ba6d5bab767de');
  await checksums.done();
  assert.equal(checksums.forms.size, 0);
});

test('a worker that dies answers nothing more and never makes its caller wait', async () => {
  const checksums = new BackgroundChecksums();
  try {
    checksums.add(Array.from({ length: 20_000 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, 'a')}`).join('\n'));
    // As a crash would: the thread ends with a batch still unanswered.
    await (checksums as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await checksums.done();
    checksums.add('0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359');
    await checksums.done();
    assert.equal(checksums.forms.has('0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359'), false);
  } finally {
    await checksums.close();
  }
});
