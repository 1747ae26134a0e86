/**
 * A journal batch locks its executions' lease rows (FOR SHARE, in the order the table holds them)
 * while the same engine's renewal updates them (in the order of its list): when the two orders
 * differ and the statements meet, PostgreSQL breaks the deadlock by rolling one back. A batch
 * rolled back wrote nothing and must go again — never stop the journal for good.
 */
import { describe, expect, it, vi } from 'vitest';
import { JournalKind } from '../../src/journal/types.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

/** How long the two loops meet (ms): in trials a deadlock came within the first second or two. */
const MEET_MS = 6_000;

describe('a batch and a renewal that lock the lease rows in opposite orders', () => {
  it('a batch chosen as the deadlock victim is written again: the journal never fails for it', async () => {
    const a = await db.open({ writer: 'deadlock-a' });
    const ids = Array.from({ length: 300 }, (_, i) => `exec-dl-${String(i + 1).padStart(3, '0')}`);
    // The rows lie in the table in the reverse of the renewal's list (renewals move rows about too).
    for (const id of [...ids].reverse()) await a.acquireLease(id, 'deadlock-a', 600_000);
    const list = ids.map((executionId) => ({ executionId, epoch: 1 }));
    let meeting = true;
    let renewals = 0;
    const renewing = (async () => {
      while (meeting) {
        await a.renewLeases('deadlock-a', list, 600_000).then(() => renewals++, () => undefined);
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
    expect(renewals).toBeGreaterThan(0);
    expect((await a.verify()).ok).toBe(true);
    // The two did meet: the server broke at least one deadlock between them.
    await vi.waitFor(async () => expect((await db.query<{ n: number }>('SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = current_database()'))[0]!.n).toBeGreaterThan(0), { timeout: 5_000, interval: 200 });
  }, 60_000);
});
