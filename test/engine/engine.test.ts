import { SimulatedClock } from 'xstate';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEngine, HARD_TIMEOUT_MS, PaperBroker, type BrokerAdapter } from '../../src/index.js';
import { harness, silentLogger, snapshot, T0 } from '../support/fixtures.js';

const markets = { EURUSD: { price: 1.1, fillAfterMs: 300 }, GBPUSD: { price: 1.3, noLiquidity: true } };

describe('engine: time', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('uses the global timers by default, so vitest fake timers drive it (fill and 30 s timeout, no real waiting)', async () => {
    vi.useFakeTimers({ now: T0 });
    const engine = createEngine({ broker: new PaperBroker({ markets }), logger: silentLogger() });
    const filled = engine.execute(snapshot());
    const timedOut = engine.execute(snapshot({ advisoryId: 'adv-2', symbol: 'GBPUSD', referencePrice: 1.3 }));
    // In steps, as a host would: the engine lets queued work in on the real event loop (its loop
    // budget), so one jump of 35 s could pass before a timer it is about to arm exists.
    let settled = false;
    const both = Promise.all([filled, timedOut]).finally(() => (settled = true));
    for (let step = 0; step < 400 && !settled; step++) await vi.advanceTimersByTimeAsync(100);
    const [a, b] = await both;
    expect(a.status).toBe('filled');
    expect(b.status).toBe('failed_timeout');
    expect(b.durationMs).toBeGreaterThanOrEqual(HARD_TIMEOUT_MS);
  });

  it('runs on XState\'s SimulatedClock', async () => {
    const clock = new SimulatedClock();
    clock.set(T0);
    const engine = createEngine({ broker: new PaperBroker({ clock, markets }), clock, logger: silentLogger() });
    let done = false;
    const p = engine.execute(snapshot({ advisoryId: 'adv-9', symbol: 'GBPUSD', referencePrice: 1.3 })).finally(() => (done = true));
    for (let i = 0; i < 1_000 && !done; i++) {
      clock.increment(50);
      await new Promise((r) => setImmediate(r));
    }
    const result = await p;
    expect(result.status).toBe('failed_timeout');
    expect(Date.parse(result.finishedAt) - T0).toBeGreaterThanOrEqual(HARD_TIMEOUT_MS);
  });
});

describe('engine: contract', () => {
  it('passes every inspection event to the inspect option (function or observer)', async () => {
    const seen: string[] = [];
    const h = harness({ engine: { inspect: (ev) => seen.push(ev.type) } });
    h.fillOnAccept(50, 1.1);
    await h.run(h.engine.execute(snapshot()));
    expect(seen).toContain('@xstate.snapshot');
    expect(seen).toContain('@xstate.microstep');
    const observed: string[] = [];
    const h2 = harness({ engine: { inspect: { next: (ev) => observed.push(ev.type) } } });
    await h2.run(h2.engine.execute(snapshot({ approval: null })));
    expect(observed.length).toBeGreaterThan(0);
  });

  it('never throws on a broken adapter: a failing push feed degrades to polling, journaled', async () => {
    const h = harness();
    h.fillOnAccept(1_200, 1.1);
    const broken = Object.create(h.broker, {
      subscribe: { get() { throw new Error('adapter bug'); } },
    }) as BrokerAdapter;
    const engine = createEngine({ broker: broken, clock: h.clock, logger: silentLogger() });
    const result = await h.run(engine.execute(snapshot()));
    expect(result.status).toBe('filled');
    const records = await engine.journal.records();
    expect(records.find((r) => r.event === 'xstate.error.actor.orderFeed')?.payload).toMatchObject({ event: { error: { message: 'adapter bug' } } });
    expect(h.broker.callsOf('getOrder').length).toBeGreaterThan(2); // found by polling
  });

  it('never throws when the broker throws synchronously instead of rejecting', async () => {
    const h = harness();
    const sync = Object.create(h.broker, {
      submitOrder: { value: () => { throw new TypeError('not a promise'); } },
    }) as BrokerAdapter;
    const engine = createEngine({ broker: sync, clock: h.clock, logger: silentLogger() });
    const result = await h.run(engine.execute(snapshot()));
    // A synchronous throw is an unknown outcome like any other: looked up, never assumed.
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('retries_exhausted');
    expect(result.attempts[0]).toMatchObject({ kind: 'submit', outcome: 'unknown' });
    expect(result.attempts[1]).toMatchObject({ kind: 'lookup', outcome: 'not_found' });
  });

  it('close() waits for running executions and refuses new ones', async () => {
    const h = harness();
    h.fillOnAccept(1_000, 1.1);
    const running = h.engine.execute(snapshot());
    const closing = h.engine.close();
    const [result] = await h.run(Promise.all([running, closing]));
    expect(result.status).toBe('filled');
    const late = await h.engine.execute(snapshot({ advisoryId: 'adv-late' }));
    expect(late.status).toBe('rejected');
    expect(late.error?.code).toBe('engine_closed');
  });

  it('the result carries every field, with ISO times and a duration from the clock', async () => {
    const h = harness();
    h.fillOnAccept(200, 1.1011);
    const r = await h.run(h.engine.execute(snapshot()));
    expect(Object.keys(r).sort()).toEqual([
      'advisoryId', 'attempts', 'brokerOrderId', 'clientOrderId', 'durationMs', 'error', 'executionId', 'fillPrice', 'filledQuantity',
      'finishedAt', 'killSwitch', 'protectionPlaced', 'reconciliation', 'requiresManualResolution', 'slippagePct', 'snapshotHash', 'startedAt',
      'status', 'stopLoss', 'takeProfit',
    ]);
    expect(r.startedAt).toBe('2026-11-24T10:00:00.000Z');
    expect(r.durationMs).toBe(Date.parse(r.finishedAt) - Date.parse(r.startedAt));
    expect(r.slippagePct).toBeCloseTo(0.1, 10);
    expect(r.clientOrderId).toMatch(/^wd-[0-9a-f]{24}$/);
    expect(r.brokerOrderId).toBe('P-1');
  });
});

describe('attempt tracking', () => {
  it('records each send with its number, time, stage and outcome', async () => {
    const h = harness();
    h.broker.script.submit.push({ kind: 'fail' });
    h.fillOnAccept(100, 1.1);
    const r = await h.run(h.engine.execute(snapshot()));
    expect(r.attempts.map((a) => ({ n: a.number, kind: a.kind, stage: a.stage, outcome: a.outcome, q: a.quantity }))).toEqual([
      { n: 1, kind: 'submit', stage: 'submitted', outcome: 'unknown', q: 10 },
      { n: 2, kind: 'lookup', stage: 'submitted', outcome: 'not_found', q: 0 },
      { n: 3, kind: 'submit', stage: 'pending', outcome: 'acknowledged', q: 10 },
    ]);
    expect(r.attempts[0]!.error).toMatch(/connection reset/);
    expect(Date.parse(r.attempts[2]!.at)).toBeGreaterThan(Date.parse(r.attempts[0]!.at));
  });

  it('a refusal before sending leaves no attempts', async () => {
    const h = harness();
    h.engine.killSwitch.set('active', { reason: 'r', operator: 'o' });
    expect((await h.run(h.engine.execute(snapshot()))).attempts).toEqual([]);
  });
});

describe('timeout controller', () => {
  it('the deadline is absolute from the first submission, not reset by retries', async () => {
    const h = harness();
    h.broker.script.submit.push({ kind: 'fail' }, { kind: 'fail' });
    const r = await h.run(h.engine.execute(snapshot()));
    expect(r.status).toBe('failed_timeout');
    expect(h.broker.callsOf('cancelOrder')[0]!.at - h.broker.callsOf('submitOrder')[0]!.at).toBe(HARD_TIMEOUT_MS);
  });

  it('a refused snapshot starts no clock', async () => {
    const h = harness();
    await h.run(h.engine.execute(snapshot({ approval: null })));
    expect(h.clock.pending).toBe(0);
  });

  it('a finished execution leaves no timer running', async () => {
    const h = harness();
    h.fillOnAccept(50, 1.1);
    await h.run(h.engine.execute(snapshot()));
    expect(h.clock.pending).toBe(0);
  });
});
