/** Commander wiring only: actions delegate to src/commands/; main() is the one place where an error becomes an exit code. */
import { Command, CommanderError, Option } from 'commander';
import { forceOption, parsedBy, settingOption } from './cli-options.js';
import { cmdList } from './commands/list.js';
import { cmdMigrate } from './commands/migrate.js';
import { cmdPsql, type PsqlOptions } from './commands/psql.js';
import { cmdRunAll, cmdRunJob } from './commands/run-job.js';
import type { SchedulerCliOptions } from './commands/scheduler.js';
import { cmdStatus, type StatusOptions } from './commands/status.js';
import type { TriggerOptions } from './commands/trigger.js';
import { environmentWithDotenv, integer, loadConfig, ok, scheduleVariable, type Config, type Parsed } from './config.js';
import { errorMessage, exitCodeFor, ExitCode } from './errors.js';
import type { ForceOptions } from './jobs/types.js';
import { checkJobNames, DAILY_PIPELINE, findJob, JOBS } from './jobs/registry.js';
import { initLogger } from './logger.js';
import { redact } from './redact.js';
import { VERSION } from './version.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** `trigger --timeout`: a week is longer than any job runs, and a timer past 2^31 ms would fire at once. */
const MAX_TIMEOUT_SECONDS = 7 * 86_400;

const jsonOption = () => new Option('--json', 'machine-readable output');
const namespaceOption = () => new Option('-n, --namespace <namespace>', 'Kubernetes namespace (default: in-cluster namespace or the kubeconfig context)');
const releaseOption = (what: string) => new Option('--release <name>', `Helm release whose ${what} (default: DEFI_SYNC_RELEASE, or the only one)`);
/** METRICS_PORT's values, but "off" instead of empty for no server. */
const metricsPortValue = (raw: string): Parsed<number | 'off'> => (raw.trim() === 'off' ? ok('off') : integer(0, 65535, 'a port number from 0 to 65535, or "off"')(raw));

export function buildProgram(io: Io, signal: AbortSignal, setExitCode: (code: number) => void, onConfig: (config: Config) => void = () => undefined, allowShutdownMs: (ms: number) => void = () => undefined): Command {
  let config: Config | undefined;
  // Configuration is read when a command runs, so --help works even with a broken environment.
  const cfg = (): Config => {
    if (!config) {
      // Global options (commander holds only those given) win over the environment.
      config = Object.freeze({ ...loadConfig(environmentWithDotenv()), ...program.opts<Partial<Pick<Config, 'skippedExitCode'>>>() });
      checkJobNames(config);
      initLogger(config);
      onConfig(config);
    }
    return config;
  };

  const program = new Command('defi-sync')
    .description('Keep a PostgreSQL warehouse of DeFiLlama protocols, pools, chains, contracts and their history.\nEach job runs once and exits: 0 success (or skipped: another run holds the lock), 1 failure (retry may help), 2 bad usage or configuration, 143 cancelled.')
    .version(VERSION, '-V, --version')
    .addOption(settingOption('--skipped-exit-code <code>', "exit code of a run skipped because another run holds the job's lock, recorded as skipped", 'SKIPPED_EXIT_CODE'))
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (s, write) => write(s) })
    .showSuggestionAfterError(true);

  for (const job of JOBS) {
    const cmd = program.command(job.name).description(job.load ? job.description : `${job.description} (not implemented yet)`);
    for (const option of job.options ?? []) cmd.addOption(option);
    cmd.addHelpText('after', `\nDefault schedule: ${job.schedule} (UTC), priority ${job.priority}. Override with ${scheduleVariable(job.name)}.`);
    cmd.action((opts: object) => cmdRunJob(cfg(), job, opts, signal));
  }

  program
    .command('run-all')
    .description('Run the daily pipeline in dependency order: sync-chains, sync-protocols, sync-pools, map-contracts, create-snapshots. Stops at the first failure, or with exit 1 at a step skipped for its lock.')
    .addOption(forceOption())
    .addHelpText('after', `\n--force goes to the steps that take it: ${DAILY_PIPELINE.filter((name) => findJob(name)?.options?.some((o) => o.long === '--force')).join(', ')}.`)
    .action((opts: ForceOptions) => cmdRunAll(cfg(), opts, signal));

  program
    .command('list')
    .description('List the registered jobs with their schedules and priorities.')
    .addOption(jsonOption())
    .action((opts: { json?: boolean }) => cmdList(cfg(), opts, io.out));

  program
    .command('status')
    .description("Show each job's last run, next run and staleness (from the sync_jobs table).")
    .addOption(jsonOption())
    .option('--check', 'exit 1 when an enabled job failed, was abandoned or is stale (for alerting and helm test)')
    .option('--kubernetes', "add each job's CronJob state (suspended, schedule, last schedule/success, active Jobs, last Job)")
    .addOption(namespaceOption())
    .addOption(releaseOption('CronJobs to read'))
    .action(async (opts: StatusOptions) => setExitCode(await cmdStatus(cfg(), opts, io.out)));

  program
    .command('trigger')
    .description('Start a job now in Kubernetes: create a Job from the release\'s CronJob, as `kubectl create job --from=cronjob/...` does.')
    .argument('<job>', 'job name, e.g. sync-pools')
    .option('--wait', "wait for the Job to finish and exit with its outcome (0, or the failed container's exit code)")
    .addOption(new Option('--follow', "stream the Job's pod logs while waiting (implies --wait)").implies({ wait: true }))
    .addOption(new Option('--timeout <seconds>', 'give up waiting after this many seconds').argParser(parsedBy(integer(1, MAX_TIMEOUT_SECONDS, `a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`))).default(6 * 3600))
    .addOption(namespaceOption())
    .addOption(releaseOption('CronJob to use'))
    .action(async (job: string, opts: TriggerOptions) => {
      // Loaded on demand: the Kubernetes client is large and jobs never need it.
      const { cmdTrigger } = await import('./commands/trigger.js');
      setExitCode(await cmdTrigger(job, opts, io, signal));
    });

  program
    .command('scheduler')
    .description('Run every enabled job on its schedule (UTC) until SIGTERM, each run a child process, at most MAX_CONCURRENT_JOBS at once; serve /metrics and /healthz. Exits 143 when stopped.')
    .addOption(settingOption('--catch-up', 'at start, run once each job whose last scheduled run was missed or that never ran', 'SCHEDULER_CATCH_UP'))
    .addOption(settingOption('--metrics-port <port>', 'port of /metrics and /healthz, 0 for any free one, "off" for none', 'METRICS_PORT', metricsPortValue))
    .addOption(settingOption('--grace-period <seconds>', 'on SIGTERM, how long running jobs may take to stop before they are killed', 'SCHEDULER_GRACE_SECONDS'))
    .action(async (opts: SchedulerCliOptions) => {
      const { cmdScheduler } = await import('./commands/scheduler.js');
      await cmdScheduler(cfg(), opts, signal, allowShutdownMs);
    });

  program
    .command('psql')
    .description('Open psql on the warehouse this CLI uses (DATABASE_URL, or the embedded PostgreSQL, kept up while psql runs); arguments after -- go to psql, e.g. defi-sync psql -- -c "select 1". Needs psql (Debian: postgresql-client).')
    .option('--print-url', 'print the warehouse URL for other clients instead; with the embedded PostgreSQL it then stays up until Ctrl-C or SIGTERM, since it stops when the last defi-sync process exits')
    .option('--show-password', 'print the password in the URL (hidden as *** otherwise)')
    .argument('[psql-args...]', 'arguments passed to psql')
    .allowUnknownOption()
    .action(async (args: string[], opts: PsqlOptions) => setExitCode(await cmdPsql(cfg(), opts, args, io, signal)));

  program
    .command('migrate')
    .description('Apply pending database migrations (under an advisory lock; safe to run concurrently). Each waits at most MIGRATION_LOCK_TIMEOUT_MS for a table lock a running job holds, then backs off and retries (MIGRATION_ATTEMPTS); exits 1 if the lock stays held, that migration unapplied (earlier ones stay applied).')
    .action(() => cmdMigrate(cfg(), io.out));

  return program;
}

export async function main(argv: readonly string[], io: Io, signal: AbortSignal, allowShutdownMs?: (ms: number) => void): Promise<number> {
  let exitCode: number = ExitCode.Success;
  let config: Config | undefined;
  const program = buildProgram(io, signal, (code) => (exitCode = code), (c) => (config = c), allowShutdownMs);
  if (argv.length <= 2) {
    program.outputHelp({ error: true });
    return ExitCode.BadUsage;
  }
  try {
    await program.parseAsync(argv as string[]);
    return exitCode;
  } catch (error) {
    // commander has already printed its own usage errors and help.
    if (!(error instanceof CommanderError)) io.err(`defi-sync: ${redact(errorMessage(error))}`);
    return exitCodeFor(error, config?.skippedExitCode);
  }
}
