/**
 * Rule 2 when a venue reports a fill without its price. SL/TP come from the actual average fill
 * price, so a fill whose price is missing (none at all, or only a smaller fill's) is looked up
 * once the order is over (`live.pricing`, the order's own report) before protection is decided.
 * Only what that look-up cannot give is left to reconciliation: a price never guessed.
 */
import { describe, expect, it } from 'vitest';
import { rules, type OrderReport } from '../../../src/index.js';
import { harness, snapshot } from '../../support/fixtures.js';

const s = snapshot();
const clientOrderId = `wd-${s.hash.slice(0, 24)}`;
const unpriced = (filledQuantity: number): OrderReport => ({ clientOrderId, brokerOrderId: null, status: 'filled', filledQuantity, averageFillPrice: null });

/** Polling only: 4 fill at 1.1, then 6 at 1.2 (the whole order's average 1.16). */
function twoFills() {
  const h = harness({ push: false, pollIntervalMs: 100 });
  h.broker.onAccepted((o) => {
    h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 4, 1.1), 50);
    h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 6, 1.2), 150);
  });
  return h;
}

describe('rule 2: a fill reported without its price', () => {
  it('a larger fill without its price: the order is looked up and the whole position is protected from its average', async () => {
    const h = twoFills();
    // The first poll sees 4 at 1.1; the second says all 10 filled but gives no price.
    h.broker.script.getOrder.push({ kind: 'real' }, { kind: 'report', report: unpriced(10) });
    const result = await h.finish(s);
    expect(result.filledQuantity).toBe(10);
    expect(result.fillPrice).toBeCloseTo(1.16, 12);
    const last = h.broker.callsOf('placeProtection').at(-1)!.args as { quantity: number; stopLoss: number; takeProfit: number };
    // From 1.16, not from the first 4's 1.1 (which would be 1.089 / 1.122).
    expect(last).toMatchObject({ quantity: 10, stopLoss: 1.1484, takeProfit: 1.1832 });
    expect(h.broker.venue.position('EURUSD')).toMatchObject({ quantity: 10, stopLoss: 1.1484, takeProfit: 1.1832 });
    expect(result.reconciliation?.status).toBe('matched');
    expect(result.requiresManualResolution).toBe(false);
  });

  it('the only fill without its price: looked up, then protected at the price the venue gives', async () => {
    const h = harness({ push: false, pollIntervalMs: 100 });
    h.fillOnAccept(50, 1.1);
    h.broker.script.getOrder.push({ kind: 'report', report: unpriced(10) });
    const result = await h.finish(s);
    expect(result.fillPrice).toBe(1.1);
    expect(result.protectionPlaced).toBe(true);
    expect(h.broker.callsOf('placeProtection').map((c) => c.args)).toEqual([expect.objectContaining({ quantity: 10, stopLoss: 1.089, takeProfit: 1.122 })]);
    expect(result.status).toBe('filled');
    expect(result.requiresManualResolution).toBe(false);
  });

  it('asked once per filled quantity: a look-up that still gives no price is not repeated, and nothing is guessed', async () => {
    const h = harness({ push: false, pollIntervalMs: 100 });
    h.fillOnAccept(50, 1.1);
    h.broker.script.getOrder.push({ kind: 'report', report: unpriced(10) }, { kind: 'report', report: unpriced(10) });
    const result = await h.finish(s);
    const lookUps = h.broker.callsOf('getOrder').length;
    expect(result.protectionPlaced).toBe(false);
    expect(h.broker.callsOf('placeProtection')).toHaveLength(0);
    expect(result.error?.code).toBe('protection_failed');
    expect(result.requiresManualResolution).toBe(true);
    // The poll that saw the fill, the price look-up, and reconciliation's own read of the order.
    expect(lookUps).toBe(3);
  });

  it('reconciliation never matches a fill whose price is known for part of it, even where the venue\'s position cannot tell (another execution on the symbol)', () => {
    const order = { clientOrderId, brokerOrderId: 'B-1', status: 'filled' as const, filledQuantity: 10, averageFillPrice: 1.1, pricedQuantity: 4 };
    const r = rules.diffReconciliation(
      { symbol: 'EURUSD', side: 'buy', positionSize: 10, protectionFailure: null, order, priorPositionQuantity: 5, protection: { stopLoss: 1.089, takeProfit: 1.122 }, protectedQuantity: 10, priceTick: null, outcomeUncertain: false },
      { order: { clientOrderId, brokerOrderId: 'B-1', status: 'filled', filledQuantity: 10, averageFillPrice: null }, position: { symbol: 'EURUSD', quantity: 15, averagePrice: 1.13, stopLoss: 1.089, takeProfit: 1.122 } },
    );
    expect(r.status).toBe('mismatch');
    expect(r.mismatches).toEqual([expect.objectContaining({ field: 'order.pricedQuantity', expected: 10, actual: 4 })]);
  });

  it('a failed look-up: the larger fill is protected at the price known, for the whole quantity, and reconciliation flags the difference', async () => {
    const h = twoFills();
    h.broker.script.getOrder.push({ kind: 'real' }, { kind: 'report', report: unpriced(10) }, { kind: 'fail' });
    const result = await h.finish(s);
    // Never unprotected: the first fill's price covers the whole position until a person looks.
    const last = h.broker.callsOf('placeProtection').at(-1)!.args as { quantity: number; stopLoss: number };
    expect(last).toMatchObject({ quantity: 10, stopLoss: 1.089 });
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.status).toBe('mismatch');
  });
});
