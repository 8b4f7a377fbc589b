// Free routes live on api.llama.fi and yields.llama.fi; with a pro key, under DEFILLAMA_PRO_API_URL/<key>/api and /<key>/yields.
// The key is a path segment, so a URL built here must go through redactUrl() before it is shown.
import type { Config } from '../config.js';

export type ApiFamily = 'api' | 'yields';

type UrlConfig = Pick<Config, 'defillamaApiUrl' | 'defillamaYieldsUrl' | 'defillamaProApiUrl' | 'defillamaApiKey'>;

/** `path` starts with a slash. */
export function buildUrl(config: UrlConfig, family: ApiFamily, path: string): string {
  const key = config.defillamaApiKey;
  const base = (key ? config.defillamaProApiUrl : family === 'api' ? config.defillamaApiUrl : config.defillamaYieldsUrl).replace(/\/+$/, '');
  return key ? `${base}/${encodeURIComponent(key)}/${family}${path}` : `${base}${path}`;
}
