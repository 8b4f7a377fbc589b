/** The Kubernetes API for `trigger` and `status --kubernetes`; its failures carry the project's exit codes. */
import { existsSync, readFileSync } from 'node:fs';
import { ApiException, BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ConfigError, DefiSyncError, errorMessage } from '../errors.js';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface Cluster {
  readonly kc: KubeConfig;
  readonly batch: BatchV1Api;
  readonly core: CoreV1Api;
  readonly namespace: string;
  /** For messages: "in-cluster" or the kubeconfig context. */
  readonly source: string;
}

/** A refusal the operator must fix (RBAC, missing object). */
export class KubeRefusedError extends ConfigError {}
/** Unreachable or failing: a retry may help. */
class KubeUnavailableError extends DefiSyncError {}

export function connectCluster(options: { namespace?: string } = {}): Cluster {
  const env = process.env;
  const kc = new KubeConfig();
  let source: string;
  let namespace = options.namespace;
  if (env.KUBERNETES_SERVICE_HOST && existsSync(`${SA_DIR}/token`)) {
    kc.loadFromCluster();
    source = 'in-cluster';
    namespace ??= readFileSync(`${SA_DIR}/namespace`, 'utf8').trim();
  } else {
    const file = env.KUBECONFIG?.split(':').find((f) => f && existsSync(f)) ?? (env.HOME && existsSync(`${env.HOME}/.kube/config`) ? `${env.HOME}/.kube/config` : undefined);
    if (!file) {
      throw new ConfigError('no Kubernetes cluster is configured: not running in a pod, and no kubeconfig found (set KUBECONFIG or create ~/.kube/config)');
    }
    try {
      kc.loadFromFile(file);
    } catch (error) {
      throw new ConfigError(`the kubeconfig ${file} could not be read: ${(error as Error).message}`, { cause: error });
    }
    const context = kc.getCurrentContext();
    if (!context || !kc.getCurrentCluster()) throw new ConfigError(`the kubeconfig ${file} has no current context with a cluster`);
    source = `kubeconfig context "${context}"`;
    namespace ??= kc.getContextObject(context)?.namespace ?? 'default';
  }
  return { kc, batch: kc.makeApiClient(BatchV1Api), core: kc.makeApiClient(CoreV1Api), namespace, source };
}

export async function kubeCall<T>(cluster: Cluster, action: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw kubeError(action, error, cluster);
  }
}

/** One sentence: what was attempted and what the server said. */
export function kubeError(action: string, error: unknown, cluster: Pick<Cluster, 'source' | 'namespace'>): DefiSyncError {
  if (error instanceof ApiException) {
    const reason = serverMessage(error.body) ?? `HTTP ${error.code}`;
    if (error.code === 401) return new KubeRefusedError(`could not ${action}: the Kubernetes API rejected the credentials of ${cluster.source} (${reason})`);
    if (error.code === 403) return new KubeRefusedError(`could not ${action}: forbidden in namespace "${cluster.namespace}" (${reason}); grant the verbs listed in the chart's trigger Role (rbac.trigger.create=true)`);
    if (error.code === 404) return new KubeRefusedError(`could not ${action}: not found in namespace "${cluster.namespace}" (${reason})`);
    if (error.code === 409 || error.code === 422 || error.code === 400) return new KubeRefusedError(`could not ${action}: ${reason}`);
    return new KubeUnavailableError(`could not ${action}: the Kubernetes API answered HTTP ${error.code} (${reason})`, { cause: error });
  }
  return new KubeUnavailableError(`could not ${action}: the Kubernetes API of ${cluster.source} is unreachable (${errorMessage(error)})`, { cause: error });
}

function serverMessage(body: unknown): string | undefined {
  try {
    const parsed = typeof body === 'string' ? (JSON.parse(body) as { message?: string }) : (body as { message?: string } | undefined);
    return parsed?.message;
  } catch {
    return typeof body === 'string' && body.trim() ? body.trim().slice(0, 200) : undefined;
  }
}
