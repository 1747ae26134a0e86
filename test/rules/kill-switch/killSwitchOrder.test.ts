/**
 * The kill switch reaches every order before the engine takes anything in (rule 3, issue 29):
 * whatever the venue's speed, every cancel is requested at the venue, and every execution has
 * heard of the switch, before any execution receives a broker answer, a push or a poll result.
 * A venue that answers at once must not let its first answers run ahead of the last order.
 * Order only, no timing: the test logs the venue's calls and what each execution receives.
 */
import { describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createEngine, type BrokerAdapter, type ExecutionResult, type OrderRef, type OrderReport, type PositionReport } from '../../../src/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

/**
 * How the venue answers: at once (a resolved promise), pushing its report from inside the call,
 * on its next (virtual) timer, or in the next turn of the event loop (a venue over a socket).
 */
type Speed = 'atOnce' | 'pushesFirst' | 'nextTimer' | 'nextTurn';

/** A venue that acknowledges and never fills; every cancel it is asked for is logged, and applied. */
class LoggingVenue implements BrokerAdapter {
  readonly name = 'logging-venue';
  readonly cancelled = new Set<string>();
  readonly cancelCalls: string[] = [];
  private readonly listeners = new Set<(report: OrderReport) => void>();
  cancelOrders?: (refs: readonly OrderRef[]) => Promise<OrderReport[]>;
  constructor(
    private readonly clock: VirtualClock,
    private readonly speed: Speed,
    private readonly log: string[],
    batch: boolean,
  ) {
    if (batch) {
      this.cancelOrders = (refs) => {
        for (const r of refs) this.take(r);
        return this.answer(refs.map((r) => this.report(r.clientOrderId)));
      };
    }
  }
  private take(ref: OrderRef): void {
    this.log.push(`cancel requested ${ref.clientOrderId}`);
    this.cancelCalls.push(ref.clientOrderId);
    this.cancelled.add(ref.clientOrderId);
    if (this.speed === 'pushesFirst') for (const l of this.listeners) l(this.report(ref.clientOrderId));
  }
  private answer<T>(value: T): Promise<T> {
    if (this.speed === 'nextTimer') return new Promise((resolve) => this.clock.setTimeout(() => resolve(value), 0));
    if (this.speed === 'nextTurn') return new Promise((resolve) => setImmediate(() => resolve(value)));
    return Promise.resolve(value);
  }
  report(clientOrderId: string): OrderReport {
    return { clientOrderId, brokerOrderId: `V-${clientOrderId}`, status: this.cancelled.has(clientOrderId) ? 'cancelled' : 'pending', filledQuantity: 0, averageFillPrice: null };
  }
  subscribe(listener: (report: OrderReport) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  submitOrder(req: { clientOrderId: string }): Promise<OrderReport> {
    return Promise.resolve(this.report(req.clientOrderId));
  }
  cancelOrder(ref: OrderRef): Promise<OrderReport> {
    this.take(ref);
    return this.answer(this.report(ref.clientOrderId));
  }
  getOrder(ref: OrderRef): Promise<OrderReport | null> {
    return this.answer(this.report(ref.clientOrderId));
  }
  getPosition(symbol: string): Promise<PositionReport> {
    return this.answer({ symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null });
  }
  placeProtection(): never {
    throw new Error('nothing ever fills here');
  }
}

/** `n` working orders, then `set('active')`; the log holds the venue's cancels and every event an execution received after it. */
async function killSwitchOver(n: number, speed: Speed, batch: boolean) {
  const clock = new VirtualClock(T0);
  const log: string[] = [];
  let watching = false;
  const inspect = (ev: InspectionEvent) => {
    // Only what reaches an execution itself (its root actor), from the moment the switch is set.
    if (!watching || ev.type !== '@xstate.event' || ev.actorRef.sessionId !== ev.rootId) return;
    const type = (ev.event as { type: string }).type;
    log.push(type === 'KILL_SWITCH' ? `told ${ev.rootId}` : `received ${type} ${ev.rootId}`);
  };
  const venue = new LoggingVenue(clock, speed, log, batch);
  const engine = createEngine({ broker: venue, clock, logger: silentLogger(), pollIntervalMs: 500, inspect });
  const started: Promise<ExecutionResult>[] = [];
  for (let i = 0; i < n; i++) started.push(engine.execute(snapshot({ advisoryId: `adv-${i}` })));
  await clock.advance(100); // every order acknowledged and working
  watching = true;
  engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
  const results = await clock.run(Promise.all(started));
  watching = false;
  await engine.close();
  return { log, results, venue };
}

/** More executions than the engine tells in one turn of the event loop, so telling them spans several turns. */
const N = 100;

describe('kill switch: every cancel requested, and every execution told, before anything is taken in', () => {
  for (const batch of [false, true]) {
    for (const speed of ['atOnce', 'pushesFirst', 'nextTimer', 'nextTurn'] as const) {
      const how = { atOnce: 'at once', pushesFirst: 'by pushing from inside the call', nextTimer: 'on its next timer', nextTurn: 'in the next turn of the event loop' }[speed];
      it(`${batch ? 'batch cancel' : 'one cancel per order'}, ${N} orders, a venue that answers ${how}`, async () => {
        const n = N;
        const { log, results, venue } = await killSwitchOver(n, speed, batch);
        const firstReceived = log.findIndex((l) => l.startsWith('received'));
        const lastCancel = log.findLastIndex((l) => l.startsWith('cancel requested'));
        const lastTold = log.findLastIndex((l) => l.startsWith('told'));
        // Something was taken in after the switch (the cancels' answers at least), and every order was asked once.
        expect(firstReceived).toBeGreaterThanOrEqual(0);
        expect(new Set(venue.cancelCalls).size).toBe(n);
        expect(venue.cancelCalls).toHaveLength(n);
        expect(log.filter((l) => l.startsWith('told')).length).toBeGreaterThanOrEqual(n);
        // The order this test is about: every cancel requested, then every execution told, then anything else.
        expect(lastCancel).toBeLessThan(firstReceived);
        expect(lastTold, `first taken in: ${log[firstReceived]}; last told at ${lastTold}`).toBeLessThan(firstReceived);
        for (const r of results) expect(r.status).toBe('cancelled');
      });
    }
  }
});
