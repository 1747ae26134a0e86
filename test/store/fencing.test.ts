/**
 * Fencing without gaps, on a real PostgreSQL: every write of an execution carries the epoch this
 * instance leased it under — also after its renewal was refused, also for records appended before
 * the lease was granted — so a write of an engine that lost its lease is refused whatever became
 * of the lease since (taken over, finished, released). Renewals go through a connection of their
 * own; a lease not confirmed for most of its length fences the execution's sends by itself; a
 * claim's deadline is kept on the database's clock.
 */
import { describe, expect, it, vi } from 'vitest';
import { JournalError, JournalKind } from '../../src/journal/types.js';
import { LEASE_SAFETY_MARGIN } from '../../src/store/postgres/PostgresStore.js';
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
    a.append(transition('exec-early', 'validating')); // appended before the lease, written after the takeover
    // Hold the batch back until the lease moved on: the writer connection is busy in a transaction of ours.
    const writer = (a as unknown as { journal: { writerClient: { query: (q: string) => Promise<unknown> } } }).journal.writerClient;
    const stall = writer.query('SELECT pg_sleep(0.4)');
    expect(await takenOver(a, b, 'exec-early')).toBe(2);
    await b.releaseLease('exec-early', 'early-b', 2);
    await stall;
    const refused = await a.flush().catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'fenced', message: expect.stringMatching(/epoch 1 of early-a.*now epoch 2 of early-b \(released\)/) });
    expect(await b.records({ executionId: 'exec-early' })).toEqual([]);
  });

  describe('a writer frozen inside a batch, whose session the server ended (idle in transaction)', () => {
    /**
     * Freezes the store's writer the way SIGSTOP does, between its batch's BEGIN and next statement:
     * the session is idle in its transaction (the server's limit is cut to 50 ms for this one) and
     * nothing is read from the socket until `thaw`; the next statement then meets the server's
     * FATAL 25P03, as a woken process does.
     */
    function freezeWriterInBatch(store: Awaited<ReturnType<typeof db.open>>): { frozen: Promise<number>; thaw: () => void } {
      type Client = { query: (q: unknown, v?: unknown) => Promise<{ rows: { pid: number }[] }>; connection: { stream: { pause(): void; resume(): void } } };
      const client = (store as unknown as { journal: { writerClient: Client } }).journal.writerClient;
      const query = client.query.bind(client);
      let thawed: () => void = () => undefined;
      let state: 'armed' | 'frozen' | 'thawing' | 'done' = 'armed';
      const frozen = new Promise<number>((resolve) => {
        client.query = (async (q: unknown, v?: unknown) => {
          if (state === 'armed' && q === 'BEGIN') {
            const begun = await query(q);
            const { rows } = await query("SELECT pg_backend_pid() AS pid, set_config('idle_in_transaction_session_timeout', '50ms', true)");
            state = 'frozen';
            client.connection.stream.pause();
            resolve(rows[0]!.pid);
            await new Promise<void>((r) => (thawed = r));
            state = 'thawing';
            return begun;
          }
          if (state === 'thawing') {
            state = 'done';
            const answer = query(q, v); // sent first, then the socket is read: the FATAL answers this statement
            client.connection.stream.resume();
            return answer;
          }
          return query(q, v);
        }) as Client['query'];
      });
      return { frozen, thaw: () => thawed() };
    }

    const sessionEnded = (pid: number) =>
      vi.waitFor(async () => expect(await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).toEqual([]), { timeout: 5_000, interval: 10 });

    it('its batch is written again on a fresh session, and fenced there once another engine took the execution over', async () => {
      const a = await db.open({ writer: 'idle-a' });
      const b = await db.open({ writer: 'idle-b' });
      await a.acquireLease('exec-idle', 'idle-a', LONG_MS);
      const { frozen, thaw } = freezeWriterInBatch(a);
      a.append(transition('exec-idle', 'written while frozen'));
      await sessionEnded(await frozen);
      await db.query("UPDATE warden_leases SET expires_at = now() - interval '1 second' WHERE execution_id = 'exec-idle'");
      expect(await b.takeOver('exec-idle', 'idle-b', LONG_MS)).toBe(2);
      await b.releaseLease('exec-idle', 'idle-b', 2);
      thaw();

      // Not a broken store: the rolled-back batch is an outage, written again on a fresh session...
      await expect(a.flush()).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/idle-in-transaction/) });
      // ...where the lease check refuses it, naming both epochs.
      const refused = await vi.waitFor(async () => {
        const e = await a.flush().then(() => null, (x: unknown) => x);
        expect(e).toMatchObject({ code: 'fenced' });
        return e;
      }, { timeout: 5_000, interval: 50 });
      expect(refused).toMatchObject({ message: expect.stringMatching(/epoch 1 of idle-a.*now epoch 2 of idle-b \(released\)/) });
      expect(await b.records({ executionId: 'exec-idle' })).toEqual([]);
    });

    it('with its lease still its own, nothing of the batch is lost', async () => {
      const a = await db.open({ writer: 'idle-kept' });
      await a.acquireLease('exec-kept', 'idle-kept', LONG_MS);
      const { frozen, thaw } = freezeWriterInBatch(a);
      a.append(transition('exec-kept', 'written while frozen'));
      await sessionEnded(await frozen);
      thaw();
      await expect(a.flush()).rejects.toMatchObject({ code: 'unavailable' });
      await vi.waitFor(() => a.flush(), { timeout: 5_000, interval: 50 });
      expect((await a.records({ executionId: 'exec-kept' })).map((r) => `${r.to}@${r.epoch}`)).toEqual(['written while frozen@1']);
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
