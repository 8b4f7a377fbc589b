import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { formatEta, startProgress } from '../../src/history/progress.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

test('without a terminal, progress is logged every tenth of the work and every 30 s, with rate and ETA', async () => {
  const { log, lines } = capture();
  let clock = 0;
  const p = startProgress({ total: 100, log, label: 'sync-historical', tty: false, now: () => clock });
  const counts = { done: 0, notFound: 0, failed: 0 };
  for (let i = 0; i < 5; i++) {
    clock += 100;
    counts.done += 1;
    p.tick(counts);
  }
  assert.equal(lines.length, 0, 'no line before a tenth is done or 30 s passed');
  for (let i = 0; i < 5; i++) {
    clock += 100;
    counts.done += 1;
    p.tick(counts);
  }
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.msg, 'sync-historical: 10/100 items, 10.0/s, ETA 9s');
  assert.equal(lines[0]!.etaSeconds, 9);
  assert.equal(lines[0]!.ratePerSecond, 10);
  clock += 31_000;
  counts.failed += 1;
  p.tick(counts);
  assert.equal(lines.length, 2, 'a line after 30 s even within the same tenth');
  assert.equal(lines[1]!.failed, 1);
  p.stop({ done: 99, notFound: 1, failed: 0 });
  assert.equal(lines.at(-1)!.msg, 'sync-historical: 100/100 items');
});

test('ETA reads in seconds, minutes or hours', () => {
  assert.equal(formatEta(null), 'unknown');
  assert.equal(formatEta(42), '42s');
  assert.equal(formatEta(125), '2m05s');
  assert.equal(formatEta(3 * 3600 + 7 * 60), '3h07m');
});
