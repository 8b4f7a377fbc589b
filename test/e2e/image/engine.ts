/**
 * The container engine that `make image` used (scripts/image.sh picks the same one): docker when a
 * Docker engine answers, else podman with the repository's containers.conf. The image under test
 * is DEFI_SYNC_IMAGE, by default the tag `make image` gives it.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const ROOT = process.cwd();
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The tag `make image` builds. */
export const DEFAULT_IMAGE = `defi-sync:${VERSION}`;
export const IMAGE = process.env.DEFI_SYNC_IMAGE || DEFAULT_IMAGE;
/** The image's user (Dockerfile USER, the chart's runAsUser). */
export const APP_USER = '10001:10001';

function dockerEngineAnswers(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

export const ENGINE = process.env.CONTAINER_ENGINE || (dockerEngineAnswers() ? 'docker' : 'podman');
export const ENGINE_ENV: NodeJS.ProcessEnv =
  ENGINE === 'podman' ? { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF || join(ROOT, 'scripts', 'podman', 'containers.conf') } : { ...process.env };

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the engine with `args` and resolves with its exit code and output (never rejects on a code). */
export async function engine(args: readonly string[], timeoutMs = 300_000): Promise<Result> {
  try {
    const { stdout, stderr } = await execFileAsync(ENGINE, args as string[], { env: ENGINE_ENV, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    if (typeof e.code !== 'number') throw new Error(`${ENGINE} ${args.join(' ')}: ${e.message}`);
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export function spawnEngine(args: readonly string[]): ChildProcess {
  return spawn(ENGINE, args as string[], { env: ENGINE_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Throws, naming `make image`, when the engine or the image is missing. */
export async function requireImage(): Promise<void> {
  let found: Result;
  try {
    found = await engine(['image', 'inspect', IMAGE], 60_000);
  } catch (error) {
    throw new Error(`${ENGINE} is not usable here (${(error as Error).message}); "make image" installs it and builds ${IMAGE}`);
  }
  if (found.code !== 0) throw new Error(`the image ${IMAGE} is not in ${ENGINE}'s store: build it with "make image" (or set DEFI_SYNC_IMAGE)`);
}

/**
 * `run` options every test uses: the image's uid, a read-only root with a tmpfs /tmp, and the
 * host's network so the container reaches the machine's PostgreSQL and the replica on loopback.
 */
export function runOptions(name: string): string[] {
  return ['--name', name, '--user', APP_USER, '--read-only', '--tmpfs', '/tmp', '--network', 'host'];
}
