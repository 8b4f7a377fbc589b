/**
 * The offline DeFiLlama replica for tests: small datasets by default, environment variables that
 * point the client (or the CLI) at it, and a way to drive it from outside.
 */
import { startReplica, type Replica, type ReplicaOptions } from '../../replica/server.js';
import type { Fault } from '../../replica/faults.js';

export type { Replica, ReplicaOptions } from '../../replica/server.js';
export type { Fault } from '../../replica/faults.js';

export interface TestReplica extends Replica {
  /** Variables that point defi-sync at this replica, with no request spacing. */
  env(extra?: { apiKey?: string }): Record<string, string>;
  /** GET a route of the replica and parse its JSON body. */
  get<T = unknown>(path: string): Promise<T>;
}

/** Small by default (300 pools, 80 protocols, 40 chains, 60 days of history, a fixed start date). */
export const SMALL: ReplicaOptions = Object.freeze({ seed: 7, pools: 300, protocols: 80, chains: 40, historyDays: 60, startDate: '2025-03-01' });

export async function startTestReplica(options: ReplicaOptions = {}): Promise<TestReplica> {
  const replica = await startReplica({ ...SMALL, ...options });
  return Object.assign(replica, {
    env(extra: { apiKey?: string } = {}): Record<string, string> {
      const env: Record<string, string> = {
        DEFILLAMA_API_URL: replica.url,
        DEFILLAMA_YIELDS_URL: replica.url,
        DEFILLAMA_PRO_API_URL: replica.url,
        API_RATE_LIMIT_MS: '0',
      };
      if (extra.apiKey) env.DEFILLAMA_API_KEY = extra.apiKey;
      return env;
    },
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`${replica.url}${path}`);
      if (!res.ok) throw new Error(`replica ${path}: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
  });
}

/** Runs `fn` with a replica and always closes it. */
export async function withReplica<T>(options: ReplicaOptions, fn: (replica: TestReplica) => Promise<T>): Promise<T> {
  const replica = await startTestReplica(options);
  try {
    return await fn(replica);
  } finally {
    await replica.close();
  }
}

/** Drives a replica through its control endpoints (e.g. one started by another process). */
export const control = {
  async nextDay(url: string): Promise<{ day: number; date: string | null }> {
    return call(url, 'POST', 'next-day');
  },
  async setFault(url: string, route: string, fault: Fault | null): Promise<void> {
    await call(url, 'POST', 'faults', { route, fault });
  },
  async clearFaults(url: string): Promise<void> {
    await call(url, 'DELETE', 'faults');
  },
  async state(url: string): Promise<{ day: number; date: string | null; requests: Record<string, number>; counts: Record<string, number> | null }> {
    return call(url, 'GET', 'state');
  },
};

async function call<T>(url: string, method: string, action: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}/__replica/${action}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const value = (await res.json()) as T;
  if (!res.ok) throw new Error(`replica control ${method} ${action}: HTTP ${res.status} ${JSON.stringify(value)}`);
  return value;
}
