/**
 * Every session a store opens asks the server to probe a silent peer: a session whose engine's host
 * vanished ends in about 25 s, and with it the writer's lock it held (by the operating system's
 * default it lingered two hours, and an engine restarted under that writer id was refused `locked`).
 * Checked on the pool, the writer's connection and the lease renewals' (the kill switch watch
 * opens its own with the same settings).
 */
import { describe, expect, it } from 'vitest';
import { useDatabase } from './support/database.js';

const db = useDatabase();

describe('store sessions', () => {
  it('every session of a store has the server probe a silent peer after 10 s, every 5 s, 3 times', async () => {
    const store = await db.open({ writer: 'sessions-a' });
    await store.acquireLease('exec-sessions', 'sessions-a', 60_000); // opens the lease connection
    const internals = store as unknown as { pool: { query: (q: string) => Promise<{ rows: Record<string, string>[] }> }; journal: { writerClient: { query: (q: string) => Promise<{ rows: Record<string, string>[] }> } }; leases: { leaseConnection: () => Promise<{ query: (q: string) => Promise<{ rows: Record<string, string>[] }> }> } };
    const show = async (via: { query: (q: string) => Promise<{ rows: Record<string, string>[] }> }) => {
      const out: string[] = [];
      for (const name of ['tcp_keepalives_idle', 'tcp_keepalives_interval', 'tcp_keepalives_count', 'idle_in_transaction_session_timeout']) out.push(Object.values((await via.query(`SHOW ${name}`)).rows[0]!)[0]!);
      return out;
    };
    const expected = ['10', '5', '3', '5s'];
    expect(await show(internals.pool)).toEqual(expected);
    expect(await show(internals.journal.writerClient)).toEqual(expected);
    expect(await show(await internals.leases.leaseConnection())).toEqual(expected);
  });
});
