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
import { batchCancel, type CancelItem, type CancelOutcome } from './batchCancel.js';
import { atOnce, parseAnswer as parse, safeObserver, sameOrder, type BrokerMethod, type BrokerObserver, type Deliver } from './brokerCall.js';
import { BrokerError, toBrokerError } from './errors.js';
import { pushRouter } from './pushRouter.js';
import type { BrokerAdapter, OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from './types.js';

export type { BrokerCall, BrokerMethod, BrokerObserver, Deliver } from './brokerCall.js';
export type { CancelItem, CancelOutcome } from './batchCancel.js';

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
   * Each order's answer is delivered (`deliver`) as any answer is, then is validated and
   * reported as its execution's `cancelOrder` answer, and `onAnswer` hears exactly once per item
   * what a `cancelOrder` call would have given: the report, or the failure (a `BrokerError`).
   */
  cancelOrders(items: readonly CancelItem[], reason: string, onAnswer: (index: number, outcome: CancelOutcome) => void): Promise<void> | undefined;
  /** Push updates for one order of `executionId`, parsed and delivered; `onInvalid` hears reports about it that cannot be read. */
  subscribe(executionId: string, clientOrderId: string, onReport: (report: OrderReport) => void, onInvalid: (problem: string) => void): () => void;
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
   * How an answer (or a failure, or a pushed report) reaches its execution once it is in, within
   * its time limit: the engine's mailbox (src/engine/mailbox.ts) takes it in at the execution's
   * turn, where it is observed, read and handed on. Default: at once.
   */
  readonly deliver?: Deliver;
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
  const deliver = options.deliver ?? atOnce;
  const limits = { ...BROKER_CALL_LIMIT_MS, ...options.limits };

  const call = async <T>(executionId: string, method: BrokerMethod, payload: unknown, send: () => Promise<unknown>, read: (answer: unknown) => T): Promise<T> => {
    // The intent could not be recorded, or the observer refused the send (a fence says why in a
    // BrokerError of its own): nothing is sent, and the caller knows nothing left. That failure
    // reaches the execution through its mailbox, at once: nothing came from the venue. Its words
    // are the observer's when it gave any, so a flag never blames the journal for a fence.
    const notRecorded = (e: unknown): Promise<never> =>
      deliver(
        executionId,
        () => {
          throw new BrokerError(e instanceof BrokerError ? e.message : `${method} not sent: the journal could not record the request`, { retryable: true, code: 'journal_unavailable', cause: e });
        },
        'now',
      );
    let recorded: void | Promise<void>;
    try {
      recorded = observe({ executionId, phase: 'request', method, payload });
    } catch (e) {
      return notRecorded(e);
    }
    // Only a durable record that is still being written is waited for; otherwise the send starts at once.
    if (recorded && typeof recorded.then === 'function') {
      try {
        await recorded;
      } catch (e) {
        return notRecorded(e);
      }
    }
    const started = clock.now();
    let raw: unknown;
    try {
      raw = await bounded(method, send);
    } catch (e) {
      const elapsedMs = clock.now() - started;
      return deliver(executionId, () => {
        const error = toBrokerError(e); // whatever the adapter threw, read once, into plain fields
        safeObserve({ executionId, phase: 'error', method, payload: error, elapsedMs });
        throw error;
      });
    }
    const elapsedMs = clock.now() - started; // the venue's time, not the wait for a turn in the mailbox
    return deliver(executionId, () => {
      // The answer as the broker gave it is the forensic record (the journal redacts credentials).
      safeObserve({ executionId, phase: 'response', method, payload: raw, elapsedMs });
      try {
        return read(raw);
      } catch (e) {
        safeObserve({ executionId, phase: 'error', method, payload: e, elapsedMs });
        throw e;
      }
    });
  };

  const safeObserve = safeObserver(observe);

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

  return {
    cancelOrders: batchCancel(adapter, { clock, observe, safeObserve, deliver, limits }),
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
    subscribe: pushRouter(adapter, deliver),
  };
}
