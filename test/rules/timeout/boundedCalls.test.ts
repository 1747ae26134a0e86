/**
 * No fault breaks a rule: every broker call has a time limit, anything thrown is classified, and
 * an answer about another order is never taken for ours. Whatever the broker does, `execute()`
 * settles, and a fill nobody could protect or confirm ends flagged.
 */
import { describe, expect, it } from 'vitest';
import { BROKER_CALL_LIMIT_MS, BrokerError, createEngine, HARD_TIMEOUT_MS, KillSwitchState, type BrokerAdapter, type OrderRef } from '../../../src/index.js';
import { classifyBrokerFailure } from '../../../src/broker/errors.js';
import { harness, silentLogger, snapshot, T0 } from '../../support/fixtures.js';

/** The longest a settled result may take after the hard deadline when every call hangs (docs/safety.md). */
const WORST_CASE_AFTER_DEADLINE_MS =
  3 * (BROKER_CALL_LIMIT_MS.cancelOrder + BROKER_CALL_LIMIT_MS.getOrder) + 2 * 500 + 3 * BROKER_CALL_LIMIT_MS.placeProtection + 2 * 500 + Math.max(BROKER_CALL_LIMIT_MS.getOrder, BROKER_CALL_LIMIT_MS.getPosition);

const hangs = <T>(n: number, step: T): T[] => Array.from({ length: n }, () => step);

describe('every broker call is bounded (rule 4, DESIGN §9)', () => {
  it('a cancel that never answers is given up after its limit; the final-state query decides, the next cancel lands', async () => {
    const h = harness();
    h.broker.script.cancel.push({ kind: 'hang' });
    const s = snapshot();
    const running = h.engine.execute(s);
    await h.clock.advance(1_000);
    h.engine.killSwitch.set(KillSwitchState.Active, { symbol: s.symbol, reason: 'news', operator: 'ops' });
    const result = await h.finish(s, running);
    expect(result.status).toBe('cancelled');
    expect(h.broker.callsOf('cancelOrder')).toHaveLength(2);
    expect(h.clock.now() - T0).toBeLessThan(1_000 + BROKER_CALL_LIMIT_MS.cancelOrder + 2_000);
  });

  it('cancels that never answer, an order that keeps working: settles after its bounded attempts, flagged', async () => {
    const h = harness();
    h.broker.script.cancel.push(...hangs(10, { kind: 'hang' as const }));
    const result = await h.finish(snapshot());
    expect(result.requiresManualResolution).toBe(true);
    expect(h.broker.callsOf('cancelOrder')).toHaveLength(3);
    expect(result.reconciliation?.mismatches.length).toBeGreaterThan(0);
  });

  it('a final-state query that never answers: outcome uncertain, reconciled, flagged — never waited on forever', async () => {
    const h = harness({ push: false });
    h.broker.script.getOrder.push(...hangs(200, { kind: 'hang' as const }));
    const result = await h.finish(snapshot());
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.status).toBe('unavailable');
    expect(h.clock.now() - T0).toBeLessThanOrEqual(HARD_TIMEOUT_MS + WORST_CASE_AFTER_DEADLINE_MS);
  });

  it('protection that never answers: tried within bounds, then the fill is flagged as unprotected', async () => {
    const h = harness();
    h.fillOnAccept(1_000, 1.1);
    h.broker.script.protection.push(...hangs(10, { kind: 'hang' as const }));
    const result = await h.finish(snapshot());
    expect(result.status).toBe('filled');
    expect(result.protectionPlaced).toBe(false);
    expect(result.requiresManualResolution).toBe(true);
    expect(h.broker.callsOf('placeProtection')).toHaveLength(3);
  });

  it('a position query that never answers: reconciliation unavailable, flagged', async () => {
    const h = harness();
    h.fillOnAccept(1_000, 1.1);
    h.broker.script.position.push({ kind: 'hang' });
    const result = await h.finish(snapshot());
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.status).toBe('unavailable');
  });

  it('every call hangs: execute() still settles within the documented worst case after the deadline, flagged', async () => {
    const h = harness({ push: false });
    h.broker.script.submit.push(...hangs(10, { kind: 'hang' as const, accept: true }));
    h.broker.script.cancel.push(...hangs(10, { kind: 'hang' as const }));
    h.broker.script.getOrder.push(...hangs(500, { kind: 'hang' as const }));
    h.broker.script.position.push(...hangs(10, { kind: 'hang' as const }));
    const result = await h.finish(snapshot());
    expect(result.requiresManualResolution).toBe(true);
    expect(h.clock.now() - T0).toBeLessThanOrEqual(HARD_TIMEOUT_MS + WORST_CASE_AFTER_DEADLINE_MS);
  });
});

describe('classifying a failure never throws (any value → unknown outcome)', () => {
  const revoked = () => {
    const p = Proxy.revocable({}, {});
    p.revoke();
    return p.proxy;
  };
  const hostile: [string, () => unknown][] = [
    ['a revoked Proxy', revoked],
    ['an object whose retryable getter throws', () => Object.defineProperty(new BrokerError('x', { retryable: false }), 'retryable', { get: () => { throw new Error('boom'); } })],
    ['an object whose message getter throws', () => Object.defineProperty(new Error('x'), 'message', { get: () => { throw new Error('boom'); } })],
    ['a Proxy that throws on every trap', () => new Proxy({}, { get: () => { throw new Error('trap'); }, getPrototypeOf: () => { throw new Error('trap'); } })],
    ['undefined', () => undefined],
    ['a symbol', () => Symbol('x')],
  ];

  for (const [name, make] of hostile) {
    it(`${name}: classified as unknown`, () => {
      expect(classifyBrokerFailure(make()).kind).toBe('unknown');
    });

    it(`${name} thrown by submitOrder: unknown outcome, looked up, then handled — never an internal error`, async () => {
      const h = harness();
      h.broker.script.submit.push({ kind: 'acceptThenFail', error: make() });
      h.fillOnAccept(500, 1.1);
      const result = await h.finish(snapshot());
      expect(result.error?.code).not.toBe('internal_error');
      expect(result.attempts[0]).toMatchObject({ kind: 'submit', outcome: 'unknown' });
      expect(result.attempts[1]).toMatchObject({ kind: 'lookup', outcome: 'found' });
      expect(result.status).toBe('filled');
      expect(result.protectionPlaced).toBe(true);
    });
  }
});

describe('an answer about another order is never taken for ours (rule 6)', () => {
  it('reconciliation getOrder naming another clientOrderId: flagged, not compared as ours', async () => {
    const h = harness();
    h.fillOnAccept(500, 1.1);
    // Once protection is placed, the venue answers every look-up with someone else's order.
    const broker = Object.create(h.broker, {
      getOrder: {
        value: (ref: OrderRef) =>
          h.broker.callsOf('placeProtection').length > 0
            ? Promise.resolve({ clientOrderId: 'someone-else', brokerOrderId: 'X', status: 'filled', filledQuantity: 10, averageFillPrice: 1.1 })
            : h.broker.getOrder(ref),
      },
    }) as BrokerAdapter;
    const engine = createEngine({ broker, clock: h.clock, logger: silentLogger() });
    const result = await h.run(engine.execute(snapshot()));
    expect(result.status).toBe('filled');
    expect(result.requiresManualResolution).toBe(true);
    expect(JSON.stringify(result.reconciliation?.mismatches)).toContain('someone-else');
  });

  it('a position answer for another symbol: flagged', async () => {
    const h = harness();
    h.fillOnAccept(500, 1.1);
    h.broker.script.position.push({ kind: 'report', report: { symbol: 'GBPUSD', quantity: 10, averagePrice: 1.1, stopLoss: 1.089, takeProfit: 1.122 } });
    const result = await h.finish(snapshot());
    expect(result.requiresManualResolution).toBe(true);
    expect(JSON.stringify(result.reconciliation?.mismatches)).toContain('GBPUSD');
  });
});
