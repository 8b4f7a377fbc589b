/**
 * The pro API key is a URL path segment: it must never reach a log line or an error (message,
 * stack, inspected form), whatever fails. The client is called in-process; what the CLI prints and
 * records is checked in test/integrity/secrets.test.ts.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config.js';
import { createDefiLlamaClient, type DefiLlamaClient } from '../../src/defillama/client.js';
import { RequestSpacer } from '../../src/defillama/rate-limiter.js';
import { emptyStats } from '../../src/runs/stats.js';
import { startTestReplica, type TestReplica } from '../helpers/replica.js';

const KEY = 'llama-pro-key-4f1c9e2b7d';

let replica: TestReplica;
before(async () => {
  replica = await startTestReplica({ pools: 50, protocols: 20, chains: 12 });
});
after(async () => {
  await replica.close();
});

function assertClean(what: string, text: string): void {
  assert.ok(!text.includes(KEY), `${what} leaks the key: ${text.slice(0, 400)}`);
}

test('no log line and no error carries the key, through successes, retries and every kind of failure', async () => {
  const lines: string[] = [];
  // A plain pino without the application's redaction hook: the client itself must not pass the key.
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const config = loadConfig({ ...replica.env({ apiKey: KEY }), HTTP_TIMEOUT_MS: '200' });
  const client: DefiLlamaClient = createDefiLlamaClient(config, { stats: emptyStats(), log, retryBaseMs: 2, spacer: new RequestSpacer() });

  replica.setFault('/v2/chains', { kind: 'status', status: 503, times: 1 });
  await client.chains();
  replica.setFault('/pools', { kind: 'malformed', count: 2, times: 1 });
  await client.pools();

  const failures: [string, () => Promise<unknown>, () => void][] = [
    ['5xx', () => client.protocols(), () => replica.setFault('/protocols', { kind: 'status', status: 500 })],
    ['429', () => client.protocols(), () => replica.setFault('/protocols', { kind: 'status', status: 429, retryAfter: 0 })],
    ['403', () => client.protocols(), () => replica.setFault('/protocols', { kind: 'status', status: 403 })],
    ['truncated', () => client.pools(), () => replica.setFault('/pools', { kind: 'truncate' })],
    ['html', () => client.pools(), () => replica.setFault('/pools', { kind: 'html' })],
    ['wrong shape', () => client.poolsOld(), () => replica.setFault('/poolsOld', { kind: 'wrong-shape' })],
    ['timeout', () => client.chains(), () => replica.setFault('/v2/chains', { kind: 'timeout' })],
    ['not found', () => client.protocol('no-such-protocol'), () => undefined],
    ['bad pool id', () => client.poolChart('bad-id'), () => undefined],
  ];
  for (const [what, call, arrange] of failures) {
    replica.clearFaults();
    arrange();
    const error = await call().then(
      () => assert.fail(`${what}: expected a failure`),
      (e: unknown) => e as Error,
    );
    assert.match(error.message, /\/\*\*\*\/(api|yields)\//, `${what}: the message names the redacted URL: ${error.message}`);
    assertClean(`${what} message`, error.message);
    assertClean(`${what} stack`, String(error.stack));
    assertClean(`${what} inspected`, inspect(error, { depth: 5 }));
    assertClean(`${what} cause`, inspect((error as { cause?: unknown }).cause, { depth: 5 }));
  }
  replica.clearFaults();
  assert.ok(lines.length > 10);
  for (const line of lines) assertClean('log line', line);
  assert.ok(lines.some((l) => l.includes('/***/api/')), 'log lines show the redacted URL');
});

test('a key in an error body is masked before the excerpt is cut, wherever the cut falls', async () => {
  const key = 'Zq7fakeKEYw2Lp4Hx9';
  const config = loadConfig({ ...replica.env({ apiKey: key }) });
  const client = createDefiLlamaClient(config, { stats: emptyStats(), log: pino({ level: 'silent' }), retries: 0, spacer: new RequestSpacer() });
  try {
    for (const at of [0, 100, 140, 145, 150, 155, 158, 159, 160, 161, 170]) {
      const body = `${'e'.repeat(Math.max(0, at - 4))}key=${key} and more text after the key`;
      replica.setFault('/protocols', { kind: 'status', status: 500, body });
      const error = await client.protocols().then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e as Error,
      );
      assert.match(error.message, /HTTP 500/);
      // Whatever part of the key fits in the excerpt is masked: "key=" is followed by the mask or the cut.
      assert.doesNotMatch(error.message, /key=[^*…]/, `key at ${at}: ${error.message}`);
      for (let n = 3; n <= key.length; n++) assert.ok(!error.message.includes(key.slice(0, n)), `key at ${at} leaks ${key.slice(0, n)}: ${error.message}`);
    }
  } finally {
    replica.clearFaults();
  }
});
