/**
 * A connection that dies while the store uses it (PostgreSQL restarted, a cut) fails what it was
 * doing; it never ends the process. pg emits 'error' on a client whose connection is lost, also
 * while its query is out, and pg-pool listens to a connection only while it is idle: a claim, an
 * admission or a lease query under way when PostgreSQL restarted used to crash every engine
 * (`Unhandled 'error' event`), with orders working at the venue and nobody left to protect them.
 */
import { describe, expect, it } from 'vitest';
import { dedicatedClient, openPool } from '../../src/store/postgres/connection.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

/** Ends the server process of every connection running `marker` (as a restart would end them all). */
async function terminateRunning(marker: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const rows = await db.query<{ ended: boolean }>('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()', [`%${marker}%`]);
    if (rows.length > 0) return rows.length;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no connection ran ${marker}`);
}

describe('a connection lost while the store uses it', () => {
  it('a pooled connection checked out (a claim, an admission): its query fails, the process goes on', async () => {
    const pool = openPool(db.server().url, 2);
    try {
      const client = await pool.intake.connectWithin(5_000);
      const running = client.query("SELECT pg_sleep(30), 'lost-while-checked-out'").then(() => null, (e: unknown) => e);
      expect(await terminateRunning('lost-while-checked-out')).toBe(1);
      expect(await running).toBeInstanceOf(Error);
      client.release(true);
      // The pool serves the next statement on a fresh connection.
      expect((await pool.intake.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await pool.end();
    }
  });

  it("a store's own connection (a lease's, a writer's) while its query is out: the query fails, the process goes on", async () => {
    const client = dedicatedClient(db.server().url);
    await client.connect();
    const running = client.query("SELECT pg_sleep(30), 'lost-dedicated'").then(() => null, (e: unknown) => e);
    expect(await terminateRunning('lost-dedicated')).toBe(1);
    expect(await running).toBeInstanceOf(Error);
    await client.end().catch(() => undefined);
  });
});
