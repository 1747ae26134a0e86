/**
 * Batches in doubt on a real PostgreSQL that stops and starts again while they are out: whatever
 * the crash caught (a batch sent, committing, or its answer on the way back), every record
 * appended is written exactly once, in order, and the chain verifies.
 */
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { JournalKind } from '../../src/journal/types.js';
import { ADVISORY_LOCK_NAMESPACE, JOURNAL_ORDER_LOCK } from '../../src/store/postgres/schema.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

const transition = (executionId: string, to: string) => ({ kind: JournalKind.Transition, executionId, advisoryId: `adv-${executionId}`, snapshotHash: null, to, payload: { pad: 'x'.repeat(300) } });

describe('batches in doubt across a server restart', () => {
  it.each([{ crash: true }, { crash: false }])('two writers appending through a stop and start (crash: $crash): each record once, in order, chains verify', async ({ crash }) => {
    const stores = [await db.open({ writer: `restart-a-${crash}` }), await db.open({ writer: `restart-b-${crash}` })];
    await stores[0]!.acquireLease(`exec-ra-${crash}`, `restart-a-${crash}`, 600_000);
    const appended: string[][] = [[], []];
    let appending = true;
    const writers = stores.map(async (store, w) => {
      for (let i = 0; appending; i++) {
        // Bursts of 400 make batches large enough that the stop lands while one is out.
        for (let k = 0; k < 400; k++) {
          const to = `${w}-${i}-${k}`;
          store.append(transition(w === 0 ? `exec-ra-${crash}` : `exec-rb-${crash}`, to));
          appended[w]!.push(to);
        }
        await store.flush().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1));
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    await db.server().suspend({ crash });
    await new Promise((r) => setTimeout(r, 200));
    await db.server().resume();
    await new Promise((r) => setTimeout(r, 300));
    appending = false;
    await Promise.all(writers);
    for (const [w, store] of stores.entries()) {
      await vi.waitFor(() => store.flush(), { timeout: 10_000, interval: 100 });
      const rows = await db.query<{ to_state: string }>("SELECT to_state FROM warden_records WHERE writer_id = $1 AND kind = 'transition' ORDER BY writer_sequence", [store.writer]);
      expect(rows.map((r) => r.to_state), `writer ${store.writer}`).toEqual(appended[w]);
      expect((await store.verify()).ok).toBe(true);
    }
  }, 60_000);

  it('a batch cut off while its session still waits on the server: the writer waits for its own lost session, then writes each record once', async () => {
    const a = await db.open({ writer: 'lingering' });
    const order = new pg.Client(db.server().url);
    await order.connect();
    await order.query('SELECT pg_advisory_lock($1, $2)', [ADVISORY_LOCK_NAMESPACE, JOURNAL_ORDER_LOCK]);
    a.append(transition('exec-linger', 'first'));
    const waiting = async () => (await db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'")).length;
    await vi.waitFor(async () => expect(await waiting()).toBe(1), { timeout: 2_000, interval: 5 });
    // The answer can never come: the socket is gone, but the server's session waits on, holding the writer's lock.
    (a as unknown as { journal: { writerClient: { connection: { stream: { destroy(): void } } } } }).journal.writerClient.connection.stream.destroy();
    await expect(a.flush()).rejects.toMatchObject({ code: 'unavailable' });
    a.append(transition('exec-linger', 'second, appended while the first is in doubt'));
    await expect(a.flush()).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/in use by another live connection/) });
    await order.end(); // the lost session commits the first batch, finds its client gone and ends
    await vi.waitFor(() => a.flush(), { timeout: 5_000, interval: 50 });
    expect((await a.records({ executionId: 'exec-linger' })).map((r) => r.to)).toEqual(['first', 'second, appended while the first is in doubt']);
    expect((await a.verify()).ok).toBe(true);
  }, 30_000);
});
