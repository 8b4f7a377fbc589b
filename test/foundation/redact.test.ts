/** redact(): which secrets it learns and how it masks them. */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { clearSecrets, maskedExcerpt, quotedExcerpt, redact, redactUrl, registerSecret, registerUrlSecrets } from '../../src/redact.js';

afterEach(() => clearSecrets());

test('a registered secret is masked wherever it appears, trimmed of surrounding blanks', () => {
  registerSecret('  Kx81pQz7  ');
  assert.equal(redact('key=Kx81pQz7; again Kx81pQz7.'), 'key=***; again ***.');
});

test('values of fewer than 4 characters are not secrets; 4 are; an unset setting is none', () => {
  // loadConfig registers every secret setting, set or not.
  for (const unset of [undefined, null, '', '   ']) registerSecret(unset);
  assert.equal(redact('text with   blanks'), 'text with   blanks');
  registerSecret('ab1');
  assert.equal(redact('ab1 cab1'), 'ab1 cab1');
  registerSecret('Zq4w');
  assert.equal(redact('id Zq4w'), 'id ***');
});

test('the URL-encoded form of a secret is masked too', () => {
  registerSecret('p@ss w0rd!');
  assert.equal(redact('GET /p%40ss%20w0rd!/api and p@ss w0rd!'), 'GET /***/api and ***');
});

test('a connection URL registers its password, decoded and as written, for text outside URLs', () => {
  registerUrlSecrets('postgres://app:s3cr%40tPw@db.internal:5432/defi');
  assert.equal(redact('password "s3cr@tPw" rejected; raw s3cr%40tPw'), 'password "***" rejected; raw ***');
  // Written with an escape encodeURIComponent would not produce: only the form as written matches.
  registerUrlSecrets('postgres://app:Pw%2Ax9k@db.internal/defi');
  assert.equal(redact('raw Pw%2Ax9k'), 'raw ***');
  registerUrlSecrets(undefined);
  registerUrlSecrets('not a url');
  registerUrlSecrets('https://example.com/no-credentials');
  assert.equal(redact('example.com'), 'example.com');
});

test('a password inside any URL is masked, whatever the user name', () => {
  assert.equal(redact('connect postgres://defi_sync:hunter22@127.0.0.1/db failed'), 'connect postgres://defi_sync:***@127.0.0.1/db failed');
  assert.equal(redact('https://u:p4ss@host/x'), 'https://u:***@host/x');
});

test('clearSecrets forgets every registered secret', () => {
  registerSecret('Mm3kQ9x');
  clearSecrets();
  assert.equal(redact('Mm3kQ9x'), 'Mm3kQ9x');
});

test('an excerpt is masked before it is cut: a secret across the cut leaves no piece of itself', () => {
  registerSecret('Tq9vKw2mXr');
  // Cut first, "key=Tq9v" would stay, and no mask recognises a piece of a key.
  assert.equal(maskedExcerpt('key=Tq9vKw2mXr and more', 7), 'key=***…');
  assert.equal(maskedExcerpt('key=Tq9vKw2mXr', 7), 'key=***', 'no ellipsis when nothing is cut');
  assert.equal(maskedExcerpt('abcdef', 6), 'abcdef');
  assert.equal(maskedExcerpt('abcdefg', 6), 'abcdef…');
  assert.equal(maskedExcerpt('abc Tq9vKw2mXr', 20, (s) => s.toUpperCase()), 'ABC TQ9VKW2MXR', 'a caller may bring its own mask');
});

test('a quoted excerpt is one line of collapsed blanks, masked, cut and quoted as JSON', () => {
  registerSecret('Tq9vKw2mXr');
  assert.equal(quotedExcerpt('  <html>\n\t<b>"Tq9vKw2mXr"</b>\r\n  </html>  ', 40), '"<html> <b>\\"***\\"</b> </html>"');
  assert.equal(quotedExcerpt('line one\n\nline two', 8), '"line one…"');
  assert.equal(quotedExcerpt('x Tq9vKw2mXr', 20, (s) => s.replace('x', 'y')), '"y Tq9vKw2mXr"');
});

test('redactUrl masks a URL given as text or as a URL object', () => {
  registerSecret('Tq9vKw2mXr');
  assert.equal(redactUrl(new URL('https://u:pw12@api.example/Tq9vKw2mXr/v2')), 'https://u:***@api.example/***/v2');
  assert.equal(redactUrl('https://api.example/?key=Tq9vKw2mXr'), 'https://api.example/?key=***');
});
