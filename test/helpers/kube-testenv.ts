// Starts the real control plane from scripts/kube-testenv.sh (etcd,
// kube-apiserver, kube-controller-manager) for tests that need Kubernetes API
// semantics, and with `node: true` one node (kube-scheduler, kubelet,
// containerd) that runs pods. `make e2e` builds the binaries first; without
// them this fails and names the command that builds them.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const KUBE_TESTENV_SCRIPT = fileURLToPath(new URL('../../scripts/kube-testenv.sh', import.meta.url));

const NOT_BUILT =
  'the Kubernetes test binaries are not built: run `scripts/kube-testenv.sh build` (or `make e2e`, which does; about 20-30 min once, then cached)';

export interface KubeTestEnv {
  kubeconfig: string;
  kubectl: string;
  helm?: string;
  /** Directory holding kubeconfig, pki/, logs/ and etcd data. */
  dir: string;
  /** With a node: the host's address on the pods' bridge, the one address pods can reach. */
  nodeGateway?: string;
  /** Copies an image from podman's storage into the node's containerd. */
  loadImage(image: string): Promise<void>;
  stop(): Promise<void>;
}

async function binariesCached(): Promise<boolean> {
  try {
    await execFileAsync('bash', [KUBE_TESTENV_SCRIPT, 'status']);
    return true;
  } catch {
    return false;
  }
}

function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

export async function startKubeTestEnv(options: { node?: boolean } = {}): Promise<KubeTestEnv> {
  if (!(await binariesCached())) throw new Error(NOT_BUILT);

  const dir = await mkdtemp(path.join(tmpdir(), 'defi-sync-kube-'));
  try {
    await execFileAsync('bash', [KUBE_TESTENV_SCRIPT, 'start', dir, ...(options.node ? ['--node'] : [])], {
      // The script's watchdog stops the control plane if this process dies
      // before stop() runs (crash, timeout, Ctrl-C).
      env: { ...process.env, KUBE_TESTENV_WATCH_PID: String(process.pid) },
      timeout: options.node ? 240_000 : 120_000,
      maxBuffer: 4 * 1024 * 1024,
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    await execFileAsync('bash', [KUBE_TESTENV_SCRIPT, 'stop', dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`scripts/kube-testenv.sh start failed: ${(err as Error).message}\n${stderr}`);
  }

  const vars = parseEnvFile(await readFile(path.join(dir, 'env'), 'utf8'));
  const kubeconfig = vars.KUBECONFIG ?? path.join(dir, 'kubeconfig');
  const kubectl = vars.KUBECTL;
  if (!kubectl) throw new Error(`KUBECTL missing from ${dir}/env`);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await execFileAsync('bash', [KUBE_TESTENV_SCRIPT, 'stop', dir], { timeout: 60_000 });
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const loadImage = async (image: string): Promise<void> => {
    try {
      await execFileAsync('bash', [KUBE_TESTENV_SCRIPT, 'load-image', dir, image], { timeout: 300_000, maxBuffer: 4 * 1024 * 1024 });
    } catch (err) {
      throw new Error(`scripts/kube-testenv.sh load-image ${image} failed: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`);
    }
  };

  return {
    kubeconfig,
    kubectl,
    ...(vars.HELM ? { helm: vars.HELM } : {}),
    ...(vars.NODE_GATEWAY ? { nodeGateway: vars.NODE_GATEWAY } : {}),
    dir,
    loadImage,
    stop,
  };
}
