/**
 * A reconciliation flag raised while the store is briefly out of reach: the flagged result's
 * records are written once PostgreSQL is back (the writer's queue keeps them), so the flag must
 * then halt its symbol on every engine, as one raised with the store up does (docs/scale-out.md:
 * "the halt goes out through the fleet switch once the flagged result is in the store").
 */
import { describe, expect, it, vi } from 'vitest';
import { createEngine, freezeSnapshot, type FrozenSnapshot, type PositionReport } from '../../src/index.js';
import { ScriptedBroker } from '../../src/testing/index.js';
import { capturingLogger, rawSnapshot, silentLogger } from '../support/fixtures.js';
import { useDatabase } from '../store/support/database.js';

const db = useDatabase();

/** A venue on real time where every order fills at once; `onPosition` runs when reconciliation asks. */
class Venue extends ScriptedBroker {
  onPosition: (() => Promise<void>) | null = null;
  constructor() {
    super({ latencyMs: 1, push: true });
    this.onAccepted((o) => setTimeout(() => this.fill(o.clientOrderId, o.quantity, 1.1), 2));
  }
  override async getPosition(symbol: string): Promise<PositionReport> {
    const hook = this.onPosition;
    this.onPosition = null;
    await hook?.();
    return super.getPosition(symbol);
  }
}

/** A snapshot approved a minute ago, valid for an hour of real time. */
const order = (advisoryId: string): FrozenSnapshot => {
  const now = Date.now();
  return freezeSnapshot(rawSnapshot({ advisoryId, createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 3_600_000).toISOString(), approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() } }));
};

describe('a flag raised during a short store outage', () => {
  it('halts its symbol on the other engines once its records are in the store', async () => {
    const venue = new Venue();
    const seen = capturingLogger();
    const [a, b] = await Promise.all(['outage-a', 'outage-b'].map(async (writer, i) => createEngine({ broker: venue, journal: await db.open({ writer }), logger: i === 0 ? seen.logger : silentLogger() })));
    await Promise.all([a!.ready, b!.ready]);
    // Someone else's position on the account: a's reconciliation cannot match, and the store goes
    // away for a second (shorter than the staleness budget) just as a asks the venue.
    venue.venue.setPosition('EURUSD', 5, 1.1);
    venue.onPosition = async () => {
      await db.server().suspend();
      setTimeout(() => void db.server().resume(), 1_000);
    };
    const flagged = await a!.execute(order('outage-1'));
    expect(flagged).toMatchObject({ requiresManualResolution: true });
    // The flagged result reaches the store once the server is back (the writer retries every 500 ms).
    // Before: its announcement had been dropped at the first failed flush, so b never listed the flag and traded on.
    await vi.waitFor(async () => expect(await db.query("SELECT 1 FROM warden_records WHERE kind = 'result' AND advisory_id = 'outage-1'")).toHaveLength(1), { timeout: 10_000, interval: 100 });
    expect(seen.lines.some((l) => l.msg.includes('not announced to the fleet yet'))).toBe(true); // the outage met the announcement
    await vi.waitFor(() => expect(b!.awaitingResolution().map((r) => r.advisoryId)).toEqual(['outage-1']), { timeout: 5_000, interval: 100 });
    expect(await b!.execute(order('outage-2'))).toMatchObject({ status: 'rejected', error: { code: 'kill_switch_active' } });
    // The fleet's ledger settles the execution too once the store is back: an open row counts its
    // whole unfilled size on every other engine (limits, reconciliation ranges) for as long as it stays.
    await vi.waitFor(async () => expect(await db.query("SELECT settled FROM warden_positions WHERE execution_id = $1", [flagged.executionId])).toEqual([{ settled: true }]), { timeout: 5_000, interval: 100 });
    await Promise.all([a!.close(), b!.close()]);
  }, 60_000);
});
