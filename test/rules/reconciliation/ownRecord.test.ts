/**
 * Rule 6 judges the execution's own record as well as the venue's: an unprotected fill is flagged
 * even when the position at the broker looks protected (by another execution's orders), and a
 * venue that fills more than approved is flagged, every difference listed.
 */
import { describe, expect, it } from 'vitest';
import { rules } from '../../../src/index.js';
import { harness, snapshot } from '../../support/fixtures.js';

describe('rule 6 judges the execution’s own record', () => {
  it('two executions on one symbol, the second’s protection refused: flagged, though the position shows the first’s SL/TP', async () => {
    const h = harness();
    h.fillOnAccept(500, 1.1);
    const first = await h.finish(snapshot({ advisoryId: 'first' }));
    expect(first.status).toBe('filled');
    expect(first.requiresManualResolution).toBe(false);
    h.broker.script.protection.push({ kind: 'refuse', reason: 'too many open orders' });
    const second = await h.finish(snapshot({ advisoryId: 'second' }));
    expect(second.status).toBe('filled');
    expect(second.protectionPlaced).toBe(false);
    expect(second.requiresManualResolution).toBe(true);
    expect(second.reconciliation?.mismatches.map((m) => m.field)).toContain('protection');
  });

  it('a broker answering "placed" for quantity 0: flagged, the unprotected quantity named', async () => {
    const h = harness();
    h.fillOnAccept(500, 1.1);
    const broker = h.broker;
    const real = broker.placeProtection.bind(broker);
    broker.placeProtection = async (req) => ({ ...(await real(req)), quantity: 0 });
    const result = await h.finish(snapshot());
    expect(result.requiresManualResolution).toBe(true);
    const m = result.reconciliation?.mismatches.find((x) => x.field === 'protection.quantity');
    expect(m).toMatchObject({ expected: 10, actual: 0 });
  });

  it('a venue filling 150 of 100: flagged as overfilled, never a plain filled', async () => {
    const h = harness({ push: false });
    // A venue that answers, consistently everywhere, that it filled 15 of the 10 ordered.
    const over = { status: 'filled' as const, filledQuantity: 15, averageFillPrice: 1.1 };
    const b = h.broker;
    const [submit, getOrder, getPosition] = [b.submitOrder.bind(b), b.getOrder.bind(b), b.getPosition.bind(b)];
    b.submitOrder = async (req) => ({ ...(await submit(req)), ...over });
    b.getOrder = async (ref) => ({ ...(await getOrder(ref))!, ...over });
    b.getPosition = async (symbol) => ({ ...(await getPosition(symbol)), quantity: 15, averagePrice: 1.1, stopLoss: 1.089, takeProfit: 1.122 });
    b.placeProtection = async (req) => ({ clientOrderId: req.clientOrderId, status: 'placed', stopLoss: req.stopLoss, takeProfit: req.takeProfit, quantity: req.quantity });
    const result = await h.run(h.engine.execute(snapshot()));
    expect(result.filledQuantity).toBe(15);
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.mismatches.map((m) => m.field)).toEqual(['order.overfilled']);
  });
});

describe('diffReconciliation: the own-record checks, unit by unit', () => {
  const order = { clientOrderId: 'c', brokerOrderId: 'b', status: 'filled' as const, filledQuantity: 10, averageFillPrice: 1.1 };
  const protection = { stopLoss: 1.089, takeProfit: 1.122 };
  const expected = { symbol: 'EURUSD', side: 'buy' as const, positionSize: 10, order, priorPositionQuantity: 0, protection, protectedQuantity: 10, priceTick: null, outcomeUncertain: false, protectionFailure: null };
  const observed = { order, position: { symbol: 'EURUSD', quantity: 10, averagePrice: 1.1, ...protection } };

  it('all of it right: matched', () => {
    expect(rules.diffReconciliation(expected, observed).status).toBe('matched');
  });
  it('protection failed for this execution: missing_sl_tp even if the venue shows levels', () => {
    const r = rules.diffReconciliation({ ...expected, protectedQuantity: 0, protectionFailure: 'refused' }, observed);
    expect(r.status).toBe('missing_sl_tp');
    expect(r.mismatches.map((m) => m.field)).toEqual(['protection']);
  });
  it('protected more than filled: listed', () => {
    const r = rules.diffReconciliation({ ...expected, protectedQuantity: 12 }, observed);
    expect(r.mismatches.map((m) => m.field)).toEqual(['protection.quantity']);
  });
  it('filled above the approved size: listed beside every other difference', () => {
    const big = { ...order, filledQuantity: 15 };
    const r = rules.diffReconciliation({ ...expected, order: big, protectedQuantity: 15 }, { order: big, position: { ...observed.position, quantity: 15 } });
    expect(r.mismatches.map((m) => m.field)).toEqual(['order.overfilled']);
    expect(r.status).toBe('mismatch');
  });
});
