import { describe, expect, it } from 'vitest';
import { rules } from '../../../src/index.js';
import { harness, snapshot } from '../../support/fixtures.js';
import { checkInvariants } from '../../support/invariants.js';

const { diffReconciliation } = rules;
const order = { clientOrderId: 'c', brokerOrderId: 'b', status: 'filled' as const, filledQuantity: 10, averageFillPrice: 1.1 };
const position = { symbol: 'EURUSD', quantity: 10, averagePrice: 1.1, stopLoss: 1.089, takeProfit: 1.122 };
const expected = { symbol: 'EURUSD', side: 'buy' as const, positionSize: 10, protectionFailure: null, order, priorPositionQuantity: 0, protection: { stopLoss: 1.089, takeProfit: 1.122 }, protectedQuantity: 10, priceTick: null, outcomeUncertain: false };

describe('rule 6: the reconciliation diff', () => {
  it('matched when everything agrees', () => {
    expect(diffReconciliation(expected, { order, position })).toEqual({ status: 'matched', mismatches: [] });
  });

  it('phantom_position: the broker holds a position Warden did not open', () => {
    const r = diffReconciliation({ ...expected, order: null, protection: null }, { order: null, position });
    expect(r.status).toBe('phantom_position');
  });

  it('missing_position: Warden filled but the broker shows nothing', () => {
    const r = diffReconciliation(expected, { order, position: { ...position, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null } });
    expect(r.status).toBe('missing_position');
  });

  it('missing_sl_tp: the position is there without its protection', () => {
    const r = diffReconciliation(expected, { order, position: { ...position, stopLoss: null } });
    expect(r.status).toBe('missing_sl_tp');
    expect(r.mismatches.map((m) => m.field)).toEqual(['position.stopLoss']);
  });

  it('lists every difference; none overwrites another', () => {
    const r = diffReconciliation(expected, {
      order: { ...order, status: 'partially_filled', filledQuantity: 9, averageFillPrice: 1.2 },
      position: { ...position, quantity: 9, averagePrice: 1.2, stopLoss: 1.0, takeProfit: null },
    });
    expect(r.mismatches.map((m) => m.field)).toEqual([
      'order.status', 'order.filledQuantity', 'order.averageFillPrice', 'order.open',
      'position.quantity', 'position.averagePrice', 'protection.quantity', 'position.stopLoss', 'position.takeProfit',
    ]);
    expect(r.status).toBe('missing_sl_tp');
  });

  it('a quantity filled after protection was placed is unprotected: missing_sl_tp', () => {
    const r = diffReconciliation({ ...expected, protectedQuantity: 6 }, { order, position });
    expect(r.status).toBe('missing_sl_tp');
    expect(r.mismatches).toEqual([expect.objectContaining({ field: 'protection.quantity', expected: 10, actual: 6 })]);
  });

  it('compares the snapshot\'s symbol only, and notices an answer for another symbol', () => {
    const r = diffReconciliation(expected, { order, position: { ...position, symbol: 'GBPUSD' } });
    expect(r.mismatches.map((m) => m.field)).toContain('position.symbol');
  });

  it('accounts for positions other executions hold on the symbol', () => {
    const r = diffReconciliation({ ...expected, priorPositionQuantity: -4 }, { order, position: { ...position, quantity: 6, averagePrice: 1.05 } });
    expect(r.status).toBe('matched');
  });

  it('a position between what was known when it was asked for and when it answered is explained; outside it is a difference', () => {
    // Another execution's +3 was heard while the venue answered: it measured 10 or 13, or anything
    // the other fills in between add up to; nothing else.
    const window = { ...expected, priorPositionQuantityAsked: 0, priorPositionQuantity: 3 };
    const at = (quantity: number) => diffReconciliation(window, { order, position: { ...position, quantity } });
    expect(at(10).status).toBe('matched');
    expect(at(13).status).toBe('matched');
    expect(at(11.5).status).toBe('matched');
    expect(at(14).status).toBe('mismatch');
    expect(at(9).status).toBe('mismatch');
    expect(at(14).mismatches[0]).toMatchObject({ field: 'position.quantity', expected: 13, actual: 14 });
    // The window closes the other way too (the other execution sold meanwhile).
    const selling = { ...expected, priorPositionQuantityAsked: 3, priorPositionQuantity: 0 };
    expect(diffReconciliation(selling, { order, position: { ...position, quantity: 13, averagePrice: 1.1 } }).status).toBe('matched');
    expect(diffReconciliation(selling, { order, position: { ...position, quantity: 7 } }).status).toBe('mismatch');
    // Without the window, only the one figure.
    expect(diffReconciliation({ ...expected, priorPositionQuantity: 3 }, { order, position }).status).toBe('mismatch');
  });

  it('tolerates tick rounding of protective levels but not a real difference', () => {
    expect(diffReconciliation(expected, { order, position: { ...position, stopLoss: 1.0890000001 } }).status).toBe('matched');
    expect(diffReconciliation(expected, { order, position: { ...position, stopLoss: 1.0891 } }).status).toBe('mismatch');
  });

  it('accepts a level the broker rounded to its declared tick, up or down, and nothing a tick or more away', () => {
    // ETH-like: fill 3123.45, SL 1 % below = 3092.2155, venue tick 0.01 rounds it to 3092.22 (1.5e-6 relative).
    const eth = { ...expected, protection: { stopLoss: 3092.2155, takeProfit: 3185.919 } };
    const at = (stopLoss: number) => ({ order, position: { ...position, stopLoss, takeProfit: 3185.92 } });
    expect(diffReconciliation(eth, at(3092.22)).status).toBe('mismatch'); // no tick declared: exact
    expect(diffReconciliation({ ...eth, priceTick: 0.01 }, at(3092.22)).status).toBe('matched');
    expect(diffReconciliation({ ...eth, priceTick: 0.01 }, at(3092.21)).status).toBe('matched');
    expect(diffReconciliation({ ...eth, priceTick: 0.01 }, at(3092.2)).mismatches).toEqual([
      expect.objectContaining({ field: 'position.stopLoss', expected: 3092.2155, actual: 3092.2 }),
    ]);
  });
});

describe('rule 6: reconciliation in the engine', () => {
  it('happens exactly once after a fill: one getOrder and one getPosition for the snapshot symbol', async () => {
    const h = harness({ pollIntervalMs: 60_000 });
    const s = snapshot();
    h.fillOnAccept(50, 1.1);
    const result = await h.run(h.engine.execute(s));
    checkInvariants({ result, snapshot: s, journal: await h.engine.journal.records(), venue: h.broker.venue });
    expect(h.broker.callsOf('getPosition').map((c) => c.args)).toEqual(['EURUSD']);
    const afterProtection = h.broker.calls.slice(h.broker.calls.findIndex((c) => c.method === 'placeProtection') + 1);
    expect(afterProtection.map((c) => c.method)).toEqual(['getOrder', 'getPosition']);
  });

  it('a mismatch flags the result, halts the symbol with a reconciliation warning and waits for resolve()', async () => {
    const h = harness();
    const s = snapshot();
    h.fillOnAccept(50, 1.1);
    h.broker.venue.setPosition('EURUSD', 3, 1.05); // someone traded this symbol by hand
    const result = await h.run(h.engine.execute(s));
    checkInvariants({ result, snapshot: s, journal: await h.engine.journal.records(), venue: h.broker.venue });
    expect(result.status).toBe('filled');
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.status).toBe('mismatch');
    expect(h.engine.killSwitch.state('EURUSD')).toBe('warning');
    expect(h.engine.killSwitch.history().at(-1)).toMatchObject({ symbol: 'EURUSD', to: 'warning', type: 'reconciliation' });
    expect(h.engine.awaitingResolution().map((r) => r.advisoryId)).toEqual(['adv-1']);

    // New orders on that symbol are refused until someone resolves it…
    const blocked = await h.run(h.engine.execute(snapshot({ advisoryId: 'adv-2' })));
    expect(blocked.error?.code).toBe('kill_switch_active');
    // …and Warden itself never "fixed" anything: no order beyond the one entry order.
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(h.broker.callsOf('cancelOrder')).toHaveLength(0);

    const resolved = h.engine.resolve('adv-1', { operator: 'carol', note: 'manual position confirmed' });
    expect(resolved.requiresManualResolution).toBe(false);
    expect(h.engine.killSwitch.state('EURUSD')).toBe('off');
    expect(h.engine.killSwitch.history().at(-1)).toMatchObject({ to: 'off', operator: 'carol' });
    expect(h.engine.awaitingResolution()).toEqual([]);
    expect((await h.engine.journal.records({ advisoryId: 'adv-1' })).some((r) => r.kind === 'resolution')).toBe(true);
  });

  it('resolve() refuses what is not waiting, and needs an operator and a note', async () => {
    const h = harness();
    expect(() => h.engine.resolve('nope', { operator: 'carol', note: 'x' })).toThrow(/no execution of advisory nope/);
    expect(() => h.engine.resolve('nope', { operator: '', note: 'x' })).toThrow(/operator/);
    expect(() => h.engine.resolve('nope', { operator: 'c', note: ' ' })).toThrow(/note/);
  });

  it('resolve() does not lower a stricter switch an operator set meanwhile', async () => {
    const h = harness();
    h.fillOnAccept(50, 1.1);
    h.broker.venue.setPosition('EURUSD', 3, 1.05);
    await h.run(h.engine.execute(snapshot()));
    h.engine.killSwitch.set('active', { symbol: 'EURUSD', type: 'manual', reason: 'investigating', operator: 'dave' });
    h.engine.resolve('adv-1', { operator: 'carol', note: 'ok' });
    expect(h.engine.killSwitch.state('EURUSD')).toBe('active');
  });

  it('protective orders lost by the broker are caught: missing_sl_tp, flagged', async () => {
    const h = harness();
    const s = snapshot();
    h.fillOnAccept(50, 1.1);
    h.broker.script.protection.push({ kind: 'lose' });
    const result = await h.run(h.engine.execute(s));
    expect(result.protectionPlaced).toBe(true);
    expect(result.reconciliation?.status).toBe('missing_sl_tp');
    expect(result.requiresManualResolution).toBe(true);
  });

  it('protection refused: the position is flagged unprotected and the symbol halted, never silent', async () => {
    const h = harness();
    const s = snapshot();
    h.fillOnAccept(50, 1.1);
    h.broker.script.protection.push({ kind: 'refuse', reason: 'reduce-only not allowed' });
    const result = await h.run(h.engine.execute(s));
    checkInvariants({ result, snapshot: s, journal: await h.engine.journal.records(), venue: h.broker.venue });
    expect(result.status).toBe('filled');
    expect(result.protectionPlaced).toBe(false);
    expect(result.error?.code).toBe('protection_failed');
    expect(result.reconciliation?.status).toBe('missing_sl_tp');
    expect(result.requiresManualResolution).toBe(true);
    expect(h.engine.killSwitch.state('EURUSD')).toBe('warning');
  });

  it('protection with an unknown outcome is retried with the same protective id', async () => {
    const h = harness();
    h.fillOnAccept(50, 1.1);
    h.broker.script.protection.push({ kind: 'fail' });
    const result = await h.run(h.engine.execute(snapshot()));
    const ids = h.broker.callsOf('placeProtection').map((c) => (c.args as { clientOrderId: string }).clientOrderId);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
    expect(result.protectionPlaced).toBe(true);
    expect(result.requiresManualResolution).toBe(false);
  });

  it('a failing reconciliation query is not repeated: status unavailable, flagged', async () => {
    const h = harness();
    h.fillOnAccept(50, 1.1);
    h.broker.script.position.push({ kind: 'fail' });
    const result = await h.run(h.engine.execute(snapshot()));
    expect(result.reconciliation?.status).toBe('unavailable');
    expect(result.requiresManualResolution).toBe(true);
    expect(h.broker.callsOf('getPosition')).toHaveLength(1);
  });

  it('nothing is reconciled when nothing was sent', async () => {
    const h = harness();
    const result = await h.run(h.engine.execute(snapshot({ approval: null })));
    expect(result.reconciliation).toBeNull();
    expect(h.broker.calls).toHaveLength(0);
  });

  it('a second execution on the same symbol reconciles against both fills', async () => {
    const h = harness();
    h.fillOnAccept(50, 1.1);
    const a = await h.run(h.engine.execute(snapshot()));
    const b = await h.run(h.engine.execute(snapshot({ advisoryId: 'adv-2', side: 'sell', positionSize: 4 })));
    expect(a.reconciliation?.status).toBe('matched');
    expect(b.reconciliation?.mismatches.map((m) => m.field)).not.toContain('position.quantity');
  });
});
