// A chain's JSON-RPC endpoint: RPC_URL_<CHAINKEY> if set (any EVM chain), else Alchemy's network when ALCHEMY_API_KEY is.
// URLs embed keys, so they are registered as secrets.
import type { Config } from '../../config.js';
import { registerSecret } from '../../redact.js';

export interface RpcEndpoint {
  readonly chainKey: string;
  /** Secret: never log, print or store it. */
  readonly url: string;
  /** Shown and stored instead of the URL: "eth_getCode via RPC_URL_ETHEREUM" / "eth_getCode via Alchemy (eth-mainnet)". */
  readonly method: string;
}

/** DeFiLlama chain key -> Alchemy network subdomain (https://<network>.g.alchemy.com/v2/<key>). */
const ALCHEMY_NETWORKS: Readonly<Record<string, string>> = Object.freeze({
  ethereum: 'eth-mainnet',
  arbitrum: 'arb-mainnet',
  arbitrum_nova: 'arbnova-mainnet',
  optimism: 'opt-mainnet',
  base: 'base-mainnet',
  polygon: 'polygon-mainnet',
  polygon_zkevm: 'polygonzkevm-mainnet',
  bsc: 'bnb-mainnet',
  avax: 'avax-mainnet',
  fantom: 'fantom-mainnet',
  era: 'zksync-mainnet',
  linea: 'linea-mainnet',
  scroll: 'scroll-mainnet',
  blast: 'blast-mainnet',
  mantle: 'mantle-mainnet',
  xdai: 'gnosis-mainnet',
  celo: 'celo-mainnet',
  zora: 'zora-mainnet',
  metis: 'metis-mainnet',
  berachain: 'berachain-mainnet',
  sonic: 'sonic-mainnet',
  unichain: 'unichain-mainnet',
  wc: 'worldchain-mainnet',
  ink: 'ink-mainnet',
  soneium: 'soneium-mainnet',
  abstract: 'abstract-mainnet',
  apechain: 'apechain-mainnet',
  shape: 'shape-mainnet',
  ronin: 'ronin-mainnet',
  rsk: 'rootstock-mainnet',
  op_bnb: 'opbnb-mainnet',
  lens: 'lens-mainnet',
  monad: 'monad-mainnet',
  hyperliquid: 'hyperliquid-mainnet',
  sei: 'sei-mainnet',
  flow: 'flow-mainnet',
  sty: 'story-mainnet',
  plasma: 'plasma-mainnet',
  katana: 'katana-mainnet',
});

export function rpcEndpointFor(config: Pick<Config, 'rpcUrls' | 'alchemyApiKey'>, chainKey: string): RpcEndpoint | undefined {
  const key = chainKey.toLowerCase();
  const own = config.rpcUrls[key];
  if (own) {
    registerSecret(own);
    return { chainKey: key, url: own, method: `eth_getCode via RPC_URL_${key.toUpperCase()}` };
  }
  const network = ALCHEMY_NETWORKS[key];
  if (network && config.alchemyApiKey) {
    registerSecret(config.alchemyApiKey);
    return { chainKey: key, url: `https://${network}.g.alchemy.com/v2/${config.alchemyApiKey}`, method: `eth_getCode via Alchemy (${network})` };
  }
  return undefined;
}

export function anyRpcConfigured(config: Pick<Config, 'rpcUrls' | 'alchemyApiKey'>): boolean {
  return Object.keys(config.rpcUrls).length > 0 || Boolean(config.alchemyApiKey);
}
