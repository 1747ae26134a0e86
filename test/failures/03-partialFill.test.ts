import { describe, expect, it } from 'vitest';
import { harness, snapshot, T0 } from '../support/fixtures.js';

describe('failure 3: partial fill at the deadline or on kill', () => {
  for (const stop of ['deadline', 'kill switch'] as const) {
    for (const side of ['buy', 'sell'] as const) {
      it(`${side}, stopped by the ${stop}: remainder cancelled, the part protected at its own average`, async () => {
        const h = harness();
        const s = snapshot({ side });
        h.broker.onAccepted((o) => {
          h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 1, 1.1010), 500);
          h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 3, 1.1000), 900);
        });
        const p = h.engine.execute(s);
        if (stop === 'kill switch') h.clock.setTimeout(() => h.engine.killSwitch.set('active', { symbol: 'EURUSD', reason: 'halt', operator: 'ops' }), 2_000);
        const result = await h.finish(s, p);
        expect(result.status).toBe('partially_filled');
        expect(result.filledQuantity).toBe(4);
        expect(result.fillPrice).toBeCloseTo((1.101 + 3 * 1.1) / 4, 12);
        expect(h.broker.callsOf('placeProtection').at(-1)?.args).toMatchObject({ quantity: 4, stopLoss: result.stopLoss, takeProfit: result.takeProfit });
        // Each part protected as it landed (not at the stop), under one protective id: the venue holds one order, for all 4.
        expect(h.broker.callsOf('placeProtection').map((c) => [c.at - T0, (c.args as { quantity: number }).quantity])).toEqual([
          [510, 1],
          [910, 4],
        ]);
        expect(h.broker.venue.protectionsOf(`${result.clientOrderId}-p`)).toEqual([expect.objectContaining({ quantity: 4 })]);
        expect(h.broker.venue.get(result.clientOrderId!)?.status).toBe('cancelled');
        expect(h.broker.venue.position('EURUSD')).toMatchObject({ quantity: side === 'buy' ? 4 : -4, stopLoss: result.stopLoss });
      });
    }
  }
});
