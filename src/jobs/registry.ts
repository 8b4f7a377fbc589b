/**
 * The job registry: the single source from which the CLI, `list`, `status`, the local scheduler
 * and the Helm chart's values are derived or checked. Adding a job = one file here + one entry.
 */
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { historyInstance } from '../history/selection.js';
import type { JobDefinition } from './types.js';

export const JOBS: readonly JobDefinition[] = Object.freeze([
  {
    name: 'sync-chains',
    load: () => import('./sync-chains.js'),
    schedule: '0 1 * * *',
    priority: 'high',
    description: 'Sync the list of chains with their TVL from /v2/chains.',
    options: [{ flags: '--force', description: 'apply even if more than MAX_DEACTIVATE_SHARE of active rows would be deactivated' }],
  },
  {
    name: 'sync-protocols',
    load: () => import('./sync-protocols.js'),
    schedule: '0 2 * * *',
    priority: 'high',
    description: 'Sync every protocol with its TVL, per-chain split and metadata from /protocols.',
    options: [{ flags: '--force', description: 'apply even if more than MAX_DEACTIVATE_SHARE of active rows would be deactivated' }],
  },
  {
    name: 'sync-pools',
    load: () => import('./sync-pools.js'),
    schedule: '0 3 * * *',
    priority: 'high',
    description: 'Sync every yield pool with APY, TVL and tokens from /pools.',
    options: [{ flags: '--force', description: 'apply even if more than MAX_DEACTIVATE_SHARE of active rows would be deactivated' }],
  },
  {
    name: 'map-contracts',
    schedule: '0 4 * * *',
    priority: 'medium',
    description: 'Map pools and protocols to contract addresses with confidence scores.',
    options: [
      { flags: '--no-verify', description: 'skip on-chain verification even when RPC endpoints are configured' },
      { flags: '--recheck-days <days>', description: 'reuse cached on-chain verdicts and token metadata younger than this (default 7)' },
      { flags: '--verify-limit <n>', description: 'check at most this many addresses on-chain per run (default 20000)' },
      { flags: '--force', description: 'apply even if more than MAX_DEACTIVATE_SHARE of active mappings would be deactivated' },
    ],
    load: () => import('./map-contracts.js'),
  },
  {
    name: 'create-snapshots',
    schedule: '0 5 * * *',
    priority: 'medium',
    description: "Write today's (UTC) daily snapshot of every active pool and protocol.",
    options: [{ flags: '--date <YYYY-MM-DD>', description: 'snapshot this UTC date instead of today (not a future one)' }],
    load: () => import('./create-snapshots.js'),
  },
  {
    name: 'sync-historical',
    schedule: '0 6 * * 0',
    priority: 'low',
    description: 'Backfill daily pool and protocol history from the history endpoints (sharded, resumable).',
    options: [
      { flags: '--all', description: 'every active pool and protocol instead of the top N by TVL' },
      { flags: '--top <n>', description: 'the top N pools and the top N protocols by TVL (default HISTORY_TOP_N)' },
      { flags: '--pool <id>', description: 'only this pool (its DeFiLlama UUID)' },
      { flags: '--protocol <slug>', description: 'only this protocol (slug or id)' },
      { flags: '--only <kind>', description: '"pools" or "protocols": backfill one kind only' },
      { flags: '--shard <i/n>', description: 'take shard i of n, numbered from 0 (default: JOB_COMPLETION_INDEX of JOB_COMPLETIONS, else all)' },
      { flags: '--max-failed-share <x>', description: 'fail when more than this share of the items failed or were not found (default HISTORY_MAX_FAILED_SHARE)' },
    ],
    load: () => import('./sync-historical.js'),
    instance: historyInstance,
  },
  {
    name: 'cleanup-old-data',
    schedule: '0 7 * * 0',
    priority: 'low',
    description: 'Apply retention: old sync_jobs rows, snapshot partitions, long-inactive pools and mappings.',
    options: [{ flags: '--dry-run', description: 'report what would be removed and remove nothing' }],
    load: () => import('./cleanup-old-data.js'),
  },
] satisfies JobDefinition[]);

/** The daily pipeline run by `run-all`, in dependency order. */
export const DAILY_PIPELINE: readonly string[] = Object.freeze(['sync-chains', 'sync-protocols', 'sync-pools', 'map-contracts', 'create-snapshots']);

export function findJob(name: string): JobDefinition | undefined {
  return JOBS.find((j) => j.name === name);
}

/**
 * DISABLED_JOBS and SCHEDULE_<JOB> name jobs: a misspelt name would otherwise be ignored and the
 * job run on its default schedule, so it is a configuration error (exit 2).
 */
export function checkJobNames(config: Pick<Config, 'disabledJobs' | 'scheduleOverrides'>): void {
  const known = JOBS.map((j) => j.name);
  const unknown = (name: string) => !known.includes(name);
  const disabled = config.disabledJobs.find(unknown);
  if (disabled !== undefined) throw new ConfigError(`DISABLED_JOBS names an unknown job ${JSON.stringify(disabled)} (jobs: ${known.join(', ')})`);
  const scheduled = Object.keys(config.scheduleOverrides).find(unknown);
  if (scheduled !== undefined) {
    throw new ConfigError(`SCHEDULE_${scheduled.toUpperCase().replace(/-/g, '_')} names an unknown job ${JSON.stringify(scheduled)} (jobs: ${known.join(', ')})`);
  }
}
