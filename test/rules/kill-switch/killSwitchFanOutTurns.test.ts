/**
 * The kill switch's fan-out, spread over turns of the event loop (issue 29): it decides and sends
 * a few ms' worth of cancels per turn, then tells a few ms' worth of executions per turn, so no
 * turn holds the loop for the whole fleet. Spread out, it must still request every cancel, and
 * tell every execution, before anything is taken in, ask each order once, and journal every order
 * it asks for. The fan-out's clock is made to race here (each look at the time is a millisecond
 * later), so that 60 executions take many turns, whatever the machine.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createEngine, type BrokerAdapter, type ExecutionResult, type JournalRecord, type OrderRef, type OrderReport, type PositionReport } from '../../../src/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

/** Acknowledges, never fills, answers at once; logs every cancel it is asked for. */
class QuickVenue implements BrokerAdapter {
  readonly name = 'quick-venue';
  readonly cancelled = new Set<string>();
  readonly cancelCalls: string[] = [];
  cancelOrders?: (refs: readonly OrderRef[]) => Promise<OrderReport[]>;
  constructor(
    private readonly log: string[],
    batch: boolean,
  ) {
    if (batch) this.cancelOrders = (refs) => Promise.resolve(refs.map((r) => this.take(r)));
  }
  private take(ref: OrderRef): OrderReport {
    this.log.push(`cancel requested ${ref.clientOrderId}`);
    this.cancelCalls.push(ref.clientOrderId);
    this.cancelled.add(ref.clientOrderId);
    return this.report(ref.clientOrderId);
  }
  report(clientOrderId: string): OrderReport {
    return { clientOrderId, brokerOrderId: `V-${clientOrderId}`, status: this.cancelled.has(clientOrderId) ? 'cancelled' : 'pending', filledQuantity: 0, averageFillPrice: null };
  }
  submitOrder(req: { clientOrderId: string }): Promise<OrderReport> {
    return Promise.resolve(this.report(req.clientOrderId));
  }
  cancelOrder(ref: OrderRef): Promise<OrderReport> {
    return Promise.resolve(this.take(ref));
  }
  getOrder(ref: OrderRef): Promise<OrderReport | null> {
    return Promise.resolve(this.report(ref.clientOrderId));
  }
  getPosition(symbol: string): Promise<PositionReport> {
    return Promise.resolve({ symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null });
  }
  placeProtection(): never {
    throw new Error('nothing ever fills here');
  }
}

const N = 60;
const SYMBOLS = ['EURUSD', 'GBPUSD'];

/** `N` working orders on two symbols; `switches` sets the switch (in one turn); the log holds the venue's cancels and what each execution received after it. */
async function fanOutOver(batch: boolean, switches: (engine: ReturnType<typeof createEngine>) => void) {
  const clock = new VirtualClock(T0);
  const log: string[] = [];
  let watching = false;
  const inspect = (ev: InspectionEvent) => {
    if (!watching || ev.type !== '@xstate.event' || ev.actorRef.sessionId !== ev.rootId) return;
    const type = (ev.event as { type: string }).type;
    log.push(type === 'KILL_SWITCH' ? `told ${ev.rootId}` : `received ${type} ${ev.rootId}`);
  };
  const venue = new QuickVenue(log, batch);
  const engine = createEngine({ broker: venue, clock, logger: silentLogger(), pollIntervalMs: 500, inspect });
  const started: Promise<ExecutionResult>[] = [];
  for (let i = 0; i < N; i++) started.push(engine.execute(snapshot({ advisoryId: `adv-${i}`, symbol: SYMBOLS[i % 2] })));
  await clock.advance(100); // every order acknowledged and working
  watching = true;
  // From here on, each look at the time is a millisecond after the last.
  let fake = performance.now();
  vi.spyOn(performance, 'now').mockImplementation(() => (fake += 1));
  switches(engine);
  const inSet = { cancels: venue.cancelCalls.length, told: log.filter((l) => l.startsWith('told')).length };
  const results = await clock.run(Promise.all(started));
  vi.restoreAllMocks();
  watching = false;
  const records = await engine.journal.records();
  await engine.close();
  return { log, results, venue, inSet, records };
}

/** The orders named by the fan-out's `cancelOrders` request records, one list per record. */
const batchRecords = (records: readonly JournalRecord[]) =>
  records.filter((r) => r.kind === 'broker.request' && r.event === 'cancelOrders').map((r) => (r.payload as { orders: { clientOrderId: string }[] }).orders.map((o) => o.clientOrderId));

/** Every cancel requested, and every execution told, before anything is taken in; with one change, every cancel before the first tell. */
function expectOrder(log: string[], oneChange: boolean) {
  const firstReceived = log.findIndex((l) => l.startsWith('received'));
  const lastCancel = log.findLastIndex((l) => l.startsWith('cancel requested'));
  const lastTold = log.findLastIndex((l) => l.startsWith('told'));
  expect(firstReceived).toBeGreaterThanOrEqual(0);
  expect(lastCancel).toBeLessThan(firstReceived);
  expect(lastTold, `first taken in: ${log[firstReceived]}`).toBeLessThan(firstReceived);
  if (oneChange) expect(lastCancel).toBeLessThan(log.findIndex((l) => l.startsWith('told')));
}

describe('kill switch fan-out over several turns of the event loop', () => {
  afterEach(() => vi.restoreAllMocks());

  for (const batch of [false, true]) {
    it(`${batch ? 'batch cancel' : 'one cancel per order'}: asked over several turns, one record per turn, every cancel requested and every execution told before anything is taken in`, async () => {
      const { log, results, venue, inSet, records } = await fanOutOver(batch, (engine) => engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' }));
      // set() did the first turn's share and no more; nobody was told inside it.
      expect(inSet.cancels).toBeGreaterThan(0);
      expect(inSet.cancels).toBeLessThan(N);
      expect(inSet.told).toBe(0);
      // Every order asked once, each named by exactly one request record, over several records.
      expect(venue.cancelCalls).toHaveLength(N);
      expect(new Set(venue.cancelCalls).size).toBe(N);
      const named = batchRecords(records);
      expect(named.length).toBeGreaterThan(1);
      expect(named.flat().sort()).toEqual([...venue.cancelCalls].sort());
      // Told over several turns too: each told once, after the last cancel, before anything else.
      expect(log.filter((l) => l.startsWith('told'))).toHaveLength(N);
      expectOrder(log, true);
      for (const r of results) expect(r.status).toBe('cancelled');
    });
  }

  it('a second change while the first is still being fanned out: the first finishes, nobody is asked twice, everyone told of both in order', async () => {
    const { log, results, venue, records } = await fanOutOver(false, (engine) => {
      engine.killSwitch.set('active', { symbol: 'EURUSD', reason: 'news', operator: 'ops' });
      engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
    });
    expect(venue.cancelCalls).toHaveLength(N);
    expect(new Set(venue.cancelCalls).size).toBe(N);
    expect(batchRecords(records).flat().sort()).toEqual([...venue.cancelCalls].sort());
    // (EURUSD's executions hear of the first change before the second's cancels are asked for, as
    // its decisions read executions that know the first.)
    expectOrder(log, false);
    // EURUSD's executions heard the symbol's change, then the global one; GBPUSD's only the global one.
    const toldTimes = new Map<string, number>();
    for (const l of log) if (l.startsWith('told ')) toldTimes.set(l, (toldTimes.get(l) ?? 0) + 1);
    expect(toldTimes.size).toBe(N);
    expect([...toldTimes.values()].filter((times) => times === 2)).toHaveLength(N / 2);
    expect([...toldTimes.values()].filter((times) => times === 1)).toHaveLength(N / 2);
    for (const r of results) expect(r.status).toBe('cancelled');
  });
});
