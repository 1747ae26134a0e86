/**
 * The fleet's position ledger and limits in PostgreSQL (src/store/postgres/ledger.ts), on a real
 * server: what an open and a settled execution count, admissions that cannot both take the last
 * room under a limit, and the limits changes `warden limits set --store` writes.
 */
import { describe, expect, it } from 'vitest';
import { fleetLimitsCommand } from '../../src/cli/fleetLimits.js';
import { JournalKind } from '../../src/journal/types.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();
const admission = (executionId: string, symbol: string, side: 'buy' | 'sell', size: number) => ({ executionId, symbol, side, size, wholeFleetRate: false });

describe("the fleet's position ledger", () => {
  it('counts settled fills exactly and open executions as a range from what was heard to their whole size', async () => {
    const a = await db.open({ writer: 'ledger-a' });
    const b = await db.open({ writer: 'ledger-b' });
    expect((await a.admitToFleet(admission('x1', 'L1', 'buy', 10), () => true)).admitted).toBe(true);
    expect((await b.admitToFleet(admission('x2', 'L1', 'sell', 4), () => true)).admitted).toBe(true);
    await a.recordFleetFill('x1', 6);
    await a.recordFleetFill('x1', 3); // late, older figure: a fill never goes back
    expect(await b.fleetPosition('L1', 'none')).toEqual({ net: 6, low: 2, high: 10, openBuys: 4, openSells: 4 });
    // Each execution sees only the others.
    expect(await a.fleetPosition('L1', 'x1')).toMatchObject({ net: 0, low: -4, high: 0 });
    await a.settleFleetPosition('x1', 7, true);
    await a.settleFleetPosition('x1', 9, true); // settled once: the second is ignored
    await b.settleFleetPosition('x2', 4, true);
    expect(await b.fleetPosition('L1', 'none')).toEqual({ net: 3, low: 3, high: 3, openBuys: 0, openSells: 0 });
  });

  it('30 admissions from three engines at once against room for 5 under a limit: exactly 5 get it', async () => {
    const stores = [await db.open({ writer: 'race-a' }), await db.open({ writer: 'race-b' }), await db.open({ writer: 'race-c' })];
    // Room for 5 of size 10 under 50: the rule sees what is open (what the others could still add).
    const fits = (f: { position: { net: number; openBuys: number } }) => f.position.net + f.position.openBuys + 10 <= 50;
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3]!.admitToFleet(admission(`r${i}`, 'L2', 'buy', 10), fits)));
    expect(answers.filter((a) => a.admitted)).toHaveLength(5);
    expect(answers.filter((a) => !a.admitted).every((a) => a.facts.position.openBuys === 50)).toBe(true);
    const rows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM warden_positions WHERE symbol = 'L2'");
    expect(rows[0]!.n).toBe(5);
  });

  it('counts the fleet orders of the last minute, without the ones refused before sending', async () => {
    const a = await db.open({ writer: 'rate-a' });
    await a.admitToFleet(admission('q1', 'L3', 'buy', 1), () => true);
    await a.admitToFleet(admission('q2', 'L3', 'buy', 1), () => true);
    await a.settleFleetPosition('q2', 0, false);
    const { facts } = await a.admitToFleet(admission('q3', 'L3', 'buy', 1), () => false);
    expect(facts.ordersLastMinute.symbol).toBe(1);
  });
});

describe('limits tightened for the fleet', () => {
  it('writes a tightening every engine reads, and refuses one that loosens any engine\'s limits', async () => {
    const a = await db.open({ writer: 'limits-a' });
    a.append({ kind: JournalKind.Limits, executionId: null, advisoryId: null, snapshotHash: null, event: 'start', payload: { limits: { symbols: { '*': { maxPosition: 30 } } } } });
    await a.flush();
    const out: string[] = [];
    const cli = await db.open({ writer: 'limits-cli' });
    await expect(fleetLimitsCommand(cli, { action: 'set', change: { symbols: { EURUSD: { maxPosition: 40 } } }, operator: 'ana', reason: 'r' }, (l) => out.push(l))).rejects.toThrow(
      /would loosen limits-a: symbols\.EURUSD\.maxPosition: 30 → 40\. Nothing was written/,
    );
    expect(await a.fleetLimitsChanges(0)).toEqual([]);
    expect(await fleetLimitsCommand(cli, { action: 'set', change: { symbols: { EURUSD: { maxPosition: 20 } } }, operator: 'ana', reason: 'r' }, (l) => out.push(l))).toBe(0);
    expect(await a.fleetLimitsChanges(0)).toMatchObject([{ change: { symbols: { EURUSD: { maxPosition: 20 } } }, operator: 'ana', reason: 'r' }]);
    a.append({ kind: JournalKind.Limits, executionId: null, advisoryId: null, snapshotHash: null, event: 'tighten', payload: { to: { symbols: { '*': { maxPosition: 30 }, EURUSD: { maxPosition: 20 } } } } });
    await a.flush();
    await expect(fleetLimitsCommand(cli, { action: 'set', change: { symbols: { EURUSD: { maxPosition: 25 } } }, operator: 'ana', reason: 'r' }, (l) => out.push(l))).rejects.toThrow(/20 → 25/);
  });
});
