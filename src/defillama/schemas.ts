// Written from real responses (test/fixtures/defillama/): missing values are often omitted keys, so almost every field is
// nullish, and type traps seen in real data are accepted. Objects are loose so jobs can keep the raw record untouched.
import { z } from 'zod';

const str = z.string().nullish();
const num = z.number().nullish();
const bool = z.boolean().nullish();
/** Ids and counters that arrive as a number or a numeric string, normalised to a string. */
const idLike = z.union([z.string(), z.number()]).transform((v) => String(v));
/** Token lists, null when empty. A null entry is accepted rather than rejecting the pool; row mappers keep only the strings. */
const tokenList = z.array(z.string().nullable()).nullish();

/** Caps text that is a key or indexed: a btree entry holds at most 2,704 bytes, so one 8 kB name would fail the whole load. */
export const MAX_KEY_CHARS = 200;
const keyText = z.string().min(1).max(MAX_KEY_CHARS);

export const POOL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// /v2/chains
export const apiChainSchema = z.looseObject({
  name: keyText,
  gecko_id: str,
  tvl: num,
  tokenSymbol: str,
  cmcId: idLike.nullish(),
  /** A number; once the string "9001" and once 0 in real data. */
  chainId: z.union([z.number(), z.string()]).nullish(),
});
export type ApiChain = z.output<typeof apiChainSchema>;

/** Fields shared by /protocols entries and the /protocol/{slug} body. */
const protocolFields = {
  id: z.union([keyText, z.number()]).transform((v) => String(v)),
  name: z.string(),
  slug: z.string().optional(),
  symbol: str,
  url: str,
  logo: str,
  description: str,
  category: str,
  chain: str,
  chains: z.array(z.string()).nullish(),
  module: str,
  address: str,
  gecko_id: str,
  cmcId: idLike.nullish(),
  twitter: str,
  /** A numeric string ("0", "2") in real data; sometimes a number. */
  audits: idLike.nullish(),
  audit_note: str,
  audit_links: z.array(z.string()).nullish(),
  parentProtocol: str,
  listedAt: num,
  forkedFrom: z.array(z.string()).nullish(),
  oracles: z.array(z.string()).nullish(),
  github: z.array(z.string()).nullish(),
  /** `[unixSeconds, text]` pairs; shape not relied upon. */
  hallmarks: z.array(z.unknown()).nullish(),
  /** Usually a string, once a boolean in real data. */
  methodology: z.union([z.string(), z.boolean(), z.record(z.string(), z.unknown())]).nullish(),
  /** A unix timestamp or a "YYYY-MM-DD" string. */
  deadFrom: z.union([z.number(), z.string()]).nullish(),
  deadUrl: z.union([z.boolean(), z.string()]).nullish(),
  rugged: bool,
  misrepresentedTokens: bool,
  mcap: num,
};

export const apiProtocolSchema = z.looseObject({
  ...protocolFields,
  slug: keyText,
  tvl: num,
  change_1h: num,
  change_1d: num,
  change_7d: num,
  staking: num,
  pool2: num,
  /** Chains and sections ("Ethereum", "Ethereum-staking", "staking"): TVL in USD. */
  chainTvls: z.record(z.string(), z.number().nullable()).nullish(),
  tokenBreakdowns: z.record(z.string(), z.unknown()).nullish(),
});
export type ApiProtocol = z.output<typeof apiProtocolSchema>;

/** One point of a protocol's TVL history: `date` in unix seconds (midnight UTC, plus one intra-day point). */
const apiTvlPointSchema = z.looseObject({
  date: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]),
  totalLiquidityUSD: z.number(),
});
export type ApiTvlPoint = z.output<typeof apiTvlPointSchema>;

export const apiProtocolDetailSchema = z.looseObject({
  ...protocolFields,
  tvl: z.array(apiTvlPointSchema).nullish(),
  chainTvls: z
    .record(
      // Chain keys become keys of stored jsonb, which cannot hold NUL.
      z.string().max(MAX_KEY_CHARS).refine((k) => !k.includes('\0'), 'contains a NUL character (U+0000)'),
      // The token series (tokens, tokensInUsd) are dropped while the body is parsed (protocol-body.ts).
      z.looseObject({ tvl: z.array(apiTvlPointSchema).nullish() }),
    )
    .nullish(),
  currentChainTvls: z.record(z.string(), z.number().nullable()).nullish(),
  raises: z.array(z.unknown()).nullish(),
});
export type ApiProtocolDetail = z.output<typeof apiProtocolDetailSchema>;

const poolFields = {
  chain: keyText,
  project: keyText,
  symbol: str,
  /** An integer in USD; large. */
  tvlUsd: num,
  apyBase: num,
  apyReward: num,
  /** Percent; 10,000+ is real. */
  apy: num,
  rewardTokens: tokenList,
  /** UUID, stable across renames: the primary key. */
  pool: z.string().regex(POOL_ID, 'pool id is not a UUID'),
  apyPct1D: num,
  apyPct7D: num,
  apyPct30D: num,
  stablecoin: bool,
  ilRisk: str,
  exposure: str,
  predictions: z.looseObject({ predictedClass: str, predictedProbability: num, binnedConfidence: num }).nullish(),
  poolMeta: str,
  mu: num,
  sigma: num,
  count: num,
  outlier: bool,
  underlyingTokens: tokenList,
  il7d: num,
  apyBase7d: num,
  apyMean30d: num,
  volumeUsd1d: num,
  volumeUsd7d: num,
  apyBaseInception: num,
};

export const apiPoolSchema = z.looseObject(poolFields);
export type ApiPool = z.output<typeof apiPoolSchema>;

/** Only what map-contracts reads: a record malformed elsewhere (APYs, TVL) keeps its addresses, and the rest is not copied. */
export const apiPoolOldSchema = z.object({
  pool: poolFields.pool,
  /** The adapter's own pool key: a bare address, "<address>-<chainkey>" or "<chainkey>-<address>" (or anything else). */
  pool_old: str,
  poolTokenAddress: str,
  url: str,
});
export type ApiPoolOld = z.output<typeof apiPoolOldSchema>;

// /chart/{pool}
export const apiChartPointSchema = z.looseObject({
  /** ISO time; older points at midnight UTC, newer ones the day's last hourly sample. */
  timestamp: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'timestamp is not a date'),
  tvlUsd: num,
  apy: num,
  apyBase: num,
  apyReward: num,
  il7d: num,
  apyBase7d: num,
  pricePerShare: num,
});
export type ApiChartPoint = z.output<typeof apiChartPointSchema>;

/** Never change an accepted value, so the input record is kept and a 50,000-pool response is not held twice (samples.test.ts). */
export const KEPT_AS_PARSED: ReadonlySet<z.ZodType> = new Set([apiPoolSchema, apiChartPointSchema]);
