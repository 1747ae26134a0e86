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
 * Whether a failure means the server could not be reached (nothing was written): no SQLSTATE (a
 * socket error, a refused or timed-out connection, a terminated connection), a connection
 * exception (class 08) or an operator intervention (57P: shutdown, crash, not accepting yet).
 */
export function unreachable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code.startsWith('57P');
}

export const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** A dedicated (unpooled) connection with the store's bounds; not yet connected. */
export function dedicatedClient(url: string): pg.Client {
  return new pgDriver.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS });
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

/** The pool of connections for claims, leases, kill switch changes and store-wide reads (checked size). */
export function openPool(url: string, size: number | undefined): pg.Pool {
  const max = size ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(max) || max < 1) throw new PostgresStoreError('invalid_option', `poolSize must be a positive integer, got ${String(size)}`);
  const pool = new pgDriver.Pool({ connectionString: url, max, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS });
  pool.on('error', () => undefined); // an idle connection that dies is replaced on next use
  return pool;
}
