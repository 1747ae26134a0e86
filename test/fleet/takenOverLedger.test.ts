/**
 * The fleet's ledger after a takeover, on a real PostgreSQL: the engine an execution was taken
 * over from (starved of CPU, then woken) settles nothing any more. Before, its late settlement
 * moved the fill into the symbol's settled total while the taker still counted the execution as
 * its own, and the taker's reconciliation expected the fill twice (`position.quantity`: expected
 * 20, got 10 — a false flag that halted the symbol, seen in `soak:cluster --cpu-load 2`).
 */
import { describe, expect, it, vi } from 'vitest';
import { useDatabase } from '../store/support/database.js';

const db = useDatabase();
const EXPIRED_SOON_MS = 1;
const LONG_MS = 60_000;

describe('an execution taken over', () => {
  it("is settled in the fleet's ledger by its new owner only: the late settlement of the engine it was taken from changes nothing", async () => {
    const a = await db.open({ writer: 'ledger-a' });
    const b = await db.open({ writer: 'ledger-b' });
    await a.acquireLease('exec-moved', 'ledger-a', EXPIRED_SOON_MS);
    await a.recordFleetExecution({ executionId: 'exec-moved', symbol: 'XAUUSD', side: 'buy', size: 10 });
    await vi.waitFor(() => b.takeOver('exec-moved', 'ledger-b', LONG_MS), { timeout: 5_000, interval: 10 });

    // The woken engine settles what it heard filled: nothing moves.
    await a.settleFleetPosition('exec-moved', 10, true);
    expect(await b.fleetPosition('XAUUSD', 'exec-moved')).toMatchObject({ net: 0, low: 0, high: 0 });
    expect(await b.fleetPosition('XAUUSD', 'someone-else')).toMatchObject({ net: 0, high: 10 });

    // The taker settles it: the fill joins the total once, and even after its release the old owner cannot settle again.
    await b.settleFleetPosition('exec-moved', 10, true);
    await b.releaseLease('exec-moved', 'ledger-b', 2);
    await a.settleFleetPosition('exec-moved', 10, true);
    expect(await b.fleetPosition('XAUUSD', 'someone-else')).toMatchObject({ net: 10, low: 10, high: 10 });
  });

  it('an execution never taken over is settled by its own engine, leased or not', async () => {
    const a = await db.open({ writer: 'ledger-own' });
    await a.acquireLease('exec-own', 'ledger-own', LONG_MS);
    await a.recordFleetExecution({ executionId: 'exec-own', symbol: 'XAGUSD', side: 'sell', size: 4 });
    await a.recordFleetExecution({ executionId: 'exec-unleased', symbol: 'XAGUSD', side: 'sell', size: 3 });
    await a.settleFleetPosition('exec-own', 4, true);
    await a.settleFleetPosition('exec-unleased', 3, true);
    expect(await a.fleetPosition('XAGUSD', 'someone-else')).toMatchObject({ net: -7, low: -7, high: -7 });
  });
});
