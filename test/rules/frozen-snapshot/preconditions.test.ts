import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { harness, iso, rawSnapshot, snapshot, T0 } from '../../support/fixtures.js';

describe('preconditions: refused before anything is sent', () => {
  const cases: [string, unknown, string][] = [
    ['invalid snapshot', rawSnapshot({ positionSize: 'ten' }), 'invalid_snapshot'],
    ['expired snapshot', rawSnapshot({ expiresAt: iso(T0 - 1), createdAt: iso(T0 - 200_000), approval: { approvedBy: 'a', approvedAt: iso(T0 - 100_000) } }), 'snapshot_expired'],
    ['no approval', rawSnapshot({ approval: undefined }), 'not_approved'],
    ['null approval', rawSnapshot({ approval: null }), 'not_approved'],
    ['approval dated in the future', rawSnapshot({ approval: { approvedBy: 'a', approvedAt: iso(T0 + 60_000) } }), 'not_approved'],
    ['tampered snapshot', { ...snapshot(), hash: 'f'.repeat(64) }, 'snapshot_tampered'],
  ];
  for (const [name, input, code] of cases) {
    it(`${name} → rejected/${code}, no broker call`, async () => {
      const { engine, broker, run } = harness();
      const result = await run(engine.execute(input));
      expect(result.status).toBe('rejected');
      expect(result.error?.code).toBe(code);
      expect(broker.calls).toHaveLength(0);
      expect(result.reconciliation).toBeNull();
    });
  }

  it('kill switch active or warning → rejected/kill_switch_active with phase before', async () => {
    for (const state of ['warning', 'active'] as const) {
      const { engine, broker, run } = harness();
      engine.killSwitch.set(state, { reason: 'test', operator: 'ops' });
      const result = await run(engine.execute(snapshot()));
      expect(result.status).toBe('rejected');
      expect(result.error?.code).toBe('kill_switch_active');
      expect(result.killSwitch).toEqual({ state, phase: 'before' });
      expect(broker.calls).toHaveLength(0);
    }
  });

  it('a symbol kill switch blocks only its symbol', async () => {
    const { engine, broker, run, fillOnAccept } = harness();
    fillOnAccept(50, 1.3);
    engine.killSwitch.set('active', { symbol: 'EURUSD', reason: 'news', operator: 'ops' });
    expect((await run(engine.execute(snapshot()))).error?.code).toBe('kill_switch_active');
    const other = await run(engine.execute(snapshot({ advisoryId: 'adv-2', symbol: 'GBPUSD', referencePrice: 1.3 })));
    expect(other.status).toBe('filled');
    expect(broker.callsOf('submitOrder')).toHaveLength(1);
  });

  it('the same advisory executes at most once (duplicate_advisory), even with different content', async () => {
    const { engine, broker, run, fillOnAccept } = harness();
    fillOnAccept(50, 1.1);
    expect((await run(engine.execute(snapshot()))).status).toBe('filled');
    const again = await run(engine.execute(snapshot({ positionSize: 5 })));
    expect(again.status).toBe('rejected');
    expect(again.error?.code).toBe('duplicate_advisory');
    expect(broker.callsOf('submitOrder')).toHaveLength(1);
  });

  it('two concurrent executions of one advisory send one order', async () => {
    const { engine, broker, run, fillOnAccept } = harness();
    fillOnAccept(50, 1.1);
    const [a, b] = await run(Promise.all([engine.execute(snapshot()), engine.execute(snapshot())]));
    expect([a.status, b.status].sort()).toEqual(['filled', 'rejected']);
    expect(broker.callsOf('submitOrder')).toHaveLength(1);
  });

  it('a refused advisory (e.g. kill switch) is not consumed: it may run once the switch is off', async () => {
    const { engine, run, fillOnAccept } = harness();
    fillOnAccept(50, 1.1);
    engine.killSwitch.set('active', { reason: 'pause', operator: 'ops' });
    expect((await run(engine.execute(snapshot()))).status).toBe('rejected');
    engine.killSwitch.set('off', { reason: 'resume', operator: 'ops' });
    expect((await run(engine.execute(snapshot()))).status).toBe('filled');
  });

  it('garbage of every JSON shape → rejected/invalid_snapshot, no throw, no broker call', async () => {
    const { engine, broker, run } = harness();
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const result = await run(engine.execute(value));
        expect(result.status).toBe('rejected');
        expect(result.error?.code).toBe('invalid_snapshot');
      }),
      { seed: 42, numRuns: 200 },
    );
    for (const odd of [undefined, null, NaN, Infinity, -0, 1e308, () => 1, Symbol('x'), new Date(), [rawSnapshot()], 'adv-1']) {
      const result = await run(engine.execute(odd));
      expect(result.status).toBe('rejected');
      expect(result.error?.code).toBe('invalid_snapshot');
    }
    expect(broker.calls).toHaveLength(0);
  });

  it('hostile objects (throwing getters, proxies, __proto__ keys) are rejected without throwing', async () => {
    const { engine, broker, run } = harness();
    const throwing = Object.defineProperty(rawSnapshot(), 'symbol', { get() { throw new Error('boom'); }, enumerable: true });
    const proxy = new Proxy(rawSnapshot(), { ownKeys() { throw new Error('no keys'); } });
    const polluted = JSON.parse(JSON.stringify(rawSnapshot()).replace('{', '{"__proto__":{"polluted":1},'));
    const nested = rawSnapshot({ reasoningContext: JSON.parse('{"a":{"__proto__":{"x":1}}}') });
    for (const input of [throwing, proxy, polluted, nested]) {
      const result = await run(engine.execute(input));
      expect(result.status).toBe('rejected');
      expect(result.error?.code).toBe('invalid_snapshot');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(broker.calls).toHaveLength(0);
  });

  it('numbers out of range are refused: NaN, ±Infinity, 0, -0, 1e308', async () => {
    const { engine, run } = harness();
    for (const n of [NaN, Infinity, -Infinity, 0, -0, 1e308]) {
      const result = await run(engine.execute(rawSnapshot({ positionSize: n })));
      expect(result.error?.code, String(n)).toBe('invalid_snapshot');
    }
  });
});
