/**
 * The broker boundary, normalised once. Whatever an adapter does — answers of any shape, throws
 * of any value, or silence — the statechart sees a typed answer or a `BrokerError`:
 * - every call has a time limit (`BROKER_CALL_LIMIT_MS`); no answer in time is an unknown outcome;
 * - every answer is validated with zod and must be about the order (or symbol) asked for;
 * - the request is reported before it is sent, and a report that returns a promise (a journal
 *   making the intent durable) is awaited first: nothing is sent that is not on record.
 */
import { BROKER_CALL_LIMIT_MS } from '../domain/constants.js';
import type { Clock } from '../domain/clock.js';
import { OrderReportSchema, PositionReportSchema, ProtectionReportSchema } from '../domain/schemas.js';
import { BrokerError, toBrokerError } from './errors.js';
import type { BrokerAdapter, OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from './types.js';

/**
 * The name of a broker call: one of the methods `BROKER_CALL_LIMIT_MS` gives a time limit.
 *
 * @example
 * const method: BrokerMethod = 'submitOrder';
 * BROKER_CALL_LIMIT_MS[method]; // 10_000
 */
export type BrokerMethod = keyof typeof BROKER_CALL_LIMIT_MS;

/**
 * One observed broker call, for journaling.
 *
 * @example
 * const observe = (call: BrokerCall) => { if (call.phase === 'error') console.warn(call.executionId, call.method, call.elapsedMs); };
 * const broker = checkedBroker(new PaperBroker({ seed: 1 }), { clock: systemClock, observe });
 */
export interface BrokerCall {
  /**
   * The execution the call is about; `null` only for the request of a batch (`cancelOrders`),
   * whose payload names every execution and order it concerns. Each order's answer or failure is
   * then reported on its own, as a `cancelOrder` call of its execution.
   */
  readonly executionId: string | null;
  readonly phase: 'request' | 'response' | 'error';
  readonly method: BrokerMethod;
  readonly payload: unknown;
  /** Milliseconds since the request, on answers and failures. */
  readonly elapsedMs?: number;
}

/**
 * Sees every call; may return a promise for a `request` (e.g. a journal flush) that the send waits for.
 *
 * @example
 * const observe: BrokerObserver = async (call) => { if (call.phase === 'request') await flushToDisk(call); };
 * const machine = createExecutionMachine({ broker, onBrokerCall: observe });
 */
export type BrokerObserver = (call: BrokerCall) => void | Promise<void>;

/**
 * The adapter as the statechart uses it: typed, validated, bounded.
 *
 * @example
 * const broker: CheckedBroker = checkedBroker(new PaperBroker({ seed: 1 }), { clock: systemClock });
 * const report = await broker.getOrder('exec-1', { clientOrderId: 'wd-8c1e0f4b9a2d7c6e5f1a0b3c', symbol: 'EURUSD' }); // null when unknown
 */
export interface CheckedBroker {
  submitOrder(executionId: string, req: OrderRequest): Promise<OrderReport>;
  cancelOrder(executionId: string, ref: OrderRef): Promise<OrderReport>;
  getOrder(executionId: string, ref: OrderRef): Promise<OrderReport | null>;
  getPosition(executionId: string, symbol: string): Promise<PositionReport>;
  placeProtection(executionId: string, req: ProtectionRequest): Promise<ProtectionReport>;
  /**
   * Cancels several orders at once (the kill switch fan-out): one request record naming them all,
   * then the adapter's `cancelOrders` if it has one, else one `cancelOrder` each, all sent before
   * this returns, unless the request record is still being made durable: then the returned promise
   * resolves once they are (or once they are known not to be sent). One time limit for the batch.
   * Each order's answer waits for its turn (`pace`) as any answer does, then is validated and
   * reported as its execution's `cancelOrder` answer, and `onAnswer` hears exactly once per item
   * what a `cancelOrder` call would have given: the report, or the failure (a `BrokerError`).
   */
  cancelOrders(items: readonly CancelItem[], reason: string, onAnswer: (index: number, outcome: CancelOutcome) => void): Promise<void> | undefined;
  /** Push updates for one order, parsed; `onInvalid` hears reports about it that cannot be read. */
  subscribe(clientOrderId: string, onReport: (report: OrderReport) => void, onInvalid: (problem: string) => void): () => void;
}

/**
 * What became of one order of a batch cancel: its validated report, or the failure.
 *
 * @example
 * broker.cancelOrders(items, 'kill switch global off->active', (index, outcome: CancelOutcome) => {
 *   if ('report' in outcome) console.log(items[index]!.executionId, outcome.report.status);
 *   else console.warn(items[index]!.executionId, outcome.error);
 * });
 */
export type CancelOutcome = { readonly report: OrderReport } | { readonly error: unknown };

/**
 * One order of a batch cancel, and the execution it belongs to.
 *
 * @example
 * const items: CancelItem[] = [{ executionId: 'exec-1', ref: { clientOrderId: 'wd-8c1e0f4b9a2d7c6e5f1a0b3c', symbol: 'EURUSD' } }];
 * broker.cancelOrders(items, 'kill switch global off->active', (index, outcome) => console.log(items[index]!.executionId, outcome));
 */
export interface CancelItem {
  readonly executionId: string;
  readonly ref: OrderRef;
}

/**
 * How {@link checkedBroker} bounds and observes calls: its clock, an observer and per-method time limits.
 *
 * @example
 * const options: CheckedBrokerOptions = { clock: systemClock, limits: { submitOrder: 5_000 } };
 * const broker = checkedBroker(new PaperBroker({ seed: 1 }), options);
 */
export interface CheckedBrokerOptions {
  readonly clock: Clock;
  readonly observe?: BrokerObserver;
  /** Per-method time limits; defaults to `BROKER_CALL_LIMIT_MS`. */
  readonly limits?: Partial<Record<BrokerMethod, number>>;
  /**
   * Asked once an answer (or a failure) is in, within its time limit: a returned promise is
   * awaited before the answer is observed, read and handed on. The engine paces its answers
   * through the event loop with it (src/engine/loopBudget.ts).
   */
  readonly pace?: () => Promise<void> | undefined;
}

type Schema<T> = { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } };

function parse<T>(schema: Schema<T>, value: unknown, what: string): T {
  let parsed;
  try {
    parsed = schema.safeParse(value);
  } catch (e) {
    throw new BrokerError(`unreadable ${what} from broker`, { retryable: true, code: 'unreadable_answer', cause: e });
  }
  // An answer we cannot read tells us nothing: the outcome is unknown, never assumed.
  if (!parsed.success) throw new BrokerError(`unreadable ${what} from broker: ${parsed.error.message.slice(0, 300)}`, { retryable: true, code: 'unreadable_answer' });
  return parsed.data;
}

function sameOrder(report: OrderReport, clientOrderId: string): OrderReport {
  if (report.clientOrderId !== clientOrderId) {
    throw new BrokerError(`broker answered for order ${report.clientOrderId.slice(0, 64)}, not ${clientOrderId}`, { retryable: true, code: 'wrong_order' });
  }
  return report;
}

/**
 * Wraps an adapter so that every call is bounded, validated and observed.
 *
 * @example
 * const broker = checkedBroker(new PaperBroker({ seed: 1 }), { clock: systemClock, observe: (c) => console.log(c.method, c.phase) });
 * const report = await broker.submitOrder('exec-1', request); // OrderReport, or throws BrokerError
 */
export function checkedBroker(adapter: BrokerAdapter, options: CheckedBrokerOptions): CheckedBroker {
  const { clock } = options;
  const observe = options.observe ?? (() => undefined);
  const pace = options.pace ?? (() => undefined);
  const limits = { ...BROKER_CALL_LIMIT_MS, ...options.limits };

  const call = async <T>(executionId: string | null, method: BrokerMethod, payload: unknown, send: () => Promise<unknown>, read: (answer: unknown) => T): Promise<T> => {
    const notRecorded = (e: unknown) =>
      // The intent could not be recorded: nothing is sent, and the caller knows nothing left.
      new BrokerError(`${method} not sent: the journal could not record the request`, { retryable: true, code: 'journal_unavailable', cause: e });
    let recorded: void | Promise<void>;
    try {
      recorded = observe({ executionId, phase: 'request', method, payload });
    } catch (e) {
      throw notRecorded(e);
    }
    // Only a durable record that is still being written is waited for; otherwise the send starts at once.
    if (recorded && typeof recorded.then === 'function') {
      try {
        await recorded;
      } catch (e) {
        throw notRecorded(e);
      }
    }
    const started = clock.now();
    let raw: unknown;
    try {
      raw = await bounded(method, send);
    } catch (e) {
      const elapsedMs = clock.now() - started;
      const turn = pace();
      if (turn) await turn;
      const error = toBrokerError(e); // whatever the adapter threw, read once, into plain fields
      safeObserve({ executionId, phase: 'error', method, payload: error, elapsedMs });
      throw error;
    }
    const elapsedMs = clock.now() - started; // the venue's time, not the wait for a turn below
    const turn = pace();
    if (turn) await turn;
    // The answer as the broker gave it is the forensic record (the journal redacts credentials).
    safeObserve({ executionId, phase: 'response', method, payload: raw, elapsedMs });
    let answer: T;
    try {
      answer = read(raw);
    } catch (e) {
      safeObserve({ executionId, phase: 'error', method, payload: e, elapsedMs });
      throw e;
    }
    return answer;
  };

  /** Answers and failures are reported too; a failing observer must not turn an answer into a failure. */
  const safeObserve = (c: BrokerCall) => {
    try {
      const r = observe(c);
      if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch(() => undefined);
    } catch {
      // The journal's own failure is reported by the journal; the answer still counts.
    }
  };

  const bounded = (method: BrokerMethod, send: () => Promise<unknown>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const ms = limits[method];
      let done = false;
      const timer = clock.setTimeout(() => {
        if (done) return;
        done = true;
        reject(new BrokerError(`${method}: no answer within ${ms} ms; the outcome is unknown`, { retryable: true, code: 'timeout' }));
      }, ms);
      let pending: Promise<unknown>;
      try {
        pending = Promise.resolve(send());
      } catch (e) {
        pending = Promise.reject(e); // an adapter that throws synchronously (or a throwing getter)
      }
      pending.then(
        (v) => {
          if (done) return; // a late answer after the limit: the look-up that follows finds the truth
          done = true;
          clock.clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          if (done) return;
          done = true;
          clock.clearTimeout(timer);
          reject(e);
        },
      );
    });

  type Subscriber = { readonly onReport: (report: OrderReport) => void; readonly onInvalid: (problem: string) => void };
  /** Who listens for pushes about which order, and the adapter's subscription while anyone does. */
  const subscribers = new Map<string, Subscriber[]>();
  const follow = (id: string, l: Subscriber): void => {
    const list = subscribers.get(id);
    if (list === undefined) subscribers.set(id, [l]);
    else list.push(l);
  };
  /** False if `l` no longer follows `id` (an unsubscribe called twice). */
  const unfollow = (id: string, l: Subscriber): boolean => {
    const list = subscribers.get(id);
    const at = list === undefined ? -1 : list.indexOf(l);
    if (at < 0) return false;
    if (list!.length === 1) subscribers.delete(id);
    else list!.splice(at, 1);
    return true;
  };
  let feed: (() => void) | null = null;
  const route = (report: unknown): void => {
    // Never throws back into the adapter (its stream must not end over one report). The report is
    // read now, as it arrived: an adapter may reuse the object by the time its turn comes.
    let id: unknown;
    let parsed: OrderReport | null = null;
    try {
      // Look at the id first: a push about an order nobody here follows costs a map look-up.
      id = (report as { clientOrderId?: unknown } | null)?.clientOrderId;
      if (typeof id !== 'string' || !subscribers.has(id)) return;
      const read = OrderReportSchema.safeParse(report);
      if (read.success && read.data.clientOrderId === id) parsed = read.data;
    } catch {
      if (typeof id !== 'string' || !subscribers.has(id)) return; // a report that cannot even say whose it is
    }
    // A push waits for its turn like an answer, so reports are taken in in the order they came.
    const turn = pace();
    if (turn) void turn.then(() => deliver(id as string, parsed));
    else deliver(id, parsed);
  };
  const deliver = (id: string, report: OrderReport | null): void => {
    const listeners = subscribers.get(id);
    if (listeners === undefined) return;
    for (const l of listeners.slice()) {
      try {
        if (report !== null) l.onReport(report);
        else l.onInvalid('unreadable pushed report');
      } catch {
        // one execution's failure to take a report in is its own (it fails as an actor does)
      }
    }
  };

  /** Whether the adapter offers a batch cancel, read defensively (a throwing getter means no). */
  const batchCancel = (): ((refs: readonly OrderRef[]) => Promise<unknown>) | null => {
    try {
      const f = adapter.cancelOrders;
      return typeof f === 'function' ? (refs) => f.call(adapter, refs) : null;
    } catch {
      return null;
    }
  };

  const cancelOrders = (items: readonly CancelItem[], reason: string, onAnswer: (index: number, outcome: CancelOutcome) => void): Promise<void> | undefined => {
    if (items.length === 0) return undefined;
    // Callbacks rather than a promise per order: this runs for thousands of orders inside one kill switch change.
    const done = new Uint8Array(items.length);
    let open = items.length;
    let timer: unknown;
    let started = 0;
    /** An order's answer (or failure) is in: its time limit is decided now; it is taken in at its turn (`pace`), like any answer. */
    const settle = (i: number, raw: unknown, failed: boolean): void => {
      if (done[i] === 1) return;
      done[i] = 1;
      if (--open === 0 && timer !== undefined) clock.clearTimeout(timer);
      const elapsedMs = clock.now() - started;
      const turn = pace();
      if (turn) void turn.then(() => takeIn(i, raw, failed, elapsedMs));
      else takeIn(i, raw, failed, elapsedMs);
    };
    const takeIn = (i: number, raw: unknown, failed: boolean, elapsedMs: number): void => {
      const { executionId, ref } = items[i]!;
      if (failed) {
        const error = toBrokerError(raw);
        safeObserve({ executionId, phase: 'error', method: 'cancelOrder', payload: error, elapsedMs });
        onAnswer(i, { error });
        return;
      }
      safeObserve({ executionId, phase: 'response', method: 'cancelOrder', payload: raw, elapsedMs });
      let report: OrderReport;
      try {
        report = sameOrder(parse(OrderReportSchema, raw, 'cancel answer'), ref.clientOrderId);
      } catch (e) {
        safeObserve({ executionId, phase: 'error', method: 'cancelOrder', payload: e, elapsedMs });
        onAnswer(i, { error: e });
        return;
      }
      onAnswer(i, { report });
    };
    const notRecorded = (e: unknown) => {
      const error = new BrokerError('cancelOrders not sent: the journal could not record the request', { retryable: true, code: 'journal_unavailable', cause: e });
      for (let i = 0; i < items.length; i++) settle(i, error, true);
    };
    let recorded: void | Promise<void>;
    try {
      // One record names every order: the intent, before any of the sends.
      recorded = observe({
        executionId: null,
        phase: 'request',
        method: 'cancelOrders',
        payload: { reason, orders: items.map((i) => ({ executionId: i.executionId, clientOrderId: i.ref.clientOrderId, brokerOrderId: i.ref.brokerOrderId ?? null, symbol: i.ref.symbol ?? null })) },
      });
    } catch (e) {
      notRecorded(e);
      return undefined;
    }
    const send = () => {
      started = clock.now();
      const ms = limits.cancelOrders;
      timer = clock.setTimeout(() => {
        const error = new BrokerError(`cancelOrders: no answer within ${ms} ms; the outcome is unknown`, { retryable: true, code: 'timeout' });
        for (let i = 0; i < items.length; i++) settle(i, error, true);
      }, ms);
      const batch = batchCancel();
      if (batch) {
        let answer: Promise<unknown>;
        try {
          answer = Promise.resolve(batch(items.map((i) => i.ref)));
        } catch (e) {
          answer = Promise.reject(e);
        }
        answer.then(
          (raw) => {
            // Matched by clientOrderId, never by position; an order the answer leaves out is an unknown outcome.
            const byId = new Map<unknown, unknown>();
            if (Array.isArray(raw)) {
              for (const entry of raw as unknown[]) {
                let id: unknown;
                try {
                  id = (entry as { clientOrderId?: unknown } | null)?.clientOrderId;
                } catch {
                  continue;
                }
                if (typeof id === 'string' && !byId.has(id)) byId.set(id, entry);
              }
            }
            items.forEach(({ ref }, i) => {
              if (byId.has(ref.clientOrderId)) settle(i, byId.get(ref.clientOrderId), false);
              else settle(i, new BrokerError(`cancelOrders: the answer says nothing about order ${ref.clientOrderId}; the outcome is unknown`, { retryable: true, code: 'unreadable_answer' }), true);
            });
          },
          (e: unknown) => {
            for (let i = 0; i < items.length; i++) settle(i, e, true);
          },
        );
      } else {
        for (let i = 0; i < items.length; i++) {
          let answer: Promise<unknown>;
          try {
            answer = Promise.resolve(adapter.cancelOrder(items[i]!.ref));
          } catch (e) {
            answer = Promise.reject(e); // an adapter that throws synchronously
          }
          answer.then(
            (raw) => settle(i, raw, false),
            (e: unknown) => settle(i, e, true),
          );
        }
      }
    };
    if (recorded && typeof recorded.then === 'function') return recorded.then(send, notRecorded);
    send();
    return undefined;
  };

  return {
    cancelOrders,
    submitOrder: (id, req) => call(id, 'submitOrder', req, () => adapter.submitOrder(req), (a) => sameOrder(parse(OrderReportSchema, a, 'submit answer'), req.clientOrderId)),
    cancelOrder: (id, ref) => call(id, 'cancelOrder', ref, () => adapter.cancelOrder(ref), (a) => sameOrder(parse(OrderReportSchema, a, 'cancel answer'), ref.clientOrderId)),
    getOrder: (id, ref) => call(id, 'getOrder', ref, () => adapter.getOrder(ref), (a) => (a === null ? null : sameOrder(parse(OrderReportSchema, a, 'order'), ref.clientOrderId))),
    getPosition: (id, symbol) =>
      call(id, 'getPosition', { symbol }, () => adapter.getPosition(symbol), (a) => {
        const position = parse(PositionReportSchema, a, 'position');
        if (position.symbol !== symbol) throw new BrokerError(`broker answered with the position of ${position.symbol.slice(0, 64)}, not ${symbol}`, { retryable: true, code: 'wrong_order' });
        return position;
      }),
    placeProtection: (id, req) =>
      call(id, 'placeProtection', req, () => adapter.placeProtection(req), (a) => {
        const report = parse(ProtectionReportSchema, a, 'protection answer');
        if (report.clientOrderId !== req.clientOrderId) throw new BrokerError(`broker answered for protection ${report.clientOrderId.slice(0, 64)}, not ${req.clientOrderId}`, { retryable: true, code: 'wrong_order' });
        return report;
      }),
    subscribe(clientOrderId, onReport, onInvalid) {
      const subscribe = adapter.subscribe;
      if (typeof subscribe !== 'function') return () => undefined;
      // One subscription at the adapter for every execution: a push is routed by its
      // clientOrderId, O(1) however many orders are in flight, and parsed once. The listener is
      // in place before the adapter is asked, so reports it replays at once reach it.
      const listener = { onReport, onInvalid };
      follow(clientOrderId, listener);
      if (feed === null) {
        try {
          const unsubscribe = subscribe.call(adapter, route);
          feed = typeof unsubscribe === 'function' ? unsubscribe : () => undefined;
        } catch (e) {
          // A subscribe that throws is the adapter's failure to report (journaled by the caller); polling still sees every fill.
          unfollow(clientOrderId, listener);
          throw e;
        }
      }
      return () => {
        if (!unfollow(clientOrderId, listener)) return;
        if (subscribers.size === 0 && feed !== null) {
          const unsubscribe = feed;
          feed = null;
          try {
            unsubscribe();
          } catch {
            // an adapter that fails to unsubscribe: nothing listens any more
          }
        }
      };
    },
  };
}
