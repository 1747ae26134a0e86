/**
 * The path suite's second adapter: OandaBroker over the offline v20 venue. Like DeferredBroker,
 * every call waits until the path answers it; then the venue is set up so that v20 gives that
 * answer (a pending order, a reject, a 503, an IOC partial fill, a refused stop, another desk's
 * trade), the call goes to OandaBroker over loopback, and the engine receives OandaBroker's own
 * answer, which must be the one the path prescribes. Pushes are the stream's lines: the venue keeps
 * every transaction back and writes only those a path's push stands for.
 *
 * Not every path is one OANDA can take; {@link oandaCannotExpress} says which and why.
 */
import { expect } from 'vitest';
import { BrokerError, type BrokerAdapter, type OrderReport, type OrderRequest } from '../../src/index.js';
import { OandaBroker } from '../../src/entries/adapters.js';
import { OandaVenue, VENUE_ACCOUNT, VENUE_TOKEN } from '../venues/oandaVenue.js';
import type { ModelEvent, ModelPath } from './model.js';

type Method = 'submitOrder' | 'cancelOrder' | 'getOrder' | 'getPosition' | 'placeProtection' | 'isTradable' | 'getQuote';
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
interface Held {
  readonly method: Method;
  readonly args: unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

const INSTRUMENT = 'EUR_USD';
const wait = () => new Promise<void>((r) => setImmediate(r));

/**
 * Why a path cannot be taken on OANDA, or null when it can. Read from the path's events alone,
 * against what the order can be at the venue: none, pending, filled, or cancelled (with what filled).
 */
export function oandaCannotExpress(path: ModelPath, restart = false): string | null {
  // After a restart, the order the previous process sent is at the venue if the path finds it.
  let order: 'none' | 'pending' | 'filled' | 'cancelled' = restart && orderFoundAfter(path, -1) ? 'pending' : 'none';
  let filled = 0;
  let prev = path.initial;
  let lookedUp = false;
  const steps = path.steps;
  for (const [i, { event, state }] of steps.entries()) {
    const type = event.type;
    const where = JSON.stringify(prev.value);
    const out = (event as { output?: unknown }).output as { status?: string; filledQuantity?: number; tradable?: { kind: string }; quote?: unknown } | null | undefined;
    const err = (event as { error?: unknown }).error;
    const definitive = err instanceof BrokerError && !err.retryable;
    const size = prev.context.snapshot?.positionSize ?? 0;
    prev = state;
    const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
    const id = actor?.[2];
    const done = actor?.[1] === 'done';
    if (id === 'readLimitFacts' && (out?.tradable?.kind !== 'open' || out.quote !== null)) return 'OandaBroker reads neither market hours nor quotes';
    if (id === 'submitOrder') {
      if (done && out?.status !== 'pending') return 'v20 refuses an order with a 400 (a definitive error), never with a report';
      // An unknown outcome hides a created order only if the rest of the path finds it.
      if (done || (!definitive && orderFoundAfter(path, i))) order = 'pending';
    }
    if (id === 'lookupOrder' && done && (out === null ? order !== 'none' : order !== 'pending')) return 'a look-up that contradicts the order v20 holds';
    if (id === 'lookupOrder' && done && out !== null) lookedUp = true;
    if (type === 'ORDER_UPDATE') {
      if (where.includes('"submitting"')) return 'a push before the create is answered: the replay sends a request only when the path answers it';
      const report = (event as { report: OrderReport }).report;
      if (report.filledQuantity > 0 && report.averageFillPrice === null) return 'v20 never reports a fill without its price';
      if (restart && report.status === 'filled' && !lookedUp) return 'after a restart, a fill streamed before any look-up: the create came before this process\'s stream, so OandaBroker reports a fill of unknown share as partial until a look-up says';
      if (report.status === 'partially_filled' || report.status === 'filled') {
        if (order !== 'pending') return 'a fill of an order v20 no longer holds pending (an IOC order is over after its one fill)';
        order = report.status === 'filled' ? 'filled' : 'cancelled';
        filled = report.filledQuantity;
      } else if (order === 'pending' || (order === 'cancelled' && report.filledQuantity === filled)) order = 'cancelled';
      else return 'a cancel of an order v20 no longer holds pending';
    }
    if (type === 'REPORT_INVALID') return 'OandaBroker drops a stream line it cannot read (the next gap fill reads it again); it never hands an unreadable report on';
    if (id === 'cancelOrder' && done) {
      if (out?.status === 'filled' && order === 'pending' && filled === 0) {
        order = 'filled';
        filled = size;
      } else if (out?.status === 'cancelled' && (order === 'pending' || order === 'cancelled') && (out.filledQuantity ?? 0) === filled) order = 'cancelled';
      else return 'a cancel answer that contradicts the order v20 holds';
    }
    if (id === 'confirmOrder' && done) {
      const ok = out === null || out === undefined ? order === 'none' : out.status === 'pending' ? order === 'pending' && filled === 0 : out.status === 'cancelled' && order === 'cancelled' && out.filledQuantity === filled;
      if (!ok) return 'a confirmation that contradicts the order v20 holds (an order with a fill is never pending there)';
    }
    if ((id === 'placeProtection' || id === 'protectFill') && !done && definitive) return 'OandaBroker answers a refused stop as a rejected report, never as a definitive error';
  }
  return null;
}

/**
 * @example
 * const broker = await OandaPathBroker.start(() => clock.now());
 * const engine = createEngine({ broker, clock, … });
 */
export class OandaPathBroker implements BrokerAdapter {
  readonly name = 'oanda-path';
  readonly clientOrderIdDurability = 'openOrdersOnly' as const;
  readonly capabilities = { protectOnFill: true } as const;
  readonly #held: Held[] = [];
  #existsAfterUnknown = false;
  readonly #arrived: OrderReport[] = [];
  readonly #listeners = new Set<(r: OrderReport) => void>();
  #unsubscribe: (() => void) | null = null;
  #clientOrderId: string | null = null;

  private constructor(
    readonly venue: OandaVenue,
    readonly oanda: OandaBroker,
    clientOrderId: string | null,
  ) {
    this.#clientOrderId = clientOrderId;
  }

  /**
   * With `previous`, a restart: the process before sent that order; the venue holds it (pending)
   * when `previous.exists`, and this process's OandaBroker has never seen it.
   */
  static async start(now: () => number, previous?: { request: OrderRequest; exists: boolean }): Promise<OandaPathBroker> {
    const venue = await new OandaVenue().start();
    venue.holdStream = true;
    if (previous?.exists) {
      const { clientOrderId, side, quantity } = previous.request;
      venue.script({ kind: 'pending' });
      const res = await fetch(`${venue.url}/v3/accounts/${VENUE_ACCOUNT}/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${VENUE_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ order: { type: 'MARKET', instrument: INSTRUMENT, units: String(side === 'buy' ? quantity : -quantity), timeInForce: 'IOC', positionFill: 'DEFAULT', clientExtensions: { id: clientOrderId }, tradeClientExtensions: { id: clientOrderId }, stopLossOnFill: { distance: '0.01100', timeInForce: 'GTC' } } }),
      });
      expect(res.status, 'the previous process\'s order').toBe(201);
    }
    const oanda = new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, restUrl: venue.url, timeInForce: 'IOC', lookupGraceMs: 0, reconnectMs: 5, now });
    return new OandaPathBroker(venue, oanda, previous?.request.clientOrderId ?? null);
  }

  submitOrder = (req: OrderRequest) => this.#defer('submitOrder', req) as Promise<OrderReport>;
  cancelOrder = (ref: unknown) => this.#defer('cancelOrder', ref) as Promise<OrderReport>;
  getOrder = (ref: unknown) => this.#defer('getOrder', ref) as Promise<OrderReport | null>;
  getPosition = (symbol: string) => this.#defer('getPosition', symbol) as never;
  placeProtection = (req: unknown) => this.#defer('placeProtection', req) as never;
  /** Tradability is the path's to say (OandaBroker reads no market hours). */
  isTradable = (symbol: string) => this.#defer('isTradable', symbol) as Promise<boolean>;

  subscribe(listener: (r: OrderReport) => void): () => void {
    this.#listeners.add(listener);
    this.#unsubscribe ??= this.oanda.subscribe((r) => {
      this.#arrived.push(r);
      for (const l of [...this.#listeners]) l(r);
    });
    return () => void this.#listeners.delete(listener);
  }

  waiting(method: Method): number {
    return this.#held.filter((p) => p.method === method).length;
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.oanda.close();
    this.venue.releaseHung();
    await this.venue.close();
    expect(this.venue.schemaErrors, 'answers outside the v20 spec').toEqual([]);
  }

  /** Answers the most recent waiting call of `method` the way the path says, through the venue and OandaBroker. */
  async settle(method: Method, outcome: Outcome): Promise<void> {
    const index = this.#held.findLastIndex((p) => p.method === method);
    if (index < 0) throw new Error(`path expects a ${method} call, but none is waiting`);
    const [call] = this.#held.splice(index, 1);
    if (method === 'isTradable' || method === 'getQuote') return outcome.ok ? call!.resolve(outcome.value) : call!.reject(outcome.error);
    const expectation = outcome.ok ? outcome.value : outcome.error;
    this.#prepare(method, outcome, call!.args);
    let answer: Outcome;
    try {
      answer = { ok: true, value: await (this.oanda[method] as (a: unknown) => Promise<unknown>)(call!.args) };
    } catch (error) {
      answer = { ok: false, error };
    }
    // What the request wrote to the stream stays kept back: the answer is what tells the engine.
    const what = `${method} answered ${describe(answer)}, the path says ${describe(outcome)}`;
    expect(answer.ok, what).toBe(outcome.ok);
    if (!answer.ok) {
      expect(retryable(answer.error), what).toBe(retryable(expectation));
      return call!.reject(answer.error);
    }
    const value = answer.value as { quantity?: number; status?: string; filledQuantity?: number } | null;
    const expected = expectation as typeof value;
    if (method === 'getPosition') expect((value?.quantity ?? 0) + 0, what).toBe((expected?.quantity ?? 0) + 0);
    // A look-up of an order v20 refused (it never existed there) answers with that refusal.
    else if (expected === null && value?.status === 'rejected' && value.filledQuantity === 0) return call!.resolve(answer.value);
    else if (value === null || expected === null) expect(value, what).toEqual(expected);
    else expect(value, what).toMatchObject({ status: expected.status, ...(method === 'placeProtection' ? {} : { filledQuantity: expected.filledQuantity }) });
    call!.resolve(answer.value);
  }

  /** A push the path makes: the venue acts, and the stream carries exactly that transaction to the engine. */
  async push(report: OrderReport): Promise<void> {
    const id = report.clientOrderId;
    const order = this.venue.ordersWithClientId(id).at(-1);
    const before = this.#arrived.length;
    if (report.status === 'partially_filled' || report.status === 'filled') {
      this.venue.fillPending(id, { price: report.averageFillPrice!, ...(report.status === 'partially_filled' ? { units: report.filledQuantity } : {}) });
      this.venue.releaseHeld((t) => t.type === 'ORDER_FILL' && t.clientOrderID === id);
    } else {
      if (order?.state === 'PENDING') this.venue.cancelPending(id);
      this.venue.releaseHeld((t) => t.type === 'ORDER_CANCEL' && t.clientOrderID === id);
    }
    for (let i = 0; i < 2_000 && !this.#arrived.slice(before).some((r) => r.clientOrderId === id && r.status === report.status); i++) await new Promise((r) => setTimeout(r, 1));
    expect(this.#arrived.slice(before).map((r) => ({ status: r.status, filledQuantity: r.filledQuantity })), `the stream's report for a pushed ${report.status}`).toContainEqual({ status: report.status, filledQuantity: report.filledQuantity });
    await wait();
  }

  /** Sets the venue up so that v20's answer to the next `method` call is the path's `outcome`. */
  #prepare(method: Method, outcome: Outcome, args: unknown): void {
    const v = this.venue;
    if (method === 'submitOrder') {
      this.#clientOrderId = (args as OrderRequest).clientOrderId;
      if (outcome.ok) v.script({ kind: 'pending' });
      else if (!retryable(outcome.error)) v.script({ kind: 'reject', reason: 'INSUFFICIENT_MARGIN' });
      else if (this.#existsAfterUnknown) v.script({ kind: 'lostPending' }); // created, the answer lost
      else v.failNext('POST', '/orders', '503'); // refused before anything was created
      return;
    }
    if (!outcome.ok) {
      const where = { cancelOrder: ['PUT', '/cancel'], getOrder: ['GET', '/orders/'], getPosition: ['GET', '/positions/'], placeProtection: ['PUT', '/trades/'] }[method as 'getOrder'];
      v.failNext(where[0]!, where[1]!, '503');
      return;
    }
    const value = outcome.value as { status?: string; quantity?: number; averageFillPrice?: number } | null;
    const id = this.#clientOrderId;
    if (method === 'cancelOrder' && value?.status === 'filled' && id) v.fillPending(id, { price: value.averageFillPrice! }); // filled before the cancel arrived
    if (method === 'placeProtection' && value?.status === 'rejected') v.refuseNextDependentOrders = true;
    if (method === 'getPosition') {
      const units = (value?.quantity ?? 0) - v.netUnits(INSTRUMENT);
      if (units !== 0) v.openForeignTrade(INSTRUMENT, units); // reconciliation finds more than Warden holds
    }
  }

  /** Before each step of `path`: whether an unknown submit outcome there hides an order the path later finds. */
  beforeStep(path: ModelPath, i: number): void {
    this.#existsAfterUnknown = orderFoundAfter(path, i);
  }

  #defer(method: Method, args: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => this.#held.push({ method, args, resolve, reject }));
  }
}

const retryable = (e: unknown) => !(e instanceof BrokerError) || e.retryable;
const describe = (o: Outcome) => (o.ok ? JSON.stringify(o.value) : `${retryable(o.error) ? 'an unknown outcome' : 'a definitive refusal'} (${(o.error as Error).message})`);

/** Whether an unknown submit outcome at step `i` hides an order the rest of the path finds. */
export function orderFoundAfter(path: ModelPath, i: number): boolean {
  const later = path.steps.slice(i + 1).map((s) => s.event as ModelEvent & { output?: unknown });
  const found = later.findIndex((e) => (e.type === 'xstate.done.actor.lookupOrder' && e.output !== null) || e.type === 'ORDER_UPDATE');
  const absent = later.findIndex((e) => e.type === 'xstate.done.actor.lookupOrder' && e.output === null);
  return found >= 0 && (absent < 0 || found < absent);
}
