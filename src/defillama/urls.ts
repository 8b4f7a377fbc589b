/**
 * Request URLs. Free routes live on two hosts (api.llama.fi, yields.llama.fi); with a pro key
 * both move under DEFILLAMA_PRO_API_URL/<key>/api and /<key>/yields. The key is a path segment,
 * so any URL built here goes through redactUrl() before it is shown anywhere.
 */
import type { Config } from '../config.js';

export type ApiFamily = 'api' | 'yields';

export function buildUrl(
  config: Pick<Config, 'defillamaApiUrl' | 'defillamaYieldsUrl' | 'defillamaProApiUrl' | 'defillamaApiKey'>,
  family: ApiFamily,
  /** Starts with a slash. */
  path: string,
): string {
  if (config.defillamaApiKey) {
    return `${trimSlash(config.defillamaProApiUrl)}/${encodeURIComponent(config.defillamaApiKey)}/${family}${path}`;
  }
  const base = family === 'api' ? config.defillamaApiUrl : config.defillamaYieldsUrl;
  return `${trimSlash(base)}${path}`;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
