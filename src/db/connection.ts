// One pg-promise root per process; each opened database has its own small pool, closed explicitly so a one-shot job exits.
import pgPromise, { type IDatabase, type IMain, type ITask } from 'pg-promise';
import { logger } from '../logger.js';
import { maskedExcerpt, redact } from '../redact.js';

export type Db = IDatabase<Record<string, never>>;
export type DbTask = ITask<Record<string, never>>;
/** Anything that runs queries: the pool, a task or transaction, or a dedicated connection. */
export type Queryable = Pick<Db, 'none' | 'one' | 'oneOrNone' | 'many' | 'manyOrNone' | 'any' | 'result'>;
export type Conn = Awaited<ReturnType<Db['connect']>>;

const pgp: IMain = pgPromise({
  // Debug-level statement logging with timings; the checks keep it free at info level.
  receive(e) {
    const log = logger();
    if (!log.isLevelEnabled('debug')) return;
    log.debug({ sql: shorten(String(e.ctx?.query ?? '')), rows: e.result ? e.result.rowCount : undefined, ms: e.result ? e.result.duration : undefined }, 'sql');
  },
  error(err, e) {
    const log = logger();
    if (log.isLevelEnabled('debug')) log.debug({ sql: e.query ? shorten(String(e.query)) : undefined, error: redact(String(err?.message ?? err)) }, 'sql error');
  },
});

// int8 (bigint, count(*)) as number: every count here fits in 2^53.
pgp.pg.types.setTypeParser(20, (v: string) => Number(v));
// numeric as number: TVL and APY are floats upstream; a string would leak into JSON output.
pgp.pg.types.setTypeParser(1700, (v: string) => Number(v));

function shorten(sql: string): string {
  return maskedExcerpt(sql.replace(/\s+/g, ' ').trim(), 500);
}

export interface Database {
  readonly db: Db;
  close(): Promise<void>;
}

const backends = new WeakMap<Db, Set<number>>();
type BackendClient = { processID: number };

/** The pg_backend_pid() of this process's open connections: cancellation targets exactly these, never another client that shares a name. */
export function backendPids(db: Db): readonly number[] {
  return [...(backends.get(db) ?? [])];
}

/** `applicationName` shows the job in pg_stat_activity. */
export function openDatabase(url: string, applicationName: string, max = 4): Database {
  const db: Db = pgp({ connectionString: url, max, application_name: applicationName, allowExitOnIdle: true });
  // pg-promise stops listening when the pool ends, while connections still close: a server ending one then must not crash us.
  db.$pool.on('error', () => undefined);
  // pg learns each connection's backend pid at startup (BackendKeyData), before the pool hands it out.
  const pids = new Set<number>();
  backends.set(db, pids);
  db.$pool.on('connect', ({ processID }: BackendClient) => {
    if (processID) pids.add(processID);
  });
  db.$pool.on('remove', ({ processID }: BackendClient) => pids.delete(processID));
  let closed = false;
  return {
    db,
    async close() {
      if (closed) return;
      closed = true;
      await db.$pool.end();
    },
  };
}

/** A dedicated connection that is not shared with the pool: for session-level locks and COPY. */
export async function withConnection<T>(db: Db, fn: (conn: Conn) => Promise<T>): Promise<T> {
  const conn = await db.connect();
  try {
    return await fn(conn);
  } finally {
    conn.done();
  }
}
