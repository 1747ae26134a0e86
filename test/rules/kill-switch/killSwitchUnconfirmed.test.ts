/**
 * Rule 3 after a send no answer confirmed: the kill switch cancels by clientOrderId at once, and a
 * venue that does not know the order yet ("no such order") has not ruled it out — the request may
 * still be on its way, or be acted on late. The execution keeps looking until the deadline: an
 * order that appears is cancelled if it works and protected if it filled (rule 4); one that never
 * appears ends at the deadline, its outcome flagged as uncertain. The venue forgets client ids once
 * an order ends (`openOrdersOnly`, as OANDA): no resend, so the switch meets the send unconfirmed.
 */
import { describe, expect, it } from 'vitest';
import { HARD_TIMEOUT_MS } from '../../../src/index.js';
import { harness, snapshot } from '../../support/fixtures.js';

/** The client order id the execution sent (its one submit). */
const sentId = (h: ReturnType<typeof harness>) => (h.broker.callsOf('submitOrder')[0]!.args as { clientOrderId: string }).clientOrderId;

/** At `atMs`, the venue acts on the lost request at last: the order appears, and fills at `price` (or works on). */
function appearsAt(h: ReturnType<typeof harness>, s: ReturnType<typeof snapshot>, atMs: number, price: number | null) {
  h.clock.setTimeout(() => {
    const id = sentId(h);
    h.broker.venue.submit({ clientOrderId: id, symbol: s.symbol, side: s.side, quantity: s.positionSize, type: 'market' });
    if (price !== null) h.broker.fill(id, s.positionSize, price);
  }, atMs);
}

describe('rule 3: a kill switch while the submit outcome is unknown', () => {
  it('an order the venue makes after the cancel, inside the window, is found and protected from its fill', async () => {
    const h = harness({ push: false, durability: 'openOrdersOnly' });
    const s = snapshot();
    // The request reaches the venue late: no answer (the call limit makes it unknown), no order yet.
    h.broker.script.submit.push({ kind: 'hang' });
    const p = h.engine.execute(s);
    // 11 s: the submit is unknown (10 s limit) and the execution looks the order up; the switch comes.
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' }), 11_000);
    // 14 s: the venue acts on the request at last; it fills at once.
    appearsAt(h, s, 14_000, 1.1004);
    const result = await h.finish(s, p);
    expect(result.status).toBe('filled');
    expect(result.filledQuantity).toBe(s.positionSize);
    expect(result.fillPrice).toBe(1.1004);
    expect(result.protectionPlaced).toBe(true);
    expect(result.stopLoss).toBe(Number((1.1004 * 0.99).toPrecision(12)));
    expect(result.killSwitch.state).toBe('active');
    expect(h.broker.venue.position(s.symbol)).toMatchObject({ quantity: s.positionSize, stopLoss: result.stopLoss, takeProfit: result.takeProfit });
  });

  it('an order that appears working is cancelled', async () => {
    const h = harness({ push: false, durability: 'openOrdersOnly' });
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'hang' });
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' }), 11_000);
    appearsAt(h, s, 14_000, null);
    const result = await h.finish(s, p);
    expect(result.status).toBe('cancelled');
    expect(result.filledQuantity).toBe(0);
    expect(h.broker.venue.get(sentId(h))?.status).toBe('cancelled');
    expect(h.broker.callsOf('cancelOrder').length).toBeGreaterThanOrEqual(2);
    expect(result.reconciliation?.status).toBe('matched');
  });

  it('failed look-ups while watching are looked again, not spent as cancels: an order that then appears working is still cancelled', async () => {
    const h = harness({ push: false, durability: 'openOrdersOnly' });
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'hang' });
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' }), 11_000);
    h.clock.setTimeout(() => h.broker.script.getOrder.push({ kind: 'fail' }, { kind: 'fail' }, { kind: 'fail' }), 11_100);
    appearsAt(h, s, 16_000, null);
    const result = await h.finish(s, p);
    expect(h.broker.venue.get(sentId(h))?.status).toBe('cancelled');
    expect(result.status).toBe('cancelled');
    expect(result.reconciliation?.status).toBe('matched');
  });

  it('an order that never appears: the watch lasts to the deadline, not one look-up, and the outcome is flagged as uncertain', async () => {
    const h = harness({ push: false, durability: 'openOrdersOnly' });
    const s = snapshot();
    const startedAt = h.clock.now();
    h.broker.script.submit.push({ kind: 'hang' });
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' }), 11_000);
    const result = await h.finish(s, p);
    expect(result.status).toBe('cancelled');
    expect(result.filledQuantity).toBe(0);
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.mismatches.map((m) => m.field)).toContain('order.outcome');
    const lookups = h.broker.callsOf('getOrder').filter((c) => c.at >= startedAt + 11_000);
    // Looked up until the window closed, never after it.
    expect(Math.max(...lookups.map((c) => c.at))).toBeGreaterThanOrEqual(startedAt + HARD_TIMEOUT_MS - 2_500);
    expect(lookups.filter((c) => c.at > startedAt + HARD_TIMEOUT_MS + 5_000)).toEqual([]);
  });
});
