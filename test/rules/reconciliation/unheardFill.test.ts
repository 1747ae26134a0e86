/**
 * Rule 6 judges protection against what filled as either side knows it. A fill the broker reports
 * that Warden never heard of (its report lost, a final look-up that lagged the venue) is a
 * position without protection: `missing_sl_tp`, the flag an operator handles first, never a mere
 * `mismatch`.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, rules, type OrderReport } from '../../../src/index.js';
import { ScriptedBroker } from '../../../src/testing/index.js';
import { harness, silentLogger, snapshot } from '../../support/fixtures.js';

const order = { clientOrderId: 'c', brokerOrderId: 'b', status: 'cancelled' as const, filledQuantity: 5, averageFillPrice: 1.1 };
const expected = { symbol: 'EURUSD', side: 'buy' as const, positionSize: 10, protectionFailure: null, order, priorPositionQuantity: 0, protection: { stopLoss: 1.089, takeProfit: 1.122 }, protectedQuantity: 5, priceTick: null, outcomeUncertain: false };

/** A venue whose pushes the test delivers by hand: a fill can happen without its report reaching Warden. */
class HeldPushes extends ScriptedBroker {
  private readonly listeners = new Set<(r: OrderReport) => void>();
  override subscribe(listener: (r: OrderReport) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  deliver(report: OrderReport | null): void {
    if (report) for (const l of this.listeners) l(report);
  }
}

describe('rule 6: a fill the broker reports and Warden never heard of', () => {
  it('the diff: protection for less than the broker says filled is missing_sl_tp', () => {
    const r = rules.diffReconciliation(expected, {
      order: { ...order, filledQuantity: 8, averageFillPrice: 1.14 },
      position: { symbol: 'EURUSD', quantity: 8, averagePrice: 1.14, stopLoss: 1.089, takeProfit: 1.122 },
    });
    expect(r.status).toBe('missing_sl_tp');
    expect(r.mismatches).toContainEqual(expect.objectContaining({ field: 'protection.quantity', expected: 8, actual: 5 }));
  });

  it('the diff, the other way: the broker now reports less filled than was protected (a busted fill) — the protection is named too', () => {
    const r = rules.diffReconciliation(expected, {
      order: { ...order, filledQuantity: 3 },
      position: { symbol: 'EURUSD', quantity: 3, averagePrice: 1.1, stopLoss: 1.089, takeProfit: 1.122 },
    });
    expect(r.status).not.toBe('matched');
    expect(r.mismatches).toContainEqual(expect.objectContaining({ field: 'protection.quantity', expected: 3, actual: 5 }));
    expect(r.mismatches.find((m) => m.field === 'protection.quantity')?.message).toMatch(/more than the 3 the broker now reports filled/);
  });

  it('in the engine: 300 filled just before the deadline, the report lost and the final look-up lagging — flagged missing_sl_tp', async () => {
    const h = harness();
    const broker = new HeldPushes({ clock: h.clock, latencyMs: 10 });
    const engine = createEngine({ broker, clock: h.clock, logger: silentLogger(), pollIntervalMs: 60_000 });
    const s = snapshot({ positionSize: 1000 });
    const id = `wd-${s.hash.slice(0, 24)}`;
    broker.onAccepted((o) => {
      h.clock.setTimeout(() => broker.deliver(broker.fill(o.clientOrderId, 500, 1.1)), 1_000);
      h.clock.setTimeout(() => void broker.fill(o.clientOrderId, 300, 1.2), 29_990); // its report never comes
    });
    broker.script.cancel.push({ kind: 'applyThenFail' });
    h.clock.setTimeout(() => broker.script.getOrder.push({ kind: 'report', report: { clientOrderId: id, brokerOrderId: null, status: 'cancelled', filledQuantity: 500, averageFillPrice: 1.1 } }), 29_999);
    const result = await h.run(engine.execute(s));
    expect(broker.venue.get(id)!.filledQuantity).toBe(800);
    expect(broker.venue.protectionsOf(`${id}-p`)[0]!.quantity).toBe(500);
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.status).toBe('missing_sl_tp');
    expect(result.reconciliation?.mismatches).toContainEqual(expect.objectContaining({ field: 'protection.quantity', expected: 800, actual: 500 }));
  });
});
