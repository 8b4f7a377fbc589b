/**
 * Request URLs. Free routes live on two hosts (api.llama.fi, yields.llama.fi); with a pro key
 * both move under DEFILLAMA_PRO_API_URL/<key>/api and /<key>/yields. The key is a path segment,
 * so any URL built here goes through redactUrl() before it is shown anywhere.
 */
import type { Config } from '../config.js';
import { redactUrl } from '../redact.js';

export type ApiFamily = 'api' | 'yields';

export function buildUrl(
  config: Pick<Config, 'defillamaApiUrl' | 'defillamaYieldsUrl' | 'defillamaProApiUrl' | 'defillamaApiKey'>,
  family: ApiFamily,
  path: string,
): string {
  const rel = path.startsWith('/') ? path : `/${path}`;
  if (config.defillamaApiKey) {
    return `${trimSlash(config.defillamaProApiUrl)}/${encodeURIComponent(config.defillamaApiKey)}/${family}${rel}`;
  }
  const base = family === 'api' ? config.defillamaApiUrl : config.defillamaYieldsUrl;
  return `${trimSlash(base)}${rel}`;
}

/** A URL fit for a log line or an error message: the key and any password masked. */
export function displayUrl(url: string): string {
  return redactUrl(url);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
