/** Counters of one run, written to its sync_jobs row whatever the outcome. */
export interface RunStats {
  processed: number;
  created: number;
  updated: number;
  unchanged: number;
  deactivated: number;
  failed: number;
  /** Counted by the HTTP clients' HttpCounters. */
  apiCalls: number;
  rateLimitHits: number;
  retries: number;
  /** Job-specific figures and warnings (jsonb `details`). */
  details: Record<string, unknown>;
}

export function emptyStats(): RunStats {
  return { processed: 0, created: 0, updated: 0, unchanged: 0, deactivated: 0, failed: 0, apiCalls: 0, rateLimitHits: 0, retries: 0, details: {} };
}
