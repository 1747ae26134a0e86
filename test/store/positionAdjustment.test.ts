/**
 * Rule 6 on a fleet: a resolution that adopts the venue's position figure (a stop that fired at
 * the venue, a hand close) moves the fleet's position in the store (`warden_position_totals`) in
 * the same transaction as the resolution record, once per flag however many engines resolve it.
 * Without it, every engine's next reconciliation on the symbol expected the closed position and was
 * flagged, and the fleet's `maxPosition` refused orders the venue's position allowed.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, freezeSnapshot, PaperBroker, type Engine, type FrozenSnapshot } from '../../src/index.js';
import { JournalKind } from '../../src/journal/types.js';
import { rawSnapshot, silentLogger } from '../support/fixtures.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();
const SIZE = 10_000;

const resolution = (executionId: string, positionAdjustment?: { symbol: string; quantity: number }) => ({
  kind: JournalKind.Resolution,
  executionId,
  advisoryId: `adv-${executionId}`,
  snapshotHash: null,
  event: 'RESOLVE',
  payload: { operator: 'carol', note: 'stopped out at the venue', ...(positionAdjustment ? { positionAdjustment } : {}) },
});

describe("a resolution's position adjustment in the fleet's ledger", () => {
  it('moves the settled position once per flag: a second resolution of the same execution, on another engine, adds nothing', async () => {
    const a = await db.open({ writer: 'adjust-a' });
    const b = await db.open({ writer: 'adjust-b' });
    await a.admitToFleet({ executionId: 'p1', symbol: 'P1', side: 'buy', size: 10, wholeFleetRate: false }, () => true);
    await a.settleFleetPosition('p1', 10, true);
    await a.admitToFleet({ executionId: 'p2', symbol: 'P1', side: 'buy', size: 10, wholeFleetRate: false }, () => true);
    await a.settleFleetPosition('p2', 10, true);
    expect((await a.fleetPosition('P1', 'none')).net).toBe(20);
    a.append(resolution('p2', { symbol: 'P1', quantity: -10 }));
    await a.flush();
    expect((await b.fleetPosition('P1', 'none')).net).toBe(10);
    b.append(resolution('p2', { symbol: 'P1', quantity: -10 })); // the same flag, resolved again elsewhere
    b.append(resolution('p2', { symbol: 'P1', quantity: -10 }));
    await b.flush();
    expect((await a.fleetPosition('P1', 'none')).net).toBe(10);
    a.append(resolution('p1')); // no position difference: nothing moves
    await a.flush();
    expect((await a.fleetPosition('P1', 'none')).net).toBe(10);
    expect((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM warden_records WHERE kind = 'resolution' AND execution_id = 'p2'"))[0]!.n).toBe(3);
  });
});

let n = 0;
/** A buy approved a minute ago, valid for an hour of real time (nothing depends on today's date). */
const order = (advisoryId = `fleet-stop-${++n}`): FrozenSnapshot => {
  const now = Date.now();
  return freezeSnapshot(rawSnapshot({ advisoryId, positionSize: SIZE, createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 3_600_000).toISOString(), approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() } }));
};

/** Asks every 20 ms, up to 10 s of real time, until `ok` holds. */
async function until(ok: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (await ok()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return ok();
}

describe('a fleet after a position closed at the venue', () => {
  it("resolving B's flag adopts the venue's figure for the fleet: C reconciles matched on the other engine, and maxPosition admits what the venue allows", async () => {
    const venue = new PaperBroker({ seed: 5, latencyMs: [1, 2], markets: { EURUSD: { price: 1.1, fillAfterMs: 5, slippageBps: 0 } } });
    const limits = { symbols: { EURUSD: { maxPosition: 25_000 } } };
    const engines: Engine[] = await Promise.all(['stop-a', 'stop-b'].map(async (writer) => createEngine({ broker: venue, journal: await db.open({ writer }), logger: silentLogger(), limits })));
    const [a, b] = engines as [Engine, Engine];
    try {
      const first = await a.execute(order());
      expect([first.status, first.reconciliation?.status]).toEqual(['filled', 'matched']);
      venue.venue.setPosition('EURUSD', 0, null); // its stop fired at the venue
      const flagged = await a.execute(order('fleet-stop-B'));
      expect(flagged.requiresManualResolution).toBe(true);
      expect(flagged.reconciliation?.mismatches.find((m) => m.field === 'position.quantity')).toMatchObject({ expected: 2 * SIZE, actual: SIZE });
      a.resolve('fleet-stop-B', { operator: 'carol', note: 'the first position was stopped out at the venue' });
      // The resolution (and its adjustment) is the fleet's once its batch is committed; b's hold goes when b reads so.
      const settled = async () => (await db.query<{ net: number }>("SELECT settled_net AS net FROM warden_position_totals WHERE symbol = 'EURUSD'"))[0]?.net;
      expect(await until(async () => (await settled()) === SIZE)).toBe(true);
      expect(await until(() => b.killSwitch.state('EURUSD') === 'off' && a.killSwitch.state('EURUSD') === 'off')).toBe(true);
      const c = await b.execute(order());
      expect([c.status, c.error?.message ?? null, JSON.stringify(c.reconciliation?.mismatches)]).toEqual(['filled', null, '[]']);
      const d = await a.execute(order()); // 30,000 at the venue: past the fleet's limit
      expect(d.error?.code).toBe('limit_position');
      expect(venue.venue.position('EURUSD').quantity).toBe(2 * SIZE);
    } finally {
      await Promise.all(engines.map((e) => e.close()));
    }
  }, 60_000);
});
