/** Backfill progress: a bar on a terminal (stderr), else a log line every LOG_EVERY_MS or tenth of the work. */
import cliProgress from 'cli-progress';
import type { Logger } from '../logger.js';

export interface ProgressCounts {
  done: number;
  notFound: number;
  failed: number;
}

export interface Progress {
  /** One item finished, whatever its outcome. */
  tick(counts: ProgressCounts): void;
  stop(counts: ProgressCounts): void;
}

const LOG_EVERY_MS = 30_000;

export function startProgress(options: { total: number; log: Logger; label: string; tty?: boolean; now?: () => number }): Progress {
  const { total, log, label } = options;
  const now = options.now ?? (() => performance.now());
  const t0 = now();
  const tty = options.tty ?? Boolean(process.stderr.isTTY);

  if (tty && total > 0) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} items | {rate}/s | ETA {eta_formatted} | not found {notFound}, failed {failed}`, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.0', notFound: 0, failed: 0 });
    const tick = (c: ProgressCounts) => bar.update(finished(c), { rate: rate(c, t0, now()).toFixed(1), notFound: c.notFound, failed: c.failed });
    return {
      tick,
      stop: (c) => {
        tick(c);
        bar.stop();
      },
    };
  }

  let lastAt = t0;
  let lastStep = 0;
  const line = (c: ProgressCounts, final: boolean) => {
    const n = finished(c);
    const perSecond = rate(c, t0, now());
    const etaSeconds = perSecond > 0 ? Math.round((total - n) / perSecond) : null;
    log.info(
      { items: n, total, done: c.done, notFound: c.notFound, failed: c.failed, ratePerSecond: Number(perSecond.toFixed(2)), etaSeconds: final ? 0 : etaSeconds },
      `${label}: ${n}/${total} items${final ? '' : `, ${perSecond.toFixed(1)}/s, ETA ${formatEta(etaSeconds)}`}`,
    );
  };
  return {
    tick(c) {
      const n = finished(c);
      const step = total > 0 ? Math.floor((n * 10) / total) : 0;
      if (now() - lastAt >= LOG_EVERY_MS || step > lastStep) {
        lastAt = now();
        lastStep = step;
        if (n < total) line(c, false);
      }
    },
    stop: (c) => line(c, true),
  };
}

function finished(c: ProgressCounts): number {
  return c.done + c.notFound + c.failed;
}

function rate(c: ProgressCounts, t0: number, t: number): number {
  const seconds = (t - t0) / 1000;
  return seconds > 0 ? finished(c) / seconds : 0;
}

export function formatEta(seconds: number | null): string {
  if (seconds === null) return 'unknown';
  if (seconds < 60) return `${seconds}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
