/**
 * A journal batch locks its executions' lease rows (FOR SHARE) while the same engine's renewal
 * updates them. They locked them in different orders (the table's, the renewal list's): when the
 * two statements met, PostgreSQL broke the deadlock by rolling one back after a second, the batch
 * (then read as a refusal: the journal stopped for good) or the renewal (a second lost on a lease
 * that may be that short). Both now lock in execution id order: they never deadlock. A batch the
 * server rolls back all the same (a serialization failure, a deadlock with anything else) goes again.
 */
import { describe, expect, it } from 'vitest';
import { JournalKind } from '../../src/journal/types.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

/** How long the two loops meet (ms): in trials a deadlock came within the first second or two. */
const MEET_MS = 6_000;

describe('a batch and a renewal that lock the lease rows in opposite orders', () => {
  it('never deadlock: every batch is written and every renewal answered', async () => {
    const deadlocks = async () => (await db.query<{ n: number }>('SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()'))[0]!.n;
    const before = await deadlocks();
    const a = await db.open({ writer: 'deadlock-a' });
    const ids = Array.from({ length: 300 }, (_, i) => `exec-dl-${String(i + 1).padStart(3, '0')}`);
    // The rows lie in the table in the reverse of the renewal's list (renewals move rows about too).
    for (const id of [...ids].reverse()) await a.acquireLease(id, 'deadlock-a', 600_000);
    const list = ids.map((executionId) => ({ executionId, epoch: 1 }));
    let meeting = true;
    let renewals = 0;
    const renewalFailures: unknown[] = [];
    const renewing = (async () => {
      while (meeting) {
        await a.renewLeases('deadlock-a', list, 600_000).then(() => renewals++, (e: unknown) => renewalFailures.push(e));
      }
    })();
    let failure: unknown = null;
    let batches = 0;
    const deadline = Date.now() + MEET_MS;
    while (Date.now() < deadline && failure === null) {
      for (const id of ids) a.append({ kind: JournalKind.Transition, executionId: id, advisoryId: null, snapshotHash: null, to: `batch ${batches}` });
      await a.flush().then(() => batches++, (e: unknown) => (failure = e));
    }
    meeting = false;
    await renewing;
    // Before: 'unreadable' ("deadlock detected; nothing of this batch was written"), for good.
    expect(failure).toBeNull();
    expect(renewalFailures).toEqual([]);
    expect(renewals).toBeGreaterThan(0);
    expect(batches).toBeGreaterThan(0);
    expect((await a.verify()).ok).toBe(true);
    // Before: the server broke deadlocks between them within the first second or two.
    expect(await deadlocks()).toBe(before);
  }, 60_000);
});
