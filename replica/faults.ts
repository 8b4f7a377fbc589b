/**
 * Fault injection for the replica, per route. A route is the API path without any key prefix:
 * "/pools", "/poolsOld", "/protocols", "/v2/chains", "/protocol/*" (or "/protocol/aave"),
 * "/chart/*" (or "/chart/<uuid>"), or "*" for every route.
 *
 * A fault's `body` may contain `{key}`: the API key of the request (pro layout) is put there, as
 * an upstream that echoes the URL it was asked for would.
 */
import { HOSTILE_CASES, type HostileCase } from './hostile.js';

export type Fault =
  /** Answer `status` (e.g. 429, 503, 403, 402) `times` times (default: always), then normally. */
  | { kind: 'status'; status: number; retryAfter?: string | number; times?: number; body?: string }
  /** Answer normally after `delayMs`. */
  | { kind: 'slow'; delayMs: number; times?: number }
  /** Never answer (the connection stays open until the client gives up). */
  | { kind: 'timeout'; times?: number }
  /** Send only the first part of the body (valid HTTP, cut-off JSON). */
  | { kind: 'truncate'; times?: number }
  /** Answer 200 with an HTML error page (what a proxy or Cloudflare serves), or with `body`. */
  | { kind: 'html'; status?: number; times?: number; body?: string }
  /** Break `count` individual records (wrong types, missing pool id); the rest stay valid. */
  | { kind: 'malformed'; count: number; times?: number }
  /**
   * Add hostile records or points to the body (see hostile.ts): `cases` from HOSTILE_CASES,
   * default all of them. The records already there are served as they are.
   */
  | { kind: 'hostile'; cases: HostileCase[]; times?: number }
  /** Answer 200 with a JSON body of the wrong top-level type, or `status` not "success". */
  | { kind: 'wrong-shape'; times?: number }
  /** Answer 402 unless the request came through the pro layout (/<key>/...). */
  | { kind: 'pro-only' };

export const FAULT_KINDS = ['status', 'slow', 'timeout', 'truncate', 'html', 'malformed', 'hostile', 'wrong-shape', 'pro-only'] as const;

/** A fault body with `{key}` replaced by the request's API key (empty without one). */
export function echoKey(body: string, key: string | undefined): string {
  return body.split('{key}').join(key ?? '');
}

/** Normalises a route name: no trailing slash, key prefix removed by the caller. */
export function normaliseRoute(route: string): string {
  const r = route.trim();
  if (r === '*' || r === '') return '*';
  const withSlash = r.startsWith('/') ? r : `/${r}`;
  return withSlash.length > 1 ? withSlash.replace(/\/+$/, '') : withSlash;
}

/** Validates an untrusted fault description (control endpoint, CLI). Throws with a clear reason. */
export function parseFault(value: unknown): Fault {
  if (typeof value !== 'object' || value === null) throw new Error('a fault must be an object with a "kind"');
  const f = value as Record<string, unknown>;
  const times = optionalCount(f.times, 'times');
  const withTimes = <T extends object>(o: T) => (times === undefined ? o : { ...o, times });
  switch (f.kind) {
    case 'status': {
      const status = Number(f.status);
      if (!Number.isInteger(status) || status < 100 || status > 599) throw new Error('a status fault needs "status" between 100 and 599');
      const out: Fault = withTimes({ kind: 'status' as const, status });
      if (f.retryAfter !== undefined) (out as { retryAfter?: string | number }).retryAfter = f.retryAfter as string | number;
      if (typeof f.body === 'string') (out as { body?: string }).body = f.body;
      return out;
    }
    case 'slow': {
      const delayMs = Number(f.delayMs);
      if (!Number.isFinite(delayMs) || delayMs < 0) throw new Error('a slow fault needs "delayMs" >= 0');
      return withTimes({ kind: 'slow' as const, delayMs });
    }
    case 'timeout':
      return withTimes({ kind: 'timeout' as const });
    case 'truncate':
      return withTimes({ kind: 'truncate' as const });
    case 'html': {
      const out = withTimes({ kind: 'html' as const });
      if (f.status !== undefined) (out as { status?: number }).status = Number(f.status);
      if (typeof f.body === 'string') (out as { body?: string }).body = f.body;
      return out;
    }
    case 'malformed': {
      const count = optionalCount(f.count, 'count') ?? 1;
      return withTimes({ kind: 'malformed' as const, count });
    }
    case 'hostile': {
      const raw = f.cases === undefined || f.cases === '' ? [...HOSTILE_CASES] : Array.isArray(f.cases) ? f.cases : String(f.cases).split('+');
      const unknown = raw.filter((c) => !(HOSTILE_CASES as readonly unknown[]).includes(c));
      if (unknown.length > 0) throw new Error(`a hostile fault's "cases" are among ${HOSTILE_CASES.join(', ')}; got ${JSON.stringify(unknown)}`);
      return withTimes({ kind: 'hostile' as const, cases: raw as HostileCase[] });
    }
    case 'wrong-shape':
      return withTimes({ kind: 'wrong-shape' as const });
    case 'pro-only':
      return { kind: 'pro-only' };
    default:
      throw new Error(`unknown fault kind ${JSON.stringify(f.kind)}; one of ${FAULT_KINDS.join(', ')}`);
  }
}

/**
 * CLI form: `route=kind[:arg][,key=value...]`, e.g. `/pools=status:429,retryAfter=1,times=2`,
 * `/protocols=slow:2000`, `/chart/*=malformed:3`, `/poolsOld=pro-only`, `/pools=hostile` (every case) or
 * `/chart/*=hostile:absurd-dates+non-finite`.
 */
export function parseFaultSpec(spec: string): { route: string; fault: Fault } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`--fault ${JSON.stringify(spec)}: expected route=kind[:arg][,key=value...]`);
  const route = normaliseRoute(spec.slice(0, eq));
  const [head = '', ...rest] = spec.slice(eq + 1).split(',');
  const [kind, arg] = head.split(':');
  const raw: Record<string, unknown> = { kind };
  if (arg !== undefined) {
    if (kind === 'status') raw.status = arg;
    else if (kind === 'slow') raw.delayMs = arg;
    else if (kind === 'malformed') raw.count = arg;
    else if (kind === 'html') raw.status = arg;
    else if (kind === 'hostile') raw.cases = arg;
  }
  for (const pair of rest) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new Error(`--fault ${JSON.stringify(spec)}: ${JSON.stringify(pair)} is not key=value`);
    raw[pair.slice(0, i)] = pair.slice(i + 1);
  }
  try {
    return { route, fault: parseFault(raw) };
  } catch (error) {
    throw new Error(`--fault ${JSON.stringify(spec)}: ${(error as Error).message}`);
  }
}

function optionalCount(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`"${name}" must be a non-negative integer`);
  return n;
}

/** The faults set on a replica; a fault with `times` wears off after that many responses. */
export class FaultTable {
  private readonly faults = new Map<string, { fault: Fault; remaining: number }>();

  set(route: string, fault: Fault | null): void {
    const key = normaliseRoute(route);
    if (fault === null) this.faults.delete(key);
    else this.faults.set(key, { fault, remaining: 'times' in fault && fault.times !== undefined ? fault.times : Infinity });
  }

  clear(): void {
    this.faults.clear();
  }

  /** The fault for this request path, most specific route first; consumes one use. */
  take(path: string): Fault | undefined {
    for (const key of candidates(path)) {
      const entry = this.faults.get(key);
      if (!entry) continue;
      if (entry.remaining <= 0) {
        this.faults.delete(key);
        continue;
      }
      entry.remaining -= 1;
      if (entry.remaining <= 0 && entry.fault.kind !== 'pro-only') this.faults.delete(key);
      return entry.fault;
    }
    return undefined;
  }

  list(): { route: string; fault: Fault; remaining: number | null }[] {
    return [...this.faults].map(([route, { fault, remaining }]) => ({ route, fault, remaining: Number.isFinite(remaining) ? remaining : null }));
  }
}

/** "/chart/abc" matches "/chart/abc", then "/chart/*", then "*". */
function candidates(path: string): string[] {
  const out = [path];
  const slash = path.indexOf('/', 1);
  if (slash > 0) out.push(`${path.slice(0, slash)}/*`);
  out.push('*');
  return out;
}
