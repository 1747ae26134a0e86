import { describe, expect, it } from 'vitest';
import { HARD_TIMEOUT_MS } from '../../../src/index.js';
import { harness, snapshot, T0 } from '../../support/fixtures.js';


describe('rule 4: hard 30 s timeout, late fills valid', () => {
  it('HARD_TIMEOUT_MS is 30 000 and an engine option cannot raise it', async () => {
    expect(HARD_TIMEOUT_MS).toBe(30_000);
    const h = harness({ engine: { timeoutMs: 120_000, hardTimeoutMs: 120_000 } as never });
    const result = await h.run(h.engine.execute(snapshot()));
    expect(result.status).toBe('failed_timeout');
    expect(h.broker.callsOf('cancelOrder')[0]!.at - T0).toBe(HARD_TIMEOUT_MS);
  });

  it('nothing filled in 30 s → cancel, final-state query, failed_timeout, reconciled', async () => {
    const h = harness();
    const s = snapshot();
    const result = await h.finish(s);
    expect(result.status).toBe('failed_timeout');
    expect(result.error?.code).toBe('timeout');
    const cancel = h.broker.callsOf('cancelOrder');
    expect(cancel).toHaveLength(1);
    // The clock starts at the first submission and the cancel goes out at the deadline.
    expect(cancel[0]!.at - h.broker.callsOf('submitOrder')[0]!.at).toBe(HARD_TIMEOUT_MS);
    const afterCancel = h.broker.calls.slice(h.broker.calls.indexOf(cancel[0]!) + 1).map((c) => c.method);
    expect(afterCancel).toEqual(['getOrder', 'getOrder', 'getPosition']); // final-state query, then reconciliation
    expect(result.reconciliation?.status).toBe('matched');
  });

  it('a fill just before the deadline is filled, not late', async () => {
    const h = harness();
    const s = snapshot();
    h.fillOnAccept(HARD_TIMEOUT_MS - 100, 1.1);
    expect((await h.finish(s)).status).toBe('filled');
  });

  it('a fill that lands after the deadline (cancel too late) is valid: executed_full_late, protected, reconciled', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.cancel.push({ kind: 'tooLate', price: 1.1003 });
    const result = await h.finish(s);
    expect(result.status).toBe('executed_full_late');
    expect(result.error).toBeNull();
    expect(result.fillPrice).toBe(1.1003);
    expect(result.protectionPlaced).toBe(true);
    expect(result.stopLoss).toBe(Number((1.1003 * 0.99).toPrecision(12)));
    expect(result.reconciliation?.status).toBe('matched');
    expect(result.requiresManualResolution).toBe(false);
  });

  it('a fill reported only by the final-state query after a lost cancel answer is still a position', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.cancel.push({ kind: 'fail' });
    // The venue fills right as the deadline passes; the cancel's answer is lost.
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fillRemaining(o.clientOrderId, 1.1), HARD_TIMEOUT_MS - 10 + 5));
    const result = await h.finish(s);
    expect(result.status).toBe('executed_full_late');
    expect(result.filledQuantity).toBe(10);
    expect(result.protectionPlaced).toBe(true);
  });

  it('partial fill at the deadline: remainder cancelled, the part protected at its own average', async () => {
    const h = harness();
    const s = snapshot({ side: 'sell' });
    h.broker.onAccepted((o) => {
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 2, 1.0998), 1_000);
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 1, 1.0994), 2_000);
    });
    const result = await h.finish(s);
    expect(result.status).toBe('partially_filled');
    expect(result.filledQuantity).toBe(3);
    const avg = (2 * 1.0998 + 1 * 1.0994) / 3;
    expect(result.fillPrice).toBeCloseTo(avg, 12);
    expect(result.stopLoss).toBe(Number((result.fillPrice! * 1.01).toPrecision(12)));
    expect(result.takeProfit).toBe(Number((result.fillPrice! * 0.98).toPrecision(12)));
    expect(h.broker.venue.get(result.clientOrderId!)?.status).toBe('cancelled');
    expect(h.broker.venue.position('EURUSD').quantity).toBe(-3);
    expect(result.reconciliation?.status).toBe('matched');
  });

  it('a submit still hanging at the deadline is not waited for: cancel by clientOrderId, ask, and flag if unknown', async () => {
    const h = harness();
    const s = snapshot();
    // Every send hangs: each is given up after its own time limit (an unknown outcome, looked up),
    // and the last is still in flight at the deadline.
    for (let i = 0; i < 5; i++) h.broker.script.submit.push({ kind: 'hang' });
    const result = await h.finish(s);
    expect(result.status).toBe('failed_timeout');
    expect(h.clock.now() - T0).toBeLessThan(HARD_TIMEOUT_MS + 1_000);
    // Nobody can say whether that request will still land: a human must look.
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.mismatches.map((m) => m.field)).toContain('order.outcome');
    // The result is final: the request still unanswered is an unknown outcome, not one still waited for.
    const last = result.attempts.at(-1)!;
    expect(last).toMatchObject({ kind: 'submit', outcome: 'unknown' });
    expect(last.error).toMatch(/may exist/);
    expect(result.attempts.some((a) => a.outcome === 'in_flight')).toBe(false);
  });

  it('a hung submit that the venue did accept is found by the final-state query and handled as an order', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'hang', accept: true });
    const result = await h.finish(s);
    expect(result.status).toBe('failed_timeout');
    expect(h.broker.venue.get(result.clientOrderId!)?.status).toBe('cancelled');
    expect(result.requiresManualResolution).toBe(false);
  });

  it('an order the broker cancels by itself with nothing filled ends failed, reconciled', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.venue.cancel(o.clientOrderId), 1_000));
    const result = await h.finish(s);
    expect(result.status).toBe('failed');
    expect(h.clock.now() - T0).toBeLessThan(5_000);
  });
});
