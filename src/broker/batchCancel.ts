/**
 * The kill switch's batch cancel: one request record naming every order, then the adapter's
 * `cancelOrders` if it has one, else one `cancelOrder` each; one time limit for the batch; each
 * order's answer read and reported as its execution's `cancelOrder` answer.
 */
import type { Clock } from '../domain/clock.js';
import { OrderReportSchema } from '../domain/schemas.js';
import { parseAnswer, sameOrder, type BrokerCall, type BrokerMethod, type BrokerObserver, type Deliver } from './brokerCall.js';
import { BrokerError, toBrokerError } from './errors.js';
import type { BrokerAdapter, OrderRef, OrderReport } from './types.js';

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

/** What a batch cancel needs of the boundary it belongs to. */
export interface BatchCancelParts {
  readonly clock: Clock;
  readonly observe: BrokerObserver;
  /** Reports answers and failures, never throwing. */
  readonly safeObserve: (call: BrokerCall) => void;
  /** How each order's answer reaches its execution (`CheckedBrokerOptions.deliver`). */
  readonly deliver: Deliver;
  readonly limits: Readonly<Record<BrokerMethod, number>>;
}

/** Cancels several orders at once; `CheckedBroker.cancelOrders` says how. */
export type CancelOrders = (items: readonly CancelItem[], reason: string, onAnswer: (index: number, outcome: CancelOutcome) => void) => Promise<void> | undefined;

/**
 * The batch cancel over one adapter.
 *
 * @example
 * const cancelOrders = batchCancel(adapter, { clock: systemClock, observe, safeObserve: safeObserver(observe), deliver: atOnce, limits: BROKER_CALL_LIMIT_MS });
 * cancelOrders(items, 'kill switch global off->active', (index, outcome) => console.log(items[index]!.executionId, outcome));
 */
export function batchCancel(adapter: BrokerAdapter, { clock, observe, safeObserve, deliver, limits }: BatchCancelParts): CancelOrders {
  /** Whether the adapter offers a batch cancel, read defensively (a throwing getter means no). */
  const adapterBatch = (): ((refs: readonly OrderRef[]) => Promise<unknown>) | null => {
    try {
      const f = adapter.cancelOrders;
      return typeof f === 'function' ? (refs) => f.call(adapter, refs) : null;
    } catch {
      return null;
    }
  };

  /** The mailbox's delivery without a promise, when it offers one: thousands of answers then queue a function each. */
  const queue = (deliver as Deliver & { readonly queue?: (executionId: string, takeIn: () => void) => void }).queue;

  return (items, reason, onAnswer) => {
    if (items.length === 0) return undefined;
    // Callbacks rather than a promise per order: this runs for thousands of orders inside one kill switch change.
    const done = new Uint8Array(items.length);
    let open = items.length;
    let timer: unknown;
    let started = 0;
    /** An order's answer (or failure) is in: its time limit is decided now; it is delivered to its execution like any answer. */
    const settle = (i: number, raw: unknown, failed: boolean): void => {
      if (done[i] === 1) return;
      done[i] = 1;
      if (--open === 0 && timer !== undefined) clock.clearTimeout(timer);
      const elapsedMs = clock.now() - started;
      if (typeof queue === 'function') queue(items[i]!.executionId, () => takeIn(i, raw, failed, elapsedMs));
      else void deliver(items[i]!.executionId, () => takeIn(i, raw, failed, elapsedMs)).catch(() => undefined);
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
        report = sameOrder(parseAnswer(OrderReportSchema, raw, 'cancel answer'), ref.clientOrderId);
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
      const batch = adapterBatch();
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
}
