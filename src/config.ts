/** Configuration from the environment (and .env), validated once. SETTINGS drives docs/configuration.md and .env.example. */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError } from './errors.js';
import { registerSecret, registerUrlSecrets } from './redact.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export type Trigger = 'schedule' | 'manual' | 'scheduler';

export type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

interface Setting {
  env: string;
  key: string;
  description: string;
  default?: string;
  secret?: boolean;
  parse: (raw: string) => Parsed<unknown>;
}

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = <T>(expected: string): Parsed<T> => ({ ok: false, expected });

const text = (raw: string): Parsed<string | undefined> => ok(raw === '' ? undefined : raw);

/** A whole number in [min, max]. The bound catches typos, which would otherwise fail later in SQL and look transient (retried). */
export function integer(min: number, max: number, expected = `a whole number from ${min} to ${max}`) {
  return (raw: string): Parsed<number> => {
    if (!/^\d+$/.test(raw.trim())) return fail(expected);
    const n = Number(raw.trim());
    return Number.isSafeInteger(n) && n >= min && n <= max ? ok(n) : fail(expected);
  };
}

function exitCodeValue(raw: string): Parsed<number> {
  const v = raw.trim();
  return /^\d{1,3}$/.test(v) && Number(v) <= 255 ? ok(Number(v)) : fail('an exit code from 0 to 255');
}

/** Empty (or blank) for unset, else a value `parse` accepts. */
function optional<T>(parse: (raw: string) => Parsed<T>) {
  return (raw: string): Parsed<T | undefined> => (raw.trim() === '' ? ok(undefined) : parse(raw));
}

const MAX_RETENTION_DAYS = 36_500; // 100 years
/** 500 MiB: a larger body would not fit in one JavaScript string (about 512 Mi characters) anyway. */
const MAX_BODY_BYTES = 524_288_000;

function share(raw: string): Parsed<number> {
  const n = Number(raw.trim());
  return raw.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 1 ? ok(n) : fail('a number between 0 and 1');
}

function urlWith(raw: string, protocols: readonly string[]): URL | undefined {
  const url = URL.canParse(raw.trim()) ? new URL(raw.trim()) : undefined;
  return url && protocols.includes(url.protocol) ? url : undefined;
}

function httpUrl(raw: string): Parsed<string> {
  const url = urlWith(raw, ['http:', 'https:']);
  return url ? ok(url.toString().replace(/\/+$/, '')) : fail('an http:// or https:// URL');
}

function flag(raw: string): Parsed<boolean> {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return ok(true);
  if (['false', '0', 'no', 'off', ''].includes(v)) return ok(false);
  return fail('true or false');
}

function postgresUrl(raw: string): Parsed<string> {
  return urlWith(raw, ['postgres:', 'postgresql:']) ? ok(raw.trim()) : fail('a postgres:// or postgresql:// connection URL');
}

function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string): Parsed<T> => {
    const v = raw.trim().toLowerCase() as T;
    return values.includes(v) ? ok(v) : fail(`one of ${values.join(', ')}`);
  };
}

function list(raw: string): Parsed<readonly string[]> {
  return ok(raw.split(',').map((s) => s.trim()).filter(Boolean));
}

const SETTING_LIST = [
  { env: 'DATABASE_URL', key: 'databaseUrl', secret: true, parse: optional(postgresUrl),
    description: 'PostgreSQL connection URL. Unset: an embedded PostgreSQL in DEFI_SYNC_DATA_DIR, except in Kubernetes, where it is required (exit 2).' },
  { env: 'DEFILLAMA_API_URL', key: 'defillamaApiUrl', default: 'https://api.llama.fi', parse: httpUrl,
    description: 'Base URL of the DeFiLlama TVL API (protocols, chains, protocol history).' },
  { env: 'DEFILLAMA_YIELDS_URL', key: 'defillamaYieldsUrl', default: 'https://yields.llama.fi', parse: httpUrl,
    description: 'Base URL of the DeFiLlama yields API (pools, pool history).' },
  { env: 'DEFILLAMA_PRO_API_URL', key: 'defillamaProApiUrl', default: 'https://pro-api.llama.fi', parse: httpUrl,
    description: 'Base URL of the pro API, used when DEFILLAMA_API_KEY is set.' },
  { env: 'DEFILLAMA_API_KEY', key: 'defillamaApiKey', secret: true, parse: text,
    description: 'DeFiLlama pro API key (a URL path segment; always redacted).' },
  { env: 'MORALIS_API_KEY', key: 'moralisApiKey', secret: true, parse: text,
    description: 'Moralis API key: map-contracts fetches ERC-20 metadata of the EVM tokens it maps (sent only in the X-API-Key header).' },
  { env: 'MORALIS_API_URL', key: 'moralisApiUrl', default: 'https://deep-index.moralis.io/api/v2.2', parse: httpUrl,
    description: "Base URL of Moralis' EVM API (used when MORALIS_API_KEY is set)." },
  { env: 'ALCHEMY_API_KEY', key: 'alchemyApiKey', secret: true, parse: text,
    description: 'Alchemy API key: enables on-chain verification on the chains Alchemy serves.' },
  { env: 'MAX_CONCURRENT_JOBS', key: 'maxConcurrentJobs', default: '3', parse: integer(1, 100),
    description: 'Local scheduler: how many jobs may run at once.' },
  { env: 'API_RATE_LIMIT_MS', key: 'apiRateLimitMs', default: '200', parse: integer(0, 600_000),
    description: 'Minimum milliseconds between the starts of two API requests (total for all shards).' },
  { env: 'HTTP_TIMEOUT_MS', key: 'httpTimeoutMs', default: '60000', parse: integer(1, 3_600_000),
    description: 'Timeout of one HTTP request, in milliseconds.' },
  { env: 'MAX_RESPONSE_BYTES', key: 'maxResponseBytes', default: '134217728', parse: integer(1024, MAX_BODY_BYTES),
    description: 'Largest accepted API response body, in bytes (after decompression). Peak memory is about 100 MB + 6 x this: keep it under the memory limit (128 MiB for 1 GiB).' },
  { env: 'LOG_LEVEL', key: 'logLevel', default: 'info',
    parse: oneOf<LogLevel>(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
    description: 'Log level: debug logs every API call and statement with timings.' },
  { env: 'LOG_DIR', key: 'logDir', parse: text,
    description: 'When set, also write combined.log, error.log and exceptions.log in this directory.' },
  { env: 'DEFI_SYNC_TRIGGER', key: 'trigger', default: 'manual', parse: oneOf<Trigger>(['schedule', 'manual', 'scheduler']),
    description: 'What started the run, recorded in sync_jobs (the Helm chart sets "schedule").' },
  { env: 'DEFI_SYNC_CRONJOB', key: 'cronJobName', parse: text,
    description: 'Set by the Helm chart: the CronJob of this pod, to tell scheduled Jobs from ones created by hand.' },
  { env: 'DEFI_SYNC_KUBE_JOB', key: 'kubeJobName', parse: text,
    description: "Set by the Helm chart from the pod's batch.kubernetes.io/job-name label (downward API)." },
  { env: 'DISABLED_JOBS', key: 'disabledJobs', default: '', parse: list,
    description: 'Comma-separated job names that are disabled (not scheduled, not checked by status --check); an unknown name is exit 2, as is a SCHEDULE_<JOB> for one.' },
  { env: 'DEFI_SYNC_DATA_DIR', key: 'dataDir', parse: text,
    description: 'Embedded PostgreSQL data directory (default: $XDG_DATA_HOME/defi-sync or ~/.local/share/defi-sync).' },
  { env: 'MAX_DEACTIVATE_SHARE', key: 'maxDeactivateShare', default: '0.5', parse: share,
    description: 'A sync fails (unless --force) when it would deactivate more than this share of active rows.' },
  { env: 'MAX_REJECTED_SHARE', key: 'maxRejectedShare', default: '0.01', parse: share,
    description: 'sync-chains, sync-protocols and sync-pools fail when they reject (as malformed) more than this share of the records; below it they load the rest.' },
  { env: 'SYNC_JOBS_RETENTION_DAYS', key: 'syncJobsRetentionDays', default: '90', parse: integer(1, MAX_RETENTION_DAYS),
    description: 'cleanup-old-data deletes sync_jobs rows older than this.' },
  { env: 'SNAPSHOT_RETENTION_DAYS', key: 'snapshotRetentionDays', default: '', parse: optional(integer(1, MAX_RETENTION_DAYS, `a whole number from 1 to ${MAX_RETENTION_DAYS}, or empty (keep forever)`)),
    description: 'cleanup-old-data drops snapshot partitions wholly older than this (empty: keep forever).' },
  { env: 'INACTIVE_RETENTION_DAYS', key: 'inactiveRetentionDays', default: '180', parse: integer(1, MAX_RETENTION_DAYS),
    description: 'cleanup-old-data purges inactive pools and mappings not seen for this many days.' },
  { env: 'HISTORY_TOP_N', key: 'historyTopN', default: '2000', parse: integer(1, 1_000_000),
    description: 'sync-historical backfills the top N pools and the top N protocols by TVL (unless --all or --top).' },
  { env: 'HISTORY_MAX_FAILED_SHARE', key: 'historyMaxFailedShare', default: '0.1', parse: share,
    description: 'sync-historical fails when more than this share of its items failed or were not found upstream.' },
  { env: 'JOB_COMPLETION_INDEX', key: 'jobCompletionIndex', parse: optional(integer(0, 999)),
    description: 'Set by Kubernetes in an Indexed Job: the shard sync-historical takes (with JOB_COMPLETIONS).' },
  { env: 'JOB_COMPLETIONS', key: 'jobCompletions', parse: optional(integer(1, 1000)),
    description: 'The completion count of an Indexed Job (set by the Helm chart): how many shards sync-historical is split into.' },
  { env: 'JOB_PARALLELISM', key: 'jobParallelism', parse: optional(integer(1, 1000)),
    description: 'The parallelism of an Indexed Job (set by the Helm chart): how many shards of sync-historical run at once and share API_RATE_LIMIT_MS (default: JOB_COMPLETIONS).' },
  { env: 'PUSHGATEWAY_URL', key: 'pushgatewayUrl', parse: optional(httpUrl),
    description: 'Prometheus Pushgateway URL: each run pushes its metrics there when set.' },
  { env: 'POD_NAMESPACE', key: 'podNamespace', parse: text,
    description: "Set by the Helm chart (downward API): the pod's namespace, part of the Pushgateway grouping key and labels." },
  { env: 'DEFI_SYNC_RELEASE', key: 'release', parse: text,
    description: 'Set by the Helm chart: the release name, part of the Pushgateway grouping key and labels; `trigger` and `status --kubernetes` use it to find the release\'s CronJobs.' },
  { env: 'METRICS_PORT', key: 'metricsPort', default: '9464', parse: optional(integer(0, 65535, 'a port number from 0 to 65535, or empty for none')),
    description: 'Local scheduler: port of its /metrics and /healthz server (0: any free port; empty: no server).' },
  { env: 'SCHEDULER_GRACE_SECONDS', key: 'schedulerGraceSeconds', default: '30', parse: integer(0, 3600),
    description: 'Local scheduler: on SIGTERM, how long running jobs may take to stop before they are killed.' },
  { env: 'SCHEDULER_CATCH_UP', key: 'schedulerCatchUp', default: 'false', parse: flag,
    description: 'Local scheduler: at start, run once each job whose last scheduled run was missed (or that never ran).' },
  { env: 'MIGRATION_LOCK_TIMEOUT_MS', key: 'migrationLockTimeoutMs', default: '5000', parse: integer(1, 600_000),
    description: 'migrate: how long one attempt of a migration may wait for a table lock (a running job holds it) before it backs off and retries, so readers never queue behind it.' },
  { env: 'MIGRATION_ATTEMPTS', key: 'migrationAttempts', default: '10', parse: integer(1, 100),
    description: 'migrate: attempts per migration (back-off from 1 s, doubling, at most 30 s) before it exits 1 with that migration unapplied (earlier ones stay applied).' },
  { env: 'SKIPPED_EXIT_CODE', key: 'skippedExitCode', default: '0', parse: exitCodeValue,
    description: 'Exit code of a run skipped because another run holds the job\'s lock (recorded as `skipped`); 0 by default, since a skip is not a failure. `--skipped-exit-code` overrides it.' },
] as const satisfies readonly Setting[];

export const SETTINGS: readonly Setting[] = SETTING_LIST;

/** Each setting's key, typed as its parser's value. */
type SettingValues = {
  [S in (typeof SETTING_LIST)[number] as S['key']]: S['parse'] extends (raw: string) => Parsed<infer T> ? T : never;
};

export interface Config extends SettingValues {
  /** RPC_URL_<CHAINKEY> entries, keyed by lower-case chain key. Secret: they often embed keys. */
  rpcUrls: Readonly<Record<string, string>>;
  /** SCHEDULE_<JOB_NAME> overrides, keyed by job name (sync-pools). */
  scheduleOverrides: Readonly<Record<string, string>>;
  /** Running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is set): no embedded database there. */
  inKubernetes: boolean;
}

const PREFIX_RPC = 'RPC_URL_';
const PREFIX_SCHEDULE = 'SCHEDULE_';

/** The variable that overrides a job's schedule: SCHEDULE_SYNC_POOLS for sync-pools. */
export const scheduleVariable = (job: string): string => `${PREFIX_SCHEDULE}${job.toUpperCase().replace(/-/g, '_')}`;

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads .env (if present) under the real environment: variables already set win. */
export function environmentWithDotenv(): Env {
  return existsSync('.env') ? { ...parseDotenv(readFileSync('.env')), ...process.env } : process.env;
}

/** Validates the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const values: Record<string, unknown> = {};
  // Secrets first, so that no later message can leak them.
  for (const s of SETTINGS) if (s.secret) registerSecret(env[s.env]);
  registerUrlSecrets(env.DATABASE_URL);
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(PREFIX_RPC) && value) {
      registerSecret(value);
      registerUrlSecrets(value);
    }
  }

  for (const s of SETTINGS) {
    const raw = env[s.env] ?? s.default ?? '';
    const parsed = s.parse(raw);
    if (!parsed.ok) {
      const shown = s.secret ? 'a value that is not shown because it is secret' : JSON.stringify(raw);
      throw new ConfigError(`${s.env} must be ${parsed.expected}, got ${shown}`);
    }
    values[s.key] = parsed.value;
  }

  const rpcUrls: Record<string, string> = {};
  const scheduleOverrides: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (name.startsWith(PREFIX_RPC)) {
      const chain = name.slice(PREFIX_RPC.length).toLowerCase();
      if (!httpUrl(value).ok) throw new ConfigError(`${name} must be an http:// or https:// URL, got a value that is not shown because it is secret`);
      rpcUrls[chain] = value.trim();
    } else if (name.startsWith(PREFIX_SCHEDULE)) {
      scheduleOverrides[name.slice(PREFIX_SCHEDULE.length).toLowerCase().replace(/_/g, '-')] = value.trim();
    }
  }
  values.trigger = resolveTrigger(values.trigger as Trigger, values.cronJobName as string | undefined, values.kubeJobName as string | undefined);
  values.rpcUrls = Object.freeze(rpcUrls);
  values.scheduleOverrides = Object.freeze(scheduleOverrides);
  values.inKubernetes = Boolean(env.KUBERNETES_SERVICE_HOST?.trim());
  return Object.freeze(values) as unknown as Config;
}

// A manual Job copies the CronJob's DEFI_SYNC_TRIGGER=schedule; only the controller names Jobs "<cronjob>-<minutes since epoch>".
export function resolveTrigger(trigger: Trigger, cronJob: string | undefined, kubeJob: string | undefined): Trigger {
  if (trigger !== 'schedule' || !cronJob || !kubeJob) return trigger;
  return kubeJob.startsWith(`${cronJob}-`) && /^\d+$/.test(kubeJob.slice(cronJob.length + 1)) ? 'schedule' : 'manual';
}
