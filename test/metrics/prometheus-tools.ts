/**
 * Real Prometheus programs for the tests (Debian packages prometheus-pushgateway and prometheus,
 * installed by scripts/test-tools.sh): started on free loopback ports, stopped in `after`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { closedPort } from '../helpers/ports.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PUSHGATEWAY_BIN = process.env.PUSHGATEWAY_BIN ?? '/usr/bin/prometheus-pushgateway';
export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

/** Fails with the way to install the program rather than skipping: a skipped check proves nothing. */
export function requireProgram(path: string, pkg: string): void {
  if (!existsSync(path)) throw new Error(`${path} is missing: install the Debian package ${pkg} (scripts/test-tools.sh does it)`);
}

/** A port for a program that must be told where to listen (it is free until someone takes it). */
export const freePort = closedPort;

export interface Daemon {
  readonly url: string;
  stop(): Promise<void>;
}

async function waitReady(url: string, child: ChildProcess, output: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the program exited with ${child.exitCode}\n${output()}`);
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms\n${output()}`);
}

/**
 * Starts a daemon on a port found free a moment before; these programs cannot report a port they
 * chose themselves, so one that lost the port to another process in between is started again.
 */
async function daemon(bin: string, args: (port: number) => string[], cleanup?: () => void): Promise<Daemon> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await daemonOnce(bin, args, cleanup);
    } catch (error) {
      if (attempt >= 3 || !/exited with/.test(String(error))) throw error;
    }
  }
}

async function daemonOnce(bin: string, args: (port: number) => string[], cleanup?: () => void): Promise<Daemon> {
  const port = await freePort();
  const child = spawn(bin, args(port), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    cleanup?.();
  };
  try {
    await waitReady(url, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}

export function startPushgateway(): Promise<Daemon> {
  requireProgram(PUSHGATEWAY_BIN, 'prometheus-pushgateway');
  // Debian's build persists to /var/lib/prometheus/pushgateway.data by default: every gateway on
  // the machine would start with the metrics other runs left there. In memory only.
  return daemon(PUSHGATEWAY_BIN, (port) => [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=']);
}

/** A Prometheus server scraping `target` (honouring pushed labels) every second and evaluating `rules`. */
export function startPrometheus(target: string, rules: string): Promise<Daemon> {
  requireProgram(PROMETHEUS_BIN, 'prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'defi-sync-prometheus-'));
  writeFileSync(join(dir, 'rules.yml'), rules);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'rule_files: [rules.yml]',
      'scrape_configs:',
      '  - job_name: pushgateway',
      '    honor_labels: true',
      `    static_configs: [{ targets: ["${new URL(target).host}"] }]`,
      '',
    ].join('\n'),
  );
  return daemon(
    PROMETHEUS_BIN,
    (port) => [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    () => rmSync(dir, { recursive: true, force: true }),
  );
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text exposition format (enough of it for these tests: no escapes in values). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The one sample with this name whose labels include `labels`; throws when none or several match. */
export function sample(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): Sample | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0];
}

export async function scrape(url: string): Promise<Sample[]> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return parseExposition(await res.text());
}

/** Runs promtool; returns its exit code and output. */
export function promtool(args: readonly string[]): { code: number | null; output: string } {
  requireProgram(PROMTOOL_BIN, 'prometheus');
  const r = spawnSync(PROMTOOL_BIN, args, { encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}
