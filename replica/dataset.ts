/**
 * The replica's generated data: chains, protocols and pools that look like DeFiLlama's, with its
 * quirks, deterministic for a seed. Every entity has a slot number; its static attributes come
 * from hash(seed, kind, slot) and its daily values from hash(seed, kind, slot, day), so day N can
 * be served without replaying days 0..N-1 and history series agree with the live values.
 *
 * Day 0 is `startDate`. Each later day about 1.5% of pools vanish and as many appear, about 0.2%
 * of protocols vanish and 0.3% appear, 1% of protocols change a descriptive field, and every TVL
 * and APY moves.
 */
import { addressFor, checksum, EEEE_ADDRESS, nativeTokens, ZERO_ADDRESS, type AddressFamily } from './addresses.js';
import { chainTable, type ChainRow } from './chains-table.js';
import { hash, pickWeighted, Rng, round5, unit } from './random.js';

export interface DatasetOptions {
  seed: number;
  pools: number;
  protocols: number;
  chains: number;
  /** Longest history before day 0 served by /chart and /protocol, in days (each later day adds one). */
  historyDays: number;
  /** Day 0, "YYYY-MM-DD" (UTC). */
  startDate: string;
}

type Json = Record<string, unknown>;

const DAY = 86_400;
const POOL_DEATH_RATE = 0.015;
const PROTOCOL_DEATH_RATE = 0.002;
const PROTOCOL_BIRTH_RATE = 0.003;
const PROTOCOL_CHANGE_RATE = 0.01;
/** Chart points before this day are stamped at midnight, later ones at the day's last hourly sample. */
const HOURLY_SINCE_DAY = -90;

const K = { protocol: 1, pool: 2, chain: 3, orphan: 4, token: 5, protocolValue: 6, poolValue: 7, change: 8, death: 9, apy: 10 } as const;

const SYLLABLES = ['aa', 've', 'lido', 'cur', 'ba', 'lan', 'cer', 'uni', 'sus', 'hi', 'com', 'pound', 'maker', 'yearn', 'con', 'vex',
  'pan', 'cake', 'trader', 'joe', 'gmx', 'ra', 'dium', 'or', 'ca', 'mar', 'gin', 'fi', 'stake', 'flux', 'nova', 'terra', 'sol',
  'ar', 'bit', 'zen', 'kyber', 'velo', 'dro', 'me', 'aero', 'pen', 'dle', 'ether', 'morph', 'eul', 'er', 'spark', 'ondo', 'ethena',
  'jupi', 'ter', 'kam', 'ino', 'mor', 'pho', 'silo', 'bend', 'beef', 'quick', 'swap', 'sky', 'frax', 'lyra', 'vault', 'pr', 'isma'];
const SUFFIXES = ['', '', '', '', ' Finance', ' Protocol', ' Swap', ' Lend', ' V2', ' V3', ' DAO', ' Bridge', ' Staking', ' CDP', ' Exchange', ' AMM'];
const CATEGORIES = ['Dexs', 'Lending', 'Liquid Staking', 'Bridge', 'CDP', 'Yield', 'Derivatives', 'Yield Aggregator', 'Restaking',
  'Liquid Restaking', 'Services', 'Algo-Stables', 'RWA', 'Farm', 'Launchpad', 'Options', 'Indexes', 'Staking Pool', 'Basis Trading',
  'Governance Incentives', 'Chain', 'NFT Lending', 'Insurance', 'Privacy', 'Payments', 'Prediction Market', 'Leveraged Farming'];
const ORACLES = ['Chainlink', 'Pyth', 'RedStone', 'Chronicle', 'TWAP', 'Switchboard', 'API3', 'DIA'];
const POOL_META = ['V3 market', '0.05%', '0.3%', '1%', '0.01%', '7 days unstaking', 'Lending', 'Borrow', 'Vault', 'Stable', 'LP', 'Boosted', 'Isolated market'];
const SYMBOLS = ['USDC', 'USDT', 'WETH', 'DAI', 'WBTC', 'ETH', 'STETH', 'WSTETH', 'USDE', 'SUSDE', 'FRAX', 'CRVUSD', 'GHO', 'LINK', 'ARB',
  'OP', 'AERO', 'CBBTC', 'WEETH', 'RETH', 'EZETH', 'PYUSD', 'USDS', 'SOL', 'JITOSOL', 'MSOL', 'BNB', 'CAKE', 'AVAX', 'MATIC', 'TRX',
  'TON', 'APT', 'SUI', 'HYPE', 'EURC', 'LUSD', 'MKR', 'UNI', 'AAVE', 'CRV', 'CVX', 'PENDLE', 'GMX', 'RDNT', 'JUP', 'RAY'];
const QUIRK_FAMILIES: readonly AddressFamily[] = ['solana', 'tron', 'move', 'ton'];
const SECTIONS = ['staking', 'borrowed', 'pool2', 'vesting', 'treasury', 'offers'] as const;

interface Token {
  address: string;
  symbol: string;
}

interface Chain extends Omit<ChainRow, 'chainId'> {
  chainId: number | string | null;
  index: number;
  tokens?: Token[];
}

interface ProtocolBase {
  slot: number;
  id: string;
  name: string;
  slug: string;
  parentSlug?: string;
  chainIdx: number[];
  shares: number[];
  sections: { name: (typeof SECTIONS)[number]; share: number }[];
  baseTvl: number | null;
  birthDay: number;
  deathDay: number;
  /** First day with history: before day 0 for the initial protocols. */
  firstDay: number;
  history: number;
  static: Json;
}

interface PoolBase {
  slot: number;
  uuid: string;
  project: string;
  chainIdx: number;
  symbol: string;
  underlying: string[] | null;
  omitUnderlying: boolean;
  reward: string[] | null;
  baseTvl: number;
  apyBase: number | null;
  apyReward: number | null;
  omitNulls: boolean;
  stablecoin: boolean;
  exposure: 'single' | 'multi';
  predictions: Json | null | undefined;
  poolMeta: string | null | undefined;
  count: number;
  address: string;
  birthDay: number;
  deathDay: number;
  /** First day with history: before day 0 for the initial pools. */
  firstDay: number;
  history: number;
  minuteSalt: number;
  hasPricePerShare: boolean;
}

export class Dataset {
  readonly options: DatasetOptions;
  readonly chains: Chain[];
  private readonly chainWeights: Float64Array;
  private readonly startUnix: number;
  private readonly protocolBases: ProtocolBase[] = [];
  private readonly poolBases: PoolBase[] = [];
  private readonly protocolNames = new Set<string>();
  private readonly orphanSlugs: string[];
  private readonly seed: number;
  private readonly poolBirthsPerDay: number;
  private readonly protocolBirthsPerDay: number;
  private poolsByUuid = new Map<string, number>();

  constructor(options: DatasetOptions) {
    this.options = options;
    this.seed = options.seed >>> 0;
    this.startUnix = Date.parse(`${options.startDate}T00:00:00Z`) / 1000;
    if (!Number.isFinite(this.startUnix)) throw new Error(`startDate ${JSON.stringify(options.startDate)} is not a YYYY-MM-DD date`);
    this.chains = chainTable(Math.max(1, options.chains)).map((row, index) => ({ ...row, index }));
    // Two chain-id quirks of the real /v2/chains: a numeric string ("9001") and a 0.
    const quirky = this.chains.filter((c) => c.index >= 8 && typeof c.chainId === 'number').slice(-2);
    if (quirky[0]) quirky[0].chainId = String(quirky[0].chainId);
    if (quirky[1]) quirky[1].chainId = 0;
    this.chainWeights = cumulative(this.chains.map((_, i) => 1 / (i + 1) ** 1.25));
    this.poolBirthsPerDay = Math.max(1, Math.round(options.pools * POOL_DEATH_RATE));
    this.protocolBirthsPerDay = Math.max(1, Math.round(options.protocols * PROTOCOL_BIRTH_RATE));
    this.orphanSlugs = this.makeOrphanSlugs();
  }

  /** "YYYY-MM-DD" of a day index. */
  date(day: number): string {
    return new Date((this.startUnix + day * DAY) * 1000).toISOString().slice(0, 10);
  }

  // ---- chains ---------------------------------------------------------------------------------

  chainsResponse(day: number): Json[] {
    const tvl = new Float64Array(this.chains.length);
    for (const p of this.aliveProtocols(day)) {
      if (p.baseTvl === null) continue;
      const total = this.protocolTvl(p, day);
      p.chainIdx.forEach((c, k) => (tvl[c] = (tvl[c] ?? 0) + total * (p.shares[k] ?? 0)));
    }
    return this.chains.map((c) => ({
      gecko_id: c.geckoId,
      tvl: tvl[c.index] ?? 0,
      tokenSymbol: c.tokenSymbol,
      cmcId: c.cmcId,
      name: c.label,
      chainId: c.chainId,
    }));
  }

  // ---- protocols ------------------------------------------------------------------------------

  protocolsResponse(day: number): Json[] {
    return this.aliveProtocols(day).map((p) => this.protocolRecord(p, day));
  }

  /** /protocol/{slug}: a protocol, or a parent's aggregate over its children; undefined if unknown. */
  protocolDetail(slug: string, day: number): Json | undefined {
    const alive = this.aliveProtocols(day);
    const own = alive.find((p) => p.slug === slug);
    if (own) return this.detailOf([own], day, undefined);
    const children = alive.filter((p) => p.parentSlug === slug);
    if (children.length > 0) return this.detailOf(children, day, slug);
    return undefined;
  }

  private aliveProtocols(day: number): ProtocolBase[] {
    const slots = this.options.protocols + Math.max(0, day) * this.protocolBirthsPerDay;
    this.ensureProtocols(slots);
    const out: ProtocolBase[] = [];
    for (let i = 0; i < slots; i++) {
      const p = this.protocolBases[i] as ProtocolBase;
      if (p.birthDay <= day && day < p.deathDay) out.push(p);
    }
    return out;
  }

  private ensureProtocols(slots: number): void {
    for (let slot = this.protocolBases.length; slot < slots; slot++) this.protocolBases.push(this.makeProtocol(slot));
  }

  private makeProtocol(slot: number): ProtocolBase {
    const rng = new Rng(hash(this.seed, K.protocol, slot));
    const n = this.options.protocols;
    const birthDay = slot < n ? 0 : 1 + Math.floor((slot - n) / this.protocolBirthsPerDay);
    const deathDay = birthDay + 1 + Math.floor(-Math.log(1 - unit(this.seed, K.death, slot, 1)) / PROTOCOL_DEATH_RATE);

    let base = '';
    const parts = 2 + rng.int(2);
    for (let i = 0; i < parts; i++) base += rng.pick(SYLLABLES);
    base = base[0]!.toUpperCase() + base.slice(1);
    if (rng.chance(0.04)) base = `${base}.fi`;
    let name = base + rng.pick(SUFFIXES);
    for (let k = 2; this.protocolNames.has(name.toLowerCase()); k++) name = `${base} ${k}`;
    this.protocolNames.add(name.toLowerCase());
    const slug = name.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-|-$/g, '');
    const versioned = / V[23]$/.exec(name);
    const parentSlug = versioned && rng.chance(0.7) ? base.toLowerCase().replace(/[^a-z0-9.]+/g, '-') : undefined;

    // Chains: most protocols live on one chain, a few on many, some on none (no TVL tracking).
    const r = rng.next();
    let chainCount = r < 0.02 ? 0 : r < 0.72 ? 1 : r < 0.92 ? 2 + rng.int(3) : 5 + rng.int(11);
    const chainIdx: number[] = [];
    // The first slots carry every quirk, so even a tiny dataset has them all.
    const quirk = slot < n ? slot : -1;
    if (quirk === 6) chainCount = 0;
    if ((quirk === 0 || quirk === 7) && this.chains.length > 9) {
      chainIdx.push(quirk === 0 ? 8 : 9, 0);
      chainCount = Math.max(chainCount, 3);
    }
    if (quirk === 5 && chainCount === 0) chainCount = 1;
    for (let tries = 0; chainIdx.length < Math.min(chainCount, this.chains.length) && tries < 50; tries++) {
      const c = pickWeighted(this.chainWeights, rng.next());
      if (!chainIdx.includes(c)) chainIdx.push(c);
    }
    const raw = chainIdx.map(() => rng.next() ** 2 + 0.01);
    const sum = raw.reduce((a, b) => a + b, 0);
    const shares = raw.map((x) => x / sum);
    const sections: ProtocolBase['sections'] = [];
    for (const name of SECTIONS) {
      const p = name === 'staking' ? 0.2 : name === 'borrowed' ? 0.12 : 0.04;
      if (chainIdx.length > 0 && rng.chance(p)) sections.push({ name, share: rng.range(0.01, 0.6) });
    }
    if (quirk === 5 && !sections.some((x) => x.name === 'staking')) sections.push({ name: 'staking', share: 0.3 });
    const baseTvl = chainIdx.length === 0 || (rng.chance(0.01) && quirk < 0) ? null : Math.exp(rng.normal() * 2.4 + 13.5);
    const listedAt = slot < n ? this.startUnix - Math.floor(rng.range(30, 2200)) * DAY + rng.int(DAY) : this.startUnix + birthDay * DAY + rng.int(DAY);
    const history = Math.max(1, Math.floor(this.options.historyDays * (0.2 + 0.8 * rng.next())));
    const symbol = rng.chance(0.4) ? '-' : base.replace(/[^A-Za-z]/g, '').slice(0, 3 + rng.int(3)).toUpperCase() || '-';
    const addressChain = chainIdx.length > 0 ? this.chains[chainIdx[0]!]! : this.chains[0]!;

    const s: Json = {};
    s.id = String(slot * 3 + 1 + (hash(this.seed, K.protocol, slot, 2) % 3));
    s.name = name;
    const ar = rng.next();
    if (symbol === '-' || ar < 0.3) s.address = null;
    else if (addressChain.family === 'evm') {
      const a = addressFor('evm', addressChain.key, rng);
      const spelled = rng.chance(0.6) ? checksum(a) : a;
      s.address = ar < 0.55 && addressChain.key === 'ethereum' ? spelled : `${addressChain.key}:${spelled}`;
    } else s.address = `${addressChain.key}:${addressFor(addressChain.family, addressChain.key, rng)}`;
    s.symbol = symbol;
    s.url = `https://${slug.replace(/\./g, '')}.${rng.pick(['fi', 'xyz', 'io', 'finance', 'com'])}`;
    s.description = rng.chance(0.03) ? null : `${name} is a ${rng.pick(CATEGORIES).toLowerCase()} protocol.`;
    if (chainIdx.length > 0) s.chain = chainIdx.length > 1 ? 'Multi-Chain' : this.chains[chainIdx[0]!]!.label;
    s.logo = `https://icons.llama.fi/${slug}.png`;
    // audits is a numeric string in real data; a few are numbers.
    s.audits = rng.chance(0.03) || quirk === 4 ? rng.int(4) : String(rng.int(4));
    s.audit_note = null;
    s.gecko_id = symbol !== '-' && rng.chance(0.6) ? slug : null;
    s.cmcId = s.gecko_id && rng.chance(0.7) ? String(1000 + rng.int(40_000)) : null;
    s.category = rng.pick(CATEGORIES);
    s.chains = chainIdx.map((c) => this.chains[c]!.label);
    s.oracles = rng.chance(0.4) ? [rng.pick(ORACLES)] : [];
    s.forkedFrom = rng.chance(0.15) ? [rng.pick(['Uniswap V2', 'Uniswap V3', 'Compound V2', 'Aave V2', 'Curve DEX', 'Solidly'])] : [];
    s.module = `${slug}/index.js`;
    s.twitter = rng.chance(0.1) ? null : name.replace(/[^A-Za-z0-9]/g, '');
    if (rng.chance(0.3)) s.audit_links = [`https://github.com/${slug}/audits`];
    if (rng.chance(0.2)) s.github = [slug.replace(/\./g, '')];
    if (rng.chance(0.9)) s.listedAt = listedAt;
    if (parentSlug) s.parentProtocol = `parent#${parentSlug}`;
    if (rng.chance(0.05)) s.hallmarks = [[listedAt + DAY * (1 + rng.int(300)), rng.pick(['Launch V2', 'Exploit', 'Token launch', 'Incentives end'])]];
    const mr = rng.next();
    // methodology is a string, occasionally absent, and once in a while a bare boolean.
    if (quirk === 3) s.methodology = true;
    else if (mr < 0.85) s.methodology = 'TVL counts the tokens deposited in the protocol contracts.';
    else if (mr < 0.87) s.methodology = true;
    const dr = rng.next();
    if (dr < 0.012 || quirk === 1 || quirk === 2) {
      const dead = listedAt + DAY * (10 + rng.int(400));
      s.deadFrom = (dr < 0.006 || quirk === 1) && quirk !== 2 ? dead : new Date(dead * 1000).toISOString().slice(0, 10);
      s.deadUrl = rng.chance(0.5);
      if (rng.chance(0.3)) s.rugged = true;
    }
    if (rng.chance(0.02)) s.misrepresentedTokens = true;
    const firstDay = slot < n ? -Math.floor((this.startUnix - listedAt) / DAY) : birthDay;
    return { slot, id: s.id as string, name, slug, ...(parentSlug ? { parentSlug } : {}), chainIdx, shares, sections, baseTvl, birthDay, deathDay, firstDay, history, static: s };
  }

  private protocolTvl(p: ProtocolBase, day: number): number {
    return (p.baseTvl ?? 0) * wave(this.seed, K.protocolValue, p.slot, day);
  }

  /** Current chainTvls (chains and sections) of a protocol for a day. */
  private chainTvls(p: ProtocolBase, day: number): Record<string, number> {
    const total = this.protocolTvl(p, day);
    const out: Record<string, number> = {};
    p.chainIdx.forEach((c, k) => (out[this.chains[c]!.label] = total * (p.shares[k] ?? 0)));
    for (const section of p.sections) {
      let sectionTotal = 0;
      p.chainIdx.forEach((c, k) => {
        const v = total * section.share * (p.shares[k] ?? 0);
        out[`${this.chains[c]!.label}-${section.name}`] = v;
        sectionTotal += v;
      });
      out[section.name] = sectionTotal;
    }
    return out;
  }

  private protocolRecord(p: ProtocolBase, day: number): Json {
    const changes = this.changeCount(p.slot, day);
    const rec: Json = { ...p.static };
    if (changes > 0) {
      // A protocol that changed since day 0: a new category, description or twitter handle.
      const r = new Rng(hash(this.seed, K.change, p.slot, changes));
      rec.category = r.pick(CATEGORIES);
      rec.description = `${p.name} (${rec.category}), revision ${changes}.`;
      if (r.chance(0.5)) rec.twitter = `${p.name.replace(/[^A-Za-z0-9]/g, '')}_${changes}`;
    }
    const tvl = p.baseTvl === null ? null : this.protocolTvl(p, day);
    rec.slug = p.slug;
    rec.tvl = tvl;
    rec.chainTvls = tvl === null ? {} : this.chainTvls(p, day);
    const pct = (from: number) => (tvl === null || p.baseTvl === null ? null : round5((tvl / this.protocolTvl(p, day - from) - 1) * 100));
    rec.change_1h = p.slot % 17 === 0 ? null : pct(1) === null ? null : round5((pct(1) as number) / 24);
    rec.change_1d = pct(1);
    rec.change_7d = p.slot % 11 === 0 ? null : pct(7);
    rec.tokenBreakdowns = {};
    rec.mcap = rec.gecko_id ? Math.round((tvl ?? 0) * (0.2 + unit(this.seed, K.protocolValue, p.slot, 99) * 3)) : null;
    for (const section of p.sections) {
      if (section.name === 'staking' || section.name === 'pool2') rec[section.name] = (rec.chainTvls as Record<string, number>)[section.name] ?? 0;
    }
    return rec;
  }

  private changeCount(slot: number, day: number): number {
    let n = 0;
    for (let t = 1; t <= day; t++) if (unit(this.seed, K.change, slot, t) < PROTOCOL_CHANGE_RATE) n++;
    return n;
  }

  private detailOf(members: ProtocolBase[], day: number, parentSlug: string | undefined): Json {
    const head = members[0]!;
    const first = Math.min(...members.map((p) => Math.max(p.firstDay, -p.history)));
    const intraday = this.startUnix + day * DAY + 3600 + (hash(this.seed, K.protocolValue, head.slot, day) % 3600);
    const dates: number[] = [];
    const days: number[] = [];
    for (let t = first; t < day; t++) {
      dates.push(this.startUnix + t * DAY);
      days.push(t);
    }
    dates.push(intraday);
    days.push(day);

    const keys = new Map<string, number[]>();
    const total = new Array<number>(days.length).fill(0);
    for (const p of members) {
      if (p.baseTvl === null) continue;
      days.forEach((t, i) => {
        if (t < Math.max(p.firstDay, -p.history)) return;
        const tvls = this.chainTvls(p, t);
        total[i] = (total[i] ?? 0) + this.protocolTvl(p, t);
        for (const [k, v] of Object.entries(tvls)) {
          let series = keys.get(k);
          if (!series) keys.set(k, (series = new Array<number>(days.length).fill(0)));
          series[i] = (series[i] ?? 0) + v;
        }
      });
    }
    const point = (i: number, v: number) => ({ date: dates[i]!, totalLiquidityUSD: round5(v) });
    const tokens = (i: number, v: number) => ({ date: dates[i]!, tokens: v > 0 ? { [head.static.symbol === '-' ? 'USDC' : String(head.static.symbol)]: round5(v) } : {} });
    const chainTvls: Json = {};
    const current: Record<string, number> = {};
    for (const [k, series] of keys) {
      chainTvls[k] = { tvl: series.map((v, i) => point(i, v)), tokensInUsd: series.map((v, i) => tokens(i, v)), tokens: series.map((v, i) => tokens(i, v * 0.9)) };
      current[k] = round5(series[series.length - 1] ?? 0);
    }
    const base = parentSlug
      ? { id: `parent#${parentSlug}`, name: parentSlug[0]!.toUpperCase() + parentSlug.slice(1), url: head.static.url, logo: `https://icons.llama.fi/${parentSlug}.png`,
          chains: [...new Set(members.flatMap((p) => p.static.chains as string[]))], otherProtocols: members.map((p) => p.name), isParentProtocol: true }
      : this.protocolRecord(head, day);
    const detail: Json = { ...base };
    delete detail.tvl;
    delete detail.chainTvls;
    delete detail.change_1h;
    delete detail.change_1d;
    delete detail.change_7d;
    delete detail.tokenBreakdowns;
    delete detail.staking;
    delete detail.pool2;
    detail.chainTvls = chainTvls;
    detail.tvl = total.map((v, i) => point(i, v));
    detail.tokensInUsd = total.map((v, i) => tokens(i, v));
    detail.tokens = total.map((v, i) => tokens(i, v * 0.9));
    detail.currentChainTvls = current;
    detail.raises = [];
    detail.metrics = {};
    detail.mcap = (base as Json).mcap ?? null;
    return detail;
  }

  // ---- pools ----------------------------------------------------------------------------------

  private poolSlots(day: number): number {
    return this.options.pools + Math.max(0, day) * this.poolBirthsPerDay;
  }

  private ensurePools(slots: number): void {
    if (this.protocolBases.length < this.options.protocols) this.ensureProtocols(this.options.protocols);
    for (let slot = this.poolBases.length; slot < slots; slot++) {
      const p = this.makePool(slot);
      this.poolBases.push(p);
      this.poolsByUuid.set(p.uuid, slot);
    }
  }

  private alivePools(day: number): PoolBase[] {
    const slots = this.poolSlots(day);
    this.ensurePools(slots);
    const out: PoolBase[] = [];
    for (let i = 0; i < slots; i++) {
      const p = this.poolBases[i] as PoolBase;
      if (p.birthDay <= day && day < p.deathDay) out.push(p);
    }
    return out;
  }

  private tokensOf(chain: Chain): Token[] {
    if (!chain.tokens) {
      const rng = new Rng(hash(this.seed, K.token, chain.index));
      const size = chain.index < 12 ? 120 : chain.index < 60 ? 30 : 8;
      const natives = nativeTokens(chain.family, chain.key);
      const tokens: Token[] = [];
      for (let i = 0; i < size; i++) {
        const symbol = i < SYMBOLS.length && rng.chance(0.8) ? SYMBOLS[i]! : rng.fromAlphabet('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 3 + rng.int(4));
        tokens.push({ address: addressFor(chain.family, chain.key, rng), symbol });
      }
      // Native coins sit among the tokens, rarely: sentinels are not contracts.
      for (const address of natives) tokens.push({ address, symbol: chain.tokenSymbol ?? 'NATIVE' });
      chain.tokens = tokens;
    }
    return chain.tokens;
  }

  /**
   * EVM addresses come lower-case or checksummed, as in real data: about a third of the tokens
   * appear in both spellings (so the checksums to compute stay few; keccak is the costly part).
   */
  private spell(address: string, family: AddressFamily, rng: Rng): string {
    if (family !== 'evm' || address.length !== 42 || !address.startsWith('0x')) return address;
    const mixed = address.charCodeAt(41) % 3 === 0;
    return mixed && rng.chance(0.5) ? checksum(address.toLowerCase()) : address;
  }

  private makePool(slot: number): PoolBase {
    const rng = new Rng(hash(this.seed, K.pool, slot));
    const n = this.options.pools;
    const birthDay = slot < n ? 0 : 1 + Math.floor((slot - n) / this.poolBirthsPerDay);
    const deathDay = birthDay + 1 + Math.floor(-Math.log(1 - unit(this.seed, K.death, slot, 2)) / POOL_DEATH_RATE);
    const uuid = rng.uuid();

    let project: string;
    let chain: Chain;
    const quirk = slot < n ? slot : -1;
    if (rng.chance(0.02) || this.options.protocols === 0 || quirk === 4) {
      // A project slug that has pools but no /protocols entry.
      project = rng.pick(this.orphanSlugs);
      chain = this.chains[pickWeighted(this.chainWeights, rng.next())]!;
    } else {
      const protocol = this.protocolBases[Math.floor(this.options.protocols * rng.next() ** 2.2)]!;
      project = protocol.slug;
      chain = protocol.chainIdx.length > 0 ? this.chains[rng.pick(protocol.chainIdx)]! : this.chains[pickWeighted(this.chainWeights, rng.next())]!;
    }
    // Guaranteed quirks: EVM tokens in both spellings and the native sentinels on Ethereum, and one
    // pool on each non-EVM address family the chain table has.
    if (quirk >= 5 && quirk <= 9) chain = this.chains[0]!;
    const family = QUIRK_FAMILIES[quirk - 10];
    if (family) chain = this.chains.find((c) => c.family === family && (family !== 'move' || c.key === 'aptos')) ?? this.chains.find((c) => c.family === family) ?? chain;
    const universe = this.tokensOf(chain);
    const tr = rng.next();
    const count = tr < 0.4 ? 1 : tr < 0.9 ? 2 : 3 + rng.int(2);
    const picked: Token[] = [];
    for (let i = 0; i < count; i++) picked.push(universe[Math.floor(universe.length * rng.next() ** 1.5)]!);
    const ur = rng.next();
    let underlying = ur < 0.08 ? null : picked.map((t) => this.spell(t.address, chain.family, rng));
    if (chain.family === 'evm' && (quirk === 6 || quirk === 7)) underlying = [quirk === 6 ? ZERO_ADDRESS : EEEE_ADDRESS, ...(underlying ?? [])];
    if (quirk === 12 && chain.family === 'move') underlying = [nativeTokens('move', chain.key)[0]!, ...(underlying ?? [])];
    if (chain.family === 'evm' && (quirk === 8 || quirk === 9)) {
      const a = universe[0]!.address;
      underlying = [quirk === 8 ? checksum(a) : a];
    }
    const reward = rng.chance(0.65) ? null : Array.from({ length: 1 + rng.int(2) }, () => this.spell(rng.pick(universe).address, chain.family, rng));
    const exposure = count === 1 ? 'single' : 'multi';
    const pr = rng.next();
    const predictions = pr < 0.05 ? undefined : pr < 0.25 ? null : {
      predictedClass: rng.pick(['Stable/Up', 'Down']),
      predictedProbability: 50 + rng.int(50),
      binnedConfidence: 1 + rng.int(3),
    };
    const mr = rng.next();
    const ar = rng.next();
    // Real APYs reach 10,000% and beyond on small, new pools.
    const apyBase = ar < 0.1 && quirk !== 5 ? null : ar < 0.103 || quirk === 5 ? rng.range(10_000, 600_000) : Math.exp(rng.normal() * 1.2 + 1.2);
    return {
      slot, uuid, project, chainIdx: chain.index,
      symbol: picked.map((t) => t.symbol).join('-'),
      underlying, omitUnderlying: ur > 0.985, reward,
      baseTvl: Math.exp(rng.normal() * 2.2 + 11.5),
      apyBase, apyReward: reward ? Math.exp(rng.normal() + 0.5) : null,
      omitNulls: quirk === 2 ? true : quirk === 3 ? false : rng.chance(0.3),
      stablecoin: picked.every((t) => /USD|DAI|FRAX|GHO|EUR/.test(t.symbol)),
      exposure, predictions,
      poolMeta: mr < 0.05 ? undefined : mr < 0.7 ? null : rng.pick(POOL_META),
      count: 10 + rng.int(1500),
      address: addressFor(chain.family, chain.key, rng),
      birthDay, deathDay,
      firstDay: slot < n ? -1 - rng.int(2000) : birthDay,
      history: Math.max(1, Math.floor(this.options.historyDays * (0.2 + 0.8 * rng.next()))),
      minuteSalt: rng.int(3600),
      hasPricePerShare: rng.chance(0.4),
    };
  }

  private poolValues(p: PoolBase, day: number) {
    const w = wave(this.seed, K.poolValue, p.slot, day);
    const a = wave(this.seed, K.apy, p.slot, day);
    const apyBase = p.apyBase === null ? null : round5(p.apyBase * a);
    const apyReward = p.apyReward === null ? null : round5(p.apyReward * (2 - a));
    return { tvlUsd: Math.round(p.baseTvl * w), apyBase, apyReward, apy: round5((apyBase ?? 0) + (apyReward ?? 0)) };
  }

  private poolApy(p: PoolBase, day: number): number {
    const a = wave(this.seed, K.apy, p.slot, day);
    return (p.apyBase === null ? 0 : p.apyBase * a) + (p.apyReward === null ? 0 : p.apyReward * (2 - a));
  }

  private poolRecord(p: PoolBase, day: number): Json {
    const chain = this.chains[p.chainIdx]!;
    const v = this.poolValues(p, day);
    const seed = this.seed;
    const dk = day * 64;
    const u = (k: number) => unit(seed, K.poolValue, p.slot, dk + k);
    const multi = p.exposure === 'multi';
    const u10 = u(10);
    const u11 = u(11);
    const volume = multi && u10 < 0.6;
    // Key order as the real API's; an object literal keeps one shape per variant (fast to stringify).
    const rec = {
      chain: chain.label,
      project: p.project,
      symbol: p.symbol,
      tvlUsd: v.tvlUsd,
      apyBase: v.apyBase,
      apyReward: v.apyReward,
      apy: v.apy,
      rewardTokens: p.reward,
      pool: p.uuid,
      apyPct1D: round5(v.apy - this.poolApy(p, day - 1)),
      apyPct7D: u(1) < 0.1 ? null : round5(v.apy - this.poolApy(p, day - 7)),
      apyPct30D: u(2) < 0.2 ? null : round5(v.apy - this.poolApy(p, day - 30)),
      stablecoin: p.stablecoin,
      ilRisk: multi && !p.stablecoin ? 'yes' : 'no',
      exposure: p.exposure,
      predictions: p.predictions,
      poolMeta: p.poolMeta,
      mu: round5(v.apy * (0.8 + u(3) * 0.4)),
      sigma: round5(u(4) * 2),
      count: p.count + Math.max(0, day),
      outlier: v.apy > 500,
      underlyingTokens: p.omitUnderlying ? undefined : p.underlying,
      il7d: multi && u(5) < 0.5 ? round5(-u(6) * 3) : null,
      apyBase7d: v.apyBase === null || u(7) < 0.3 ? null : round5(v.apyBase * (0.9 + u(8) * 0.2)),
      apyMean30d: round5(v.apy * (0.85 + u(9) * 0.3)),
      volumeUsd1d: volume ? Math.round(v.tvlUsd * u11 * 0.5) : null,
      volumeUsd7d: volume ? Math.round(v.tvlUsd * u11 * 3) : null,
      apyBaseInception: u(12) < 0.1 && v.apyBase !== null ? round5(v.apyBase * 1.1) : null,
    } as Json;
    // JSON.stringify drops undefined values; some adapters also leave nulls out instead of writing them.
    if (!p.omitNulls) return rec;
    const sparse: Json = {};
    for (const key in rec) if (rec[key] !== null && rec[key] !== undefined) sparse[key] = rec[key];
    return sparse;
  }

  poolsRecords(day: number): Json[] {
    return this.alivePools(day).map((p) => this.poolRecord(p, day));
  }

  /** /poolsOld: /pools plus the adapter's pool key in its three shapes, poolTokenAddress, url, timestamp. */
  poolsOldRecords(day: number): Json[] {
    const stamp = `${this.date(day)}T0${1 + (this.seed % 8)}:00:51.276Z`;
    return this.alivePools(day).map((p) => {
      const rec = this.poolRecord(p, day);
      const chain = this.chains[p.chainIdx]!;
      const rng = new Rng(hash(this.seed, K.pool, p.slot, 7));
      const address = p.address;
      const r = p.slot < 16 && p.slot < this.options.pools ? [0.1, 0.5, 0.8, 0.95][p.slot % 4]! : rng.next();
      const spelled = chain.family === 'evm' && rng.chance(0.12) ? checksum(address) : address;
      rec.pool_old =
        r < 0.45 ? spelled
        : r < 0.72 ? `${spelled}-${chain.key}`
        : r < 0.9 ? `${chain.key}-${spelled}`
        : `${p.project}-${p.symbol.toLowerCase()}-${chain.key}`;
      const tr = rng.next();
      if (tr < 0.6) rec.poolTokenAddress = spelled;
      else if (tr < 0.8) rec.poolTokenAddress = null;
      rec.url = rng.chance(0.7) ? `https://app.${p.project.replace(/\./g, '')}.fi/pool/${address}` : null;
      rec.timestamp = stamp;
      return rec;
    });
  }

  /** /chart/{pool}: daily points, ascending; undefined when the pool is unknown on that day. */
  poolChart(uuid: string, day: number): Json[] | undefined {
    this.ensurePools(this.poolSlots(day));
    const slot = this.poolsByUuid.get(uuid);
    if (slot === undefined) return undefined;
    const p = this.poolBases[slot]!;
    if (p.birthDay > day) return undefined;
    // A vanished pool keeps its history up to its last day.
    const last = Math.min(day, p.deathDay - 1);
    // History starts at a fixed day, so each new day adds a point and none drops out.
    const first = Math.max(p.firstDay, -p.history);
    const points: Json[] = [];
    for (let t = first; t <= last; t++) {
      const v = this.poolValues(p, t);
      const date = this.date(t);
      let timestamp: string;
      if (t === day) {
        const s = p.minuteSalt;
        timestamp = `${date}T0${1 + (s % 8)}:${pad2((s >> 3) % 60)}:${pad2(s % 60)}.${String(s % 1000).padStart(3, '0')}Z`;
      } else if (t < HOURLY_SINCE_DAY) timestamp = `${date}T00:00:00.000Z`;
      else timestamp = `${date}T23:${pad2(29 + (hash(this.seed, p.slot, t) % 3))}:${pad2(hash(this.seed, p.slot, t, 1) % 60)}.${String(hash(p.slot, t) % 1000).padStart(3, '0')}Z`;
      const point: Json = {
        timestamp,
        tvlUsd: v.tvlUsd,
        apy: v.apy,
        apyBase: v.apyBase,
        apyReward: v.apyReward,
        il7d: p.exposure === 'multi' ? round5(-unit(this.seed, p.slot, t) * 2) : null,
        apyBase7d: v.apyBase === null ? null : round5(v.apyBase * 0.97),
      };
      if (p.hasPricePerShare && t >= HOURLY_SINCE_DAY) point.pricePerShare = round5(1 + (t - HOURLY_SINCE_DAY) * 0.0001 * (1 + (p.slot % 7)));
      points.push(point);
    }
    return points;
  }

  /** A pool id alive on the day, for tests and examples. */
  samplePoolIds(day: number, count: number): string[] {
    return this.alivePools(day).slice(0, count).map((p) => p.uuid);
  }

  counts(day: number): { chains: number; protocols: number; pools: number } {
    return { chains: this.chains.length, protocols: this.aliveProtocols(day).length, pools: this.alivePools(day).length };
  }

  private makeOrphanSlugs(): string[] {
    const rng = new Rng(hash(this.seed, K.orphan));
    const out: string[] = [];
    const count = Math.max(3, Math.round(this.options.pools / 250));
    for (let i = 0; i < count; i++) out.push(`${rng.pick(SYLLABLES)}${rng.pick(SYLLABLES)}-${rng.pick(['yield', 'vaults', 'earn', 'farm', 'pools'])}-${i}`);
    return out;
  }
}

/** A smooth daily multiplier around 1 with a little noise; the same for (slot, day) whenever asked. */
function wave(seed: number, kind: number, slot: number, day: number): number {
  const h = hash(seed, kind, slot);
  const amplitude = 0.05 + (h % 1000) / 4000;
  const period = 9 + ((h >>> 10) % 40);
  const phase = ((h >>> 20) % 628) / 100;
  const noise = unit(seed, kind, slot, day) - 0.5;
  return Math.exp(amplitude * Math.sin(day / period + phase) + 0.06 * noise);
}

function cumulative(weights: number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, i) => (out[i] = sum += w));
  return out;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
