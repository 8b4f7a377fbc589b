// chainTvls mixes chains and sections ("Ethereum", "Ethereum-staking", "staking"). Only this suffix list marks a section:
// chain labels themselves contain spaces and dashes ("zkSync Era", "terra-classic").
export const SECTIONS = Object.freeze([
  'staking', 'borrowed', 'pool2', 'vesting', 'treasury', 'offers',
  'doublecounted', 'liquidstaking', 'dcAndLsOverlap', 'excludeParent',
] as const);
export type Section = (typeof SECTIONS)[number];

const SECTION_SET: ReadonlySet<string> = new Set(SECTIONS);

export interface SplitChainTvls {
  /** TVL per chain label: {"Ethereum": 1.2e9} */
  readonly chainTvls: Record<string, number>;
  /** Per section, TVL per chain label plus the bare section's own figure as `total`: {"staking": {"Ethereum": 3.4e6, "total": 3.4e6}} */
  readonly sectionTvls: Partial<Record<Section, Record<string, number>>>;
}

export function splitChainTvls(tvls: Readonly<Record<string, unknown>> | null | undefined): SplitChainTvls {
  const chainTvls: Record<string, number> = {};
  const sectionTvls: Partial<Record<Section, Record<string, number>>> = {};
  if (!tvls) return { chainTvls, sectionTvls };
  for (const [key, value] of Object.entries(tvls)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    if (SECTION_SET.has(key)) {
      (sectionTvls[key as Section] ??= {}).total = value;
      continue;
    }
    const dash = key.lastIndexOf('-');
    const suffix = dash > 0 ? key.slice(dash + 1) : '';
    if (SECTION_SET.has(suffix)) (sectionTvls[suffix as Section] ??= {})[key.slice(0, dash)] = value;
    else chainTvls[key] = value;
  }
  return { chainTvls, sectionTvls };
}
