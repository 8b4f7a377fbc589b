/** Secret redaction for anything that reaches a log line, an error or a table: keys ride in URLs, passwords in connection strings. */
const MASK = '***';
const secrets = new Set<string>();

export function registerSecret(value: string | undefined | null): void {
  const trimmed = value?.trim() ?? '';
  // A 1–3 character "secret" would mask ordinary text everywhere; such values are not real keys.
  if (trimmed.length < 4) return;
  secrets.add(trimmed);
  // Cannot throw: every value comes from the environment, a file or decodeURIComponent, none of which yields a lone surrogate.
  secrets.add(encodeURIComponent(trimmed));
}

/** Registers the password of a URL that carries credentials (a connection URL, an RPC URL). */
export function registerUrlSecrets(url: string | undefined | null): void {
  if (!url) return;
  try {
    const { password } = new URL(url);
    registerSecret(decodeURIComponent(password));
    registerSecret(password);
  } catch {
    /* not a URL: nothing to extract */
  }
}

/** For tests: forget registered secrets. */
export function clearSecrets(): void {
  secrets.clear();
}

const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*:)([^@/?#\s]+)(@)/gi;

/** Masks every registered secret and any password embedded in a URL. */
export function redact(text: string): string {
  let out = text.replace(URL_PASSWORD, `$1${MASK}$3`);
  for (const secret of secrets) out = out.replaceAll(secret, MASK);
  return out;
}

/** At most `maxChars`, masked first: a cut through a secret ("key=FAKEK…") would leave a part no mask recognises. */
export function maskedExcerpt(text: string, maxChars: number, mask: (s: string) => string = redact): string {
  const masked = mask(text);
  return masked.length > maxChars ? `${masked.slice(0, maxChars)}…` : masked;
}

/** An error body for a message: on one line, masked, cut, and quoted. */
export function quotedExcerpt(text: string, maxChars: number, mask: (s: string) => string = redact): string {
  return JSON.stringify(maskedExcerpt(text.replace(/\s+/g, ' ').trim(), maxChars, mask));
}

export function redactUrl(url: string | URL): string {
  return redact(String(url));
}
