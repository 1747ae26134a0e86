/**
 * maxPosition counts "what the venue reported beyond Warden's own fills at the last reconciliation"
 * (README, docs/rules.md). Reconciliation explains a position anywhere between the other
 * executions' net fills read when the venue was asked and when its answer came in (docs/rules.md,
 * rule 6), so an answer that does not yet hold a fill Warden heard meanwhile is `matched`. The limit
 * book must not then read that answer as "the venue holds less than Warden's fills": the true
 * position would be undercounted, and an order an approval cannot override would pass maxPosition.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, type PositionReport } from '../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

/** A venue whose next position answer is read before `meanwhile` happens and given 50 ms later. */
class LaggingVenue extends ScriptedBroker {
  meanwhile: (() => void) | null = null;
  constructor(private readonly lagClock: VirtualClock) {
    super({ clock: lagClock, latencyMs: 10, push: true });
  }
  override async getPosition(symbol: string): Promise<PositionReport> {
    const then = this.meanwhile;
    if (then === null) return super.getPosition(symbol);
    this.meanwhile = null;
    const stale = this.venue.position(symbol);
    then();
    await new Promise<void>((r) => this.lagClock.setTimeout(() => r(), 50));
    return stale;
  }
}

describe('maxPosition after a matched reconciliation whose answer lagged a fill heard meanwhile', () => {
  it('100 held at the venue with maxPosition 100: one more buy is refused (limit_position), nothing sent', async () => {
    const clock = new VirtualClock(T0);
    const broker = new LaggingVenue(clock);
    const engine = createEngine({ broker, clock, logger: silentLogger(), limits: { symbols: { '*': { maxPosition: 100 } } } });
    const ids: Record<string, string> = {};
    broker.onAccepted((o) => {
      ids[o.quantity === 50 && !ids.b ? 'b' : 'a'] = o.clientOrderId;
    });
    // A rests; B fills at once. While B's reconciliation asks for the position, A fills.
    const a = engine.execute(snapshot({ advisoryId: 'adv-a', positionSize: 50 }));
    await clock.advance(30);
    const b = engine.execute(snapshot({ advisoryId: 'adv-b', positionSize: 50 }));
    await clock.advance(30);
    broker.meanwhile = () => void broker.fill(ids.a!, 50, 1.1);
    broker.fill(ids.b!, 50, 1.1);
    const [ra, rb] = await clock.run(Promise.all([a, b]));
    expect([ra.status, rb.status]).toEqual(['filled', 'filled']);
    // Both answers are explained: nothing is flagged, so nothing makes the book ask the venue again.
    expect([ra.reconciliation?.status, rb.reconciliation?.status]).toEqual(['matched', 'matched']);
    expect(broker.venue.position('EURUSD').quantity).toBe(100);

    const c = await clock.run(engine.execute(snapshot({ advisoryId: 'adv-c', positionSize: 50 })));
    const held = broker.venue.position('EURUSD').quantity;
    await engine.close();
    expect({ status: c.status, code: c.error?.code, venuePosition: held }).toEqual({ status: 'rejected', code: 'limit_position', venuePosition: 100 });
  });
});
