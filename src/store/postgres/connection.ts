/**
 * What every room of the PostgreSQL store shares about connections: their bounds, how a failure
 * that means "the server could not be reached" is told apart, and the URL as messages show it.
 */
import type pg from 'pg';
import { pgDriver } from './driver.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { PostgresStoreError } from './errors.js';

/** Bound on opening a connection (ms). */
export const CONNECT_TIMEOUT_MS = 5_000;
/** Bound on any one query (ms). */
export const QUERY_TIMEOUT_MS = 10_000;
/**
 * The server ends a session left idle inside a transaction this long. A process frozen (SIGSTOP, a
 * stalled host) between a transaction's statements would otherwise hold its locks — the journal's
 * global order lock, share locks on lease rows, a symbol's admission lock — for as long as it is
 * frozen, and stall every other engine's writes and takeovers with it. The server rolls the
 * transaction back, so on waking nothing of it was written: the batch is written again on a fresh
 * session, where the lease check fences it if another engine took its executions over meanwhile.
 */
export const IDLE_IN_TRANSACTION_MS = 5_000;
/**
 * Every store session asks the server to probe a silent peer after 10 s, every 5 s, 3 times: a
 * session whose engine's host vanished (power, a cut the server did not see) ends within about
 * 25 s, and with it the writer's lock it held — by the operating system's default, two hours, in
 * which an engine restarted under that writer id was refused (`locked`). The client probes too.
 */
const SESSION_OPTIONS = '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3';
/** What every store connection is opened with: its bounds, and the server's limits on its session. */
export const connectionSettings = (url: string) => ({
  connectionString: url,
  connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  query_timeout: QUERY_TIMEOUT_MS,
  idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
  options: SESSION_OPTIONS,
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
});
/** SQLSTATE idle_in_transaction_session_timeout: the server ended the session, its transaction rolled back. */
const IDLE_SESSION_ENDED = '25P03';

/**
 * Whether a failure means the server could not be reached (nothing was written): no SQLSTATE (a
 * socket error, a refused or timed-out connection, a terminated connection), a connection
 * exception (class 08), an operator intervention (57P: shutdown, crash, not accepting yet) or a
 * session the server ended while it sat idle inside a transaction (25P03: rolled back, see
 * `IDLE_IN_TRANSACTION_MS`).
 */
export function unreachable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code.startsWith('57P') || code === IDLE_SESSION_ENDED;
}

export const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** A dedicated (unpooled) connection with the store's bounds; not yet connected. */
export function dedicatedClient(url: string): pg.Client {
  return quietOnLoss(new pgDriver.Client(connectionSettings(url)));
}

/**
 * A connection that dies (PostgreSQL restarted, a cut, `pg_terminate_backend`) emits `'error'`,
 * also while a query of its own is out, and an `'error'` nobody listens to ends the process. Every
 * connection the store opens listens from birth: the loss reaches the code that uses it as the
 * failure of what it was doing (a rejected query, its own `'error'`/`'end'` handler), never as a
 * crash of the engine with orders working at the venue.
 */
function quietOnLoss<C extends pg.ClientBase>(client: C): C {
  client.on('error', () => undefined);
  return client;
}

/** Connections for claims, leases, kill switch changes and store-wide reads. */
const DEFAULT_POOL_SIZE = 4;
const WRITER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** The writer id given (checked), or a fresh one per process (`host-pid-random`). */
export function writerId(given: string | undefined): string {
  const writer = given ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  if (!WRITER_ID.test(writer)) throw new PostgresStoreError('invalid_option', `writer must be 1-128 characters of A-Z a-z 0-9 . _ : @ -, got ${JSON.stringify(writer)}`);
  return writer;
}

/**
 * Longest new work (a claim, a lease grant, a fleet admission) waits for its turn on the pool (ms),
 * as long as it waited for a pooled connection before; then it is refused with nothing sent. Every
 * wait of an advisory counts against rule 4's window: at 10 s each for its lease and then its
 * claim, the last advisories of a burst at 150 ms reached their deadline before their order was
 * confirmed. An advisory's claim with its lease, one statement, may wait what the two could (2×).
 */
export const INTAKE_WAIT_MS = CONNECT_TIMEOUT_MS;

/**
 * The pool's way in for new work: at most as many at once as the pool has connections, the rest
 * waiting in arrival order, each at most `INTAKE_WAIT_MS`; `connectWithin` for one statement that
 * does the work of several (an advisory's claim with its lease) and may wait what they could.
 */
export type IntakeGate = Pick<pg.Pool, 'query' | 'connect'> & { connectWithin(waitMs: number): Promise<pg.PoolClient> };

/** The store's pool, with the gate new work goes through. */
export type GatedPool = pg.Pool & { readonly intake: IntakeGate };

/**
 * The pool of connections for claims, leases, kill switch changes and store-wide reads (checked
 * size). New work enters through `intake`, which asks the pool for a connection only when it has
 * one of its `size` places, so a burst of advisories waits in the gate's queue, not in the pool's:
 * an execution already under way (its fleet reads for reconciliation, its fill and settlement,
 * its lease's release or takeover) is next in the pool's queue and gets the first connection
 * freed, within one statement, however many advisories arrive at once. Without it, a burst of
 * claims queued ahead of the reconciliations of orders already filled, and they failed (a flag)
 * on a slow link.
 */
export function openPool(url: string, size: number | undefined): GatedPool {
  const max = size ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(max) || max < 1) throw new PostgresStoreError('invalid_option', `poolSize must be a positive integer, got ${String(size)}`);
  const pool = new pgDriver.Pool({ ...connectionSettings(url), max });
  pool.on('error', () => undefined); // an idle connection that dies is replaced on next use
  // pg-pool listens to a connection only while it is idle: one that dies checked out (a claim, an
  // admission, a lease query under way) would emit 'error' to nobody.
  pool.on('connect', (client) => void quietOnLoss(client));
  return Object.assign(pool, { intake: intakeGate(pool, max, INTAKE_WAIT_MS) });
}

/** The gate alone, over any pool (exported for its tests). */
export function intakeGate(pool: Pick<pg.Pool, 'query' | 'connect'>, slots: number, defaultWaitMs: number): IntakeGate {
  let busy = 0;
  const queue: (() => void)[] = [];
  const enter = (waitMs = defaultWaitMs) =>
    new Promise<void>((resolve, reject) => {
      if (busy < slots && queue.length === 0) return void (busy++, resolve());
      const go = () => (clearTimeout(timer), busy++, resolve());
      const timer = setTimeout(() => {
        queue.splice(queue.indexOf(go), 1);
        reject(new Error(`no connection for new work within ${waitMs} ms (the pool's ${slots} connections busy, executions under way first): raise poolSize`));
      }, waitMs);
      queue.push(go);
    });
  const leave = () => {
    busy--;
    queue.shift()?.();
  };
  const query = async (text: string, values?: unknown[]) => {
    await enter();
    try {
      return await pool.query(text, values);
    } finally {
      leave();
    }
  };
  const connectWithin = async (waitMs: number) => {
    await enter(waitMs);
    const client = await pool.connect().catch((e: unknown) => {
      leave();
      throw e;
    });
    const release = client.release.bind(client);
    let released = false;
    client.release = (err?: Error | boolean) => {
      if (!released) {
        released = true;
        leave();
      }
      release(err);
    };
    return client;
  };
  return { query: query as pg.Pool['query'], connect: (() => connectWithin(defaultWaitMs)) as pg.Pool['connect'], connectWithin };
}
