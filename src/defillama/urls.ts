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
  const key = config.defillamaApiKey;
  const base = (key ? config.defillamaProApiUrl : family === 'api' ? config.defillamaApiUrl : config.defillamaYieldsUrl).replace(/\/+$/, '');
  return key ? `${base}/${encodeURIComponent(key)}/${family}${path}` : `${base}${path}`;
}
