/** pino: JSON lines on stdout, pretty on a terminal, plus files in LOG_DIR; every line passes redact(). */
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import pino, { type DestinationStream, type Logger, type StreamEntry } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.js';
import { errorMessage } from './errors.js';
import { redact } from './redact.js';

export type { Logger } from 'pino';

let root: Logger = build('info', undefined, false);
let exceptionsFile: string | undefined;

function build(level: Config['logLevel'], logDir: string | undefined, tty: boolean): Logger {
  // Synchronous destinations: a one-shot job exits right after its last line and must not lose it.
  const stdout: DestinationStream = tty
    ? pretty({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : pino.destination({ fd: 1, sync: true });
  // A stream cannot be "silent"; the logger's own level filters everything out then.
  const streamLevel = level === 'silent' ? 'fatal' : level;
  const streams: StreamEntry[] = [{ level: streamLevel, stream: stdout }];
  if (logDir) {
    streams.push({ level: streamLevel, stream: pino.destination({ dest: join(logDir, 'combined.log'), sync: true, mkdir: true }) });
    streams.push({ level: 'error', stream: pino.destination({ dest: join(logDir, 'error.log'), sync: true, mkdir: true }) });
  }
  return pino(
    {
      level,
      base: { app: 'defi-sync', pid: process.pid, hostname: hostName() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: (line: string) => redact(line) },
    },
    pino.multistream(streams, { dedupe: false }),
  );
}

export function hostName(): string {
  // In Kubernetes HOSTNAME is the pod name.
  return process.env.HOSTNAME || process.env.COMPUTERNAME || osHostname();
}

/** Called once the configuration is valid. */
export function initLogger(config: Pick<Config, 'logLevel' | 'logDir'>, tty = Boolean(process.stdout.isTTY)): void {
  root = build(config.logLevel, config.logDir, tty);
  exceptionsFile = config.logDir ? join(config.logDir, 'exceptions.log') : undefined;
}

export function logger(): Logger {
  return root;
}

/** Also writes exceptions.log. */
export function logUncaught(kind: string, error: unknown): void {
  root.fatal({ err: error, kind }, `uncaught ${kind}`);
  if (exceptionsFile) {
    const dest = pino.destination({ dest: exceptionsFile, sync: true, mkdir: true });
    const stack = error instanceof Error ? error.stack : undefined;
    const line = JSON.stringify({ level: 'fatal', time: new Date().toISOString(), kind, message: errorMessage(error), stack });
    dest.write(redact(line) + '\n');
    dest.flushSync();
  }
}
