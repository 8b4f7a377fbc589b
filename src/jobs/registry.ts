/** The single source of the CLI, `list`, `status`, the scheduler and the chart's values. A new job = one file + one entry. */
import { Option } from 'commander';
import { forceOption, parsedBy, settingOption } from '../cli-options.js';
import { integer, scheduleVariable, type Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { pastDate } from '../history/dates.js';
import { historyInstance, poolId, protocolSlug } from '../history/selection.js';
import { parseShard } from '../history/shard.js';
import type { ForceOptions, JobDefinition, JobModule } from './types.js';

// Upper bounds: a value past them is a typo, and would fail later in date arithmetic or SQL.
const MAX_RECHECK_DAYS = 36_500;
const MAX_VERIFY_LIMIT = 10_000_000;
/** What --pool and --protocol (single items) cannot be combined with. */
const SELECTIONS = ['all', 'top', 'only'];

/** sync-chains, sync-protocols and sync-pools: one DeFiLlama list each, behind the deactivation guard. */
function currentStateJob(name: string, schedule: string, description: string, load: () => Promise<JobModule<ForceOptions>>): JobDefinition<ForceOptions> {
  return { name, load, schedule, priority: 'high', description, options: [forceOption()] };
}

export const JOBS: readonly JobDefinition[] = Object.freeze([
  currentStateJob('sync-chains', '0 1 * * *', 'Sync the list of chains with their TVL from /v2/chains.', () => import('./sync-chains.js')),
  currentStateJob('sync-protocols', '0 2 * * *', 'Sync every protocol with its TVL, per-chain split and metadata from /protocols.', () => import('./sync-protocols.js')),
  currentStateJob('sync-pools', '0 3 * * *', 'Sync every yield pool with APY, TVL and tokens from /pools.', () => import('./sync-pools.js')),
  {
    name: 'map-contracts',
    schedule: '0 4 * * *',
    priority: 'medium',
    description: 'Map pools and protocols to contract addresses with confidence scores.',
    options: [
      new Option('--no-verify', 'skip on-chain verification even when RPC endpoints are configured'),
      new Option('--recheck-days <days>', 'reuse cached on-chain verdicts and token metadata younger than this').argParser(parsedBy(integer(1, MAX_RECHECK_DAYS))).default(7),
      new Option('--verify-limit <n>', 'check at most this many addresses on-chain per run').argParser(parsedBy(integer(1, MAX_VERIFY_LIMIT))).default(20_000),
      forceOption(),
    ],
    load: () => import('./map-contracts.js'),
  },
  {
    name: 'create-snapshots',
    schedule: '0 5 * * *',
    priority: 'medium',
    description: "Write today's (UTC) daily snapshot of every active pool and protocol.",
    options: [new Option('--date <YYYY-MM-DD>', 'snapshot this UTC date instead of today (not a future one)').argParser(parsedBy(pastDate))],
    load: () => import('./create-snapshots.js'),
  },
  {
    name: 'sync-historical',
    schedule: '0 6 * * 0',
    priority: 'low',
    description: 'Backfill daily pool and protocol history from the history endpoints (sharded, resumable).',
    options: [
      new Option('--all', 'every active pool and protocol instead of the top N by TVL').conflicts('top'),
      settingOption('--top <n>', 'the top N pools and the top N protocols by TVL', 'HISTORY_TOP_N'),
      new Option('--pool <id>', 'only this pool (its DeFiLlama UUID)').argParser(parsedBy(poolId)).conflicts(SELECTIONS),
      new Option('--protocol <slug>', 'only this protocol (slug or id)').argParser(parsedBy(protocolSlug)).conflicts(SELECTIONS),
      new Option('--only <kind>', 'backfill one kind only').choices(['pools', 'protocols']),
      new Option('--shard <i/n>', 'take shard i of n, numbered from 0 (default: JOB_COMPLETION_INDEX of JOB_COMPLETIONS, else all)').argParser(parsedBy(parseShard)),
      settingOption('--max-failed-share <x>', 'fail when more than this share of the items failed or were not found', 'HISTORY_MAX_FAILED_SHARE'),
    ],
    load: () => import('./sync-historical.js'),
    instance: historyInstance,
  },
  {
    name: 'cleanup-old-data',
    schedule: '0 7 * * 0',
    priority: 'low',
    description: 'Apply retention: old sync_jobs rows, snapshot partitions, long-inactive pools and mappings.',
    options: [new Option('--dry-run', 'report what would be removed and remove nothing')],
    load: () => import('./cleanup-old-data.js'),
  },
] satisfies JobDefinition[]);

/** The daily pipeline run by `run-all`, in dependency order. */
export const DAILY_PIPELINE: readonly string[] = Object.freeze(['sync-chains', 'sync-protocols', 'sync-pools', 'map-contracts', 'create-snapshots']);

export function findJob(name: string): JobDefinition | undefined {
  return JOBS.find((j) => j.name === name);
}

/** A misspelt name in DISABLED_JOBS or SCHEDULE_<JOB> would be silently ignored, so it is a configuration error (exit 2). */
export function checkJobNames(config: Pick<Config, 'disabledJobs' | 'scheduleOverrides'>): void {
  const known = JOBS.map((j) => j.name);
  const unknown = (name: string) => !known.includes(name);
  const disabled = config.disabledJobs.find(unknown);
  if (disabled !== undefined) throw new ConfigError(`DISABLED_JOBS names an unknown job ${JSON.stringify(disabled)} (jobs: ${known.join(', ')})`);
  const scheduled = Object.keys(config.scheduleOverrides).find(unknown);
  if (scheduled !== undefined) {
    throw new ConfigError(`${scheduleVariable(scheduled)} names an unknown job ${JSON.stringify(scheduled)} (jobs: ${known.join(', ')})`);
  }
}
