/**
 * Fencing without gaps, on a real PostgreSQL: every write of an execution carries the epoch this
 * instance leased it under — also after its renewal was refused, also for records appended before
 * the lease was granted — so a write of an engine that lost its lease is refused whatever became
 * of the lease since (taken over, finished, released). Renewals go through a connection of their
 * own; a lease not confirmed for most of its length fences the execution's sends by itself; a
 * claim's deadline is kept on the database's clock.
 */
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { JournalError, JournalKind } from '../../src/journal/types.js';
import { LEASE_SAFETY_MARGIN } from '../../src/store/postgres/PostgresStore.js';
import { ADVISORY_LOCK_NAMESPACE, JOURNAL_ORDER_LOCK } from '../../src/store/postgres/schema.js';
import { HARD_TIMEOUT_MS } from '../../src/index.js';
import { snapshot } from '../support/fixtures.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

/** A lease so short it has expired by the next query; leases run on the database's clock. */
const EXPIRED_SOON_MS = 1;
const LONG_MS = 60_000;
/** Clock skew of an engine in the deadline tests (ms). */
const SKEW_MS = 20_000;

const transition = (executionId: string, to: string) => ({ kind: JournalKind.Transition, executionId, advisoryId: `adv-${executionId}`, snapshotHash: null, to });

/** `a` leases `executionId` briefly, `b` takes it over once it expired, and returns b's epoch. */
async function takenOver(a: Awaited<ReturnType<typeof db.open>>, b: Awaited<ReturnType<typeof db.open>>, executionId: string): Promise<number> {
  await a.acquireLease(executionId, a.writer, EXPIRED_SOON_MS);
  return vi.waitFor(() => b.takeOver(executionId, b.writer, LONG_MS), { timeout: 2_000, interval: 5 });
}

/** Holds the journal's order lock on a session of its own, so that every batch waits for it. */
async function holdOrderLock(): Promise<{ waiting: () => Promise<number>; release: () => Promise<void> }> {
  const client = new pg.Client(db.server().url);
  await client.connect();
  await client.query('SELECT pg_advisory_lock($1, $2)', [ADVISORY_LOCK_NAMESPACE, JOURNAL_ORDER_LOCK]);
  return {
    waiting: async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'"))[0]!.n),
    release: async () => void (await client.end()),
  };
}

describe('fencing without gaps', () => {
  it('after a refused renewal, the old epoch stays on every write: refused even once the new owner released the lease', async () => {
    const a = await db.open({ writer: 'gap-a' });
    const b = await db.open({ writer: 'gap-b' });
    expect(await takenOver(a, b, 'exec-gap')).toBe(2);
    const [renewal] = await a.renewLeases('gap-a', [{ executionId: 'exec-gap', epoch: 1 }], LONG_MS);
    expect(renewal).toMatchObject({ renewed: false, lost: true, why: expect.stringMatching(/epoch 2 of gap-b/) });
    b.append(transition('exec-gap', 'finished by gap-b'));
    await b.releaseLease('exec-gap', 'gap-b', 2);

    // The woken engine writes for the execution: refused at once, with the epochs named.
    let refused: unknown;
    try {
      a.append(transition('exec-gap', 'late write'));
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(JournalError);
    expect(refused).toMatchObject({ code: 'fenced', message: expect.stringMatching(/epoch 1 of gap-a.*epoch 2 of gap-b/) });
    expect(a.fencedFor('exec-gap')).toMatch(/refused/);
    expect((await b.records({ executionId: 'exec-gap' })).map((r) => `${r.writer}@${r.epoch}`)).toEqual(['gap-b@2']);
  });

  it('records appended before the lease was granted are written under it: refused once another engine took over and released', async () => {
    const a = await db.open({ writer: 'early-a' });
    const b = await db.open({ writer: 'early-b' });
    // Hold a's batches back: the one out waits for the journal's order lock, held here.
    const order = await holdOrderLock();
    a.append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: 'off->off' });
    await vi.waitFor(async () => expect(await order.waiting()).toBe(1), { timeout: 2_000, interval: 5 });
    a.append(transition('exec-early', 'validating')); // appended before the lease, written after the takeover
    expect(await takenOver(a, b, 'exec-early')).toBe(2);
    await b.releaseLease('exec-early', 'early-b', 2);
    await order.release();
    const refused = await a.flush().catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'fenced', message: expect.stringMatching(/epoch 1 of early-a.*now epoch 2 of early-b \(released\)/) });
    expect(await b.records({ executionId: 'exec-early' })).toEqual([]);
  });

  describe('a writer frozen or cut off while its batch is out', () => {
    type Client = { query: (q: unknown, v?: unknown) => Promise<{ rows: { pid: number }[] }>; connection: { stream: { pause(): void; resume(): void; destroy(): void } } };
    /**
     * Freezes the store's writer the way SIGSTOP does once its next batch is sent: nothing more is
     * read from its socket until `thaw`. Resolves `sent` with the writer session's process id.
     */
    async function freezeAfterNextBatch(store: Awaited<ReturnType<typeof db.open>>): Promise<{ sent: Promise<number>; thaw: () => void; cut: () => void }> {
      const client = (store as unknown as { journal: { writerClient: Client } }).journal.writerClient;
      const query = client.query.bind(client);
      const pid = (await query('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      let armed = true;
      const sent = new Promise<number>((resolve) => {
        client.query = ((q: unknown, v?: unknown) => {
          const answer = query(q, v);
          if (armed && typeof q === 'string' && q.includes('INSERT INTO warden_records')) {
            armed = false;
            client.connection.stream.pause();
            resolve(pid);
          }
          return answer;
        }) as Client['query'];
      });
      return { sent, thaw: () => client.connection.stream.resume(), cut: () => client.connection.stream.destroy() };
    }

    it('holds no lock while frozen: the other engines’ batches commit meanwhile', async () => {
      const a = await db.open({ writer: 'frozen-a' });
      const b = await db.open({ writer: 'frozen-b' });
      await a.acquireLease('exec-frozen', 'frozen-a', LONG_MS);
      const { sent, thaw } = await freezeAfterNextBatch(a);
      a.append(transition('exec-frozen', 'sent, then frozen'));
      await sent;
      b.append(transition('exec-other', 'written while a is frozen'));
      await b.flush(); // before: a held the journal's order lock for as long as it was frozen
      expect(await db.query("SELECT to_state FROM warden_records WHERE execution_id = 'exec-frozen'")).toEqual([{ to_state: 'sent, then frozen' }]);
      thaw();
      await a.flush();
      expect((await a.verify()).ok).toBe(true);
    });

    it('a batch whose answer was lost after it committed is settled by the chain’s tail: written once', async () => {
      const a = await db.open({ writer: 'lost-answer' });
      const { sent, cut } = await freezeAfterNextBatch(a);
      a.append(transition('exec-lost', 'committed, answer lost'));
      await sent;
      await vi.waitFor(async () => expect(await db.query("SELECT 1 FROM warden_records WHERE execution_id = 'exec-lost'")).toHaveLength(1), { timeout: 2_000, interval: 5 });
      cut(); // the answer is never read: the connection is gone
      await vi.waitFor(() => a.flush(), { timeout: 5_000, interval: 50 });
      a.append(transition('exec-lost', 'after'));
      await a.flush();
      expect((await a.records({ executionId: 'exec-lost' })).map((r) => r.to)).toEqual(['committed, answer lost', 'after']);
      expect((await a.verify()).ok).toBe(true);
    });

    it('a batch cut off before it committed is written on a fresh session: nothing lost', async () => {
      const a = await db.open({ writer: 'cut-off' });
      const order = await holdOrderLock();
      a.append(transition('exec-cut', 'cut off'));
      await vi.waitFor(async () => expect(await order.waiting()).toBe(1), { timeout: 2_000, interval: 5 });
      const [writer] = await db.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'");
      await db.query('SELECT pg_terminate_backend($1)', [writer!.pid]);
      await order.release();
      await vi.waitFor(() => a.flush(), { timeout: 5_000, interval: 50 });
      expect((await a.records({ executionId: 'exec-cut' })).map((r) => r.to)).toEqual(['cut off']);
      expect((await a.verify()).ok).toBe(true);
    });
  });

  it('a lease not confirmed for ttl × (1 − margin) fences its sends by itself; a renewal the database accepts lifts it', async () => {
    let now = 0;
    const a = await db.open({ writer: 'self-a', monotonic: () => now });
    const ttl = 1_000;
    await a.acquireLease('exec-self', 'self-a', LONG_MS); // the database's lease is long: only this instance's confirmation lapses
    await a.renewLeases('self-a', [{ executionId: 'exec-self', epoch: 1 }], ttl);
    now = ttl * (1 - LEASE_SAFETY_MARGIN) - 1;
    expect(a.fencedFor('exec-self')).toBeNull();
    now = ttl * (1 - LEASE_SAFETY_MARGIN);
    expect(a.fencedFor('exec-self')).toMatch(/not confirmed for 800 ms/);
    expect(a.fencedFor('exec-unleased')).toBeNull(); // no lease here, nothing to fence
    await a.renewLeases('self-a', [{ executionId: 'exec-self', epoch: 1 }], ttl);
    expect(a.fencedFor('exec-self')).toBeNull();
  });

  it('renewals never wait behind the pool: with its only connection busy, a renewal answers at once', async () => {
    const a = await db.open({ writer: 'starve-a', poolSize: 1 });
    await a.acquireLease('exec-starve', 'starve-a', LONG_MS);
    const pool = (a as unknown as { pool: { query: (q: string) => Promise<unknown> } }).pool;
    const busy = pool.query('SELECT pg_sleep(1.5)');
    const started = performance.now();
    const [renewal] = await a.renewLeases('starve-a', [{ executionId: 'exec-starve', epoch: 1 }], LONG_MS);
    const tookMs = performance.now() - started;
    await busy;
    expect(renewal).toMatchObject({ renewed: true });
    expect(tookMs).toBeLessThan(1_000);
  });

  it('keeps a claim’s deadline on the database’s clock: what is left of the window is the same whatever the claiming engine’s skew', async () => {
    const windows: number[] = [];
    for (const skew of [SKEW_MS, -SKEW_MS, 0]) {
      const clock = { now: () => Date.now() + skew, setTimeout, clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
      const store = await db.open({ writer: `skew${skew}`, clock });
      const s = snapshot({ advisoryId: `skew-claim${skew}` });
      await store.claim({ advisoryId: s.advisoryId, executionId: `exec-skew${skew}`, clientOrderId: `coid-skew${skew}`, deadlineAt: clock.now() + HARD_TIMEOUT_MS, snapshot: s, broker: 'paper' });
      windows.push((await store.claimed(s.advisoryId))!.remainingMs!);
    }
    for (const w of windows) {
      expect(w).toBeGreaterThan(HARD_TIMEOUT_MS - 2_000);
      expect(w).toBeLessThanOrEqual(HARD_TIMEOUT_MS);
    }
  });
});
