/**
 * Rule 2 with a venue that pushes: the fill is pushed before the submit is answered, so the
 * protection request goes out while the order still works. When the order then ends with that same
 * fill, the request still out IS the final one: the execution waits for its answer and never sends
 * it a second time (a second request is a second message at the venue, and on a venue that does not
 * replace by id, a second stop).
 */
import { describe, expect, it } from 'vitest';
import { createEngine, PaperBroker, type BrokerAdapter, type ProtectionRequest } from '../../../src/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

function setUp(fills: { afterMs: number; fraction: number }[]) {
  const clock = new VirtualClock(T0);
  // Every answer takes 40 ms; the venue fills (and pushes) as soon as it has the order.
  const venue = new PaperBroker({ clock, latencyMs: [40, 40], markets: { EURUSD: { price: 1.1, fillSteps: fills } } });
  const protections: ProtectionRequest[] = [];
  const broker: BrokerAdapter = Object.assign(Object.create(venue) as PaperBroker, {
    placeProtection: (req: ProtectionRequest) => {
      protections.push(req);
      return venue.placeProtection(req);
    },
  });
  const engine = createEngine({ broker, clock, logger: silentLogger(), pollIntervalMs: 5_000 });
  return { clock, engine, protections, venue };
}

describe('rule 2: the final protection request already out is awaited, not sent again', () => {
  it('a fill pushed before the submit answer: one protection request, filled and protected', async () => {
    const { clock, engine, protections, venue } = setUp([{ afterMs: 0, fraction: 1 }]);
    const result = await clock.run(engine.execute(snapshot()));
    expect(result.status).toBe('filled');
    expect(result.requiresManualResolution).toBe(false);
    expect(protections).toHaveLength(1);
    expect(protections[0]!.quantity).toBe(result.filledQuantity);
    expect((await clock.run(venue.getPosition('EURUSD'))).stopLoss).not.toBeNull();
    await engine.close();
  });

  it('a partial fill protected while working, then more: the final request replaces it (same id, two requests)', async () => {
    const { clock, engine, protections } = setUp([
      { afterMs: 0, fraction: 0.5 },
      { afterMs: 200, fraction: 0.5 },
    ]);
    const result = await clock.run(engine.execute(snapshot()));
    expect(result.status).toBe('filled');
    expect(protections.map((p) => p.quantity)).toEqual([result.filledQuantity / 2, result.filledQuantity]);
    expect(new Set(protections.map((p) => p.clientOrderId)).size).toBe(1);
    await engine.close();
  });
});
