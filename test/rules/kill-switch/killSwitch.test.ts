import { describe, expect, it } from 'vitest';
import { WardenUsageError } from '../../../src/index.js';
import { KillSwitchBoard } from '../../../src/engine/killSwitch.js';
import { harness, snapshot } from '../../support/fixtures.js';


describe('rule 3: kill switch DURING', () => {
  it('active while the order works: cancels it; nothing filled → cancelled', async () => {
    const h = harness();
    const s = snapshot();
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' }), 2_000);
    const result = await h.finish(s, p);
    expect(result.status).toBe('cancelled');
    expect(result.killSwitch).toEqual({ state: 'active', phase: 'during' });
    expect(h.broker.callsOf('cancelOrder')).toHaveLength(1);
    expect(result.reconciliation?.status).toBe('matched');
  });

  it('reaches the order at once, not at the next poll', async () => {
    const h = harness({ pollIntervalMs: 10_000 });
    const s = snapshot();
    const p = h.engine.execute(s);
    const killAt = Date.parse('2026-11-24T10:00:01.000Z');
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' }), 1_000);
    await h.finish(s, p);
    expect(h.broker.callsOf('cancelOrder')[0]!.at).toBe(killAt);
  });

  it('active with a partial fill: cancels the rest, protects the part at its own average', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 4, 1.1002), 500));
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { symbol: 'EURUSD', reason: 'news', operator: 'ops' }), 2_000);
    const result = await h.finish(s, p);
    expect(result.status).toBe('partially_filled');
    expect(result.filledQuantity).toBe(4);
    expect(result.fillPrice).toBe(1.1002);
    expect(result.stopLoss).toBe(Number((1.1002 * 0.99).toPrecision(12)));
    expect(result.protectionPlaced).toBe(true);
    expect(h.broker.venue.position('EURUSD')).toMatchObject({ quantity: 4, stopLoss: result.stopLoss, takeProfit: result.takeProfit });
  });

  it('cancel/fill race ("too late to cancel"): the fill wins and is protected', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.cancel.push({ kind: 'tooLate', price: 1.1001 });
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' }), 1_000);
    const result = await h.finish(s, p);
    expect(result.status).toBe('filled');
    expect(result.killSwitch.phase).toBe('during');
    expect(result.protectionPlaced).toBe(true);
    expect(result.reconciliation?.status).toBe('matched');
  });

  it('warning while the order works leaves it alone (reduce only)', async () => {
    const h = harness();
    const s = snapshot();
    h.fillOnAccept(5_000, 1.1);
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('warning', { reason: 'careful', operator: 'ops' }), 1_000);
    const result = await h.finish(s, p);
    expect(result.status).toBe('filled');
    expect(result.killSwitch).toEqual({ state: 'warning', phase: 'during' });
    expect(h.broker.callsOf('cancelOrder')).toHaveLength(0);
  });

  it('active during an in-flight submit: waits for the answer, then cancels', async () => {
    const h = harness({ latencyMs: 1_000 });
    const s = snapshot();
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' }), 500);
    const result = await h.finish(s, p);
    expect(result.status).toBe('cancelled');
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(h.broker.callsOf('cancelOrder')).toHaveLength(1);
    expect(h.broker.venue.get(result.clientOrderId!)?.status).toBe('cancelled');
  });

  it('between retries: no resend once the switch is set', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'fail' }); // never reached the venue
    const p = h.engine.execute(s);
    // The look-up answers at ~+30 ms; the switch arrives during the pause before the resend.
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' }), 25);
    const result = await h.finish(s, p);
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(result.status).toBe('cancelled');
    expect(result.error?.code).toBe('kill_switch_active');
  });
});

describe('rule 3: kill switch AFTER a fill', () => {
  it('never closes the position, and still places protection', async () => {
    const h = harness();
    const s = snapshot();
    h.fillOnAccept(100, 1.1);
    h.broker.onAccepted(() => h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'after', operator: 'ops' }), 105));
    const result = await h.finish(s);
    expect(result.status).toBe('filled');
    expect(result.killSwitch).toEqual({ state: 'active', phase: 'after' });
    expect(result.protectionPlaced).toBe(true);
    // Only the one entry order was ever sent: nothing closed the position.
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(h.broker.callsOf('cancelOrder')).toHaveLength(0);
    expect(h.broker.venue.position('EURUSD').quantity).toBe(10);
  });
});

describe('kill switch board', () => {
  const board = () => new KillSwitchBoard(() => Date.parse('2026-11-24T10:00:00Z'));

  it('effective state is the more severe of global and symbol', () => {
    const b = board();
    b.set('warning', { reason: 'r', operator: 'o' });
    b.set('active', { symbol: 'EURUSD', reason: 'r', operator: 'o' });
    expect(b.state()).toBe('warning');
    expect(b.state('EURUSD')).toBe('active');
    expect(b.state('GBPUSD')).toBe('warning');
  });

  it('records who, when, why, from and to for every change', () => {
    const b = board();
    b.set('active', { symbol: 'EURUSD', type: 'risk_limit', reason: 'loss limit', operator: 'risk-bot' });
    b.set('off', { symbol: 'EURUSD', reason: 'reviewed', operator: 'carol' });
    expect(b.history()).toEqual([
      { at: '2026-11-24T10:00:00.000Z', symbol: 'EURUSD', from: 'off', to: 'active', type: 'risk_limit', reason: 'loss limit', operator: 'risk-bot', hold: { kind: 'operator', key: '', action: 'raise', state: 'active' }, remaining: [] },
      { at: '2026-11-24T10:00:00.000Z', symbol: 'EURUSD', from: 'active', to: 'off', type: 'symbol_level', reason: 'reviewed', operator: 'carol', hold: { kind: 'operator', key: '', action: 'lift', state: 'off' }, remaining: [] },
    ]);
  });

  it('turning a switch off needs an operator; bad input changes nothing', () => {
    const b = board();
    b.set('active', { reason: 'r', operator: 'o' });
    expect(() => b.set('off', { reason: 'r' })).toThrow(WardenUsageError);
    expect(() => b.set('off', { reason: 'r', operator: '  ' })).toThrow(/operator/);
    expect(() => b.set('paused' as never, { reason: 'r', operator: 'o' })).toThrow(/off, warning or active/);
    expect(() => b.set('active', { reason: '', operator: 'o' })).toThrow(/reason/);
    expect(() => b.set('active', { symbol: 'eur usd', reason: 'r', operator: 'o' })).toThrow(/symbol/);
    expect(b.state()).toBe('active');
    expect(b.history()).toHaveLength(1);
  });

  it('every change is journaled', async () => {
    const h = harness();
    h.engine.killSwitch.set('warning', { reason: 'r', operator: 'o' });
    const records = await h.engine.journal.records();
    expect(records.filter((r) => r.kind === 'kill_switch')).toHaveLength(1);
    expect(h.engine.killSwitch.history()).toHaveLength(1);
  });
});
