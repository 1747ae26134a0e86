/**
 * What the broker boundary tells its observer about each call, and how it reads an answer: shared by
 * the single calls (`checkedBroker.ts`) and the batch cancel (`batchCancel.ts`).
 */
import { BROKER_CALL_LIMIT_MS } from '../domain/constants.js';
import { BrokerError } from './errors.js';
import type { OrderReport } from './types.js';

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

type Schema<T> = { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { message: string } } };

/** Reads an answer with its schema; an answer that cannot be read is an unknown outcome (`unreadable_answer`). */
export function parseAnswer<T>(schema: Schema<T>, value: unknown, what: string): T {
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

/** The report, if it is about the order asked for; else an unknown outcome (`wrong_order`). */
export function sameOrder(report: OrderReport, clientOrderId: string): OrderReport {
  if (report.clientOrderId !== clientOrderId) {
    throw new BrokerError(`broker answered for order ${report.clientOrderId.slice(0, 64)}, not ${clientOrderId}`, { retryable: true, code: 'wrong_order' });
  }
  return report;
}

/**
 * Reports answers and failures to the observer; a failing observer must not turn an answer into a
 * failure (the journal's own failure is reported by the journal; the answer still counts).
 */
export function safeObserver(observe: BrokerObserver): (call: BrokerCall) => void {
  return (c) => {
    try {
      const r = observe(c);
      if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch(() => undefined);
    } catch {
      // reported by the journal itself
    }
  };
}

/**
 * The one way an answer, a failure, a push, a poll's result or a timer reaches an execution (the
 * engine's mailbox, src/engine/mailbox.ts): at the execution's turn, `takeIn` journals what
 * arrived and hands it over; the returned promise settles with what `takeIn` returned or threw.
 * `when` is `'turn'` (the default: what the venue or a timer brings waits for a turn of the
 * engine's loop) or `'now'` (the host's own answer to a step it is taking: the claim, the limit
 * facts, a cancel already requested; told of the switch all the same, but not queued).
 * Without a mailbox (`atOnce`), `takeIn` runs at once, synchronously.
 *
 * @example
 * const deliver: Deliver = (executionId, takeIn) => atOnce(executionId, takeIn);
 * const broker = checkedBroker(new PaperBroker({ seed: 1 }), { clock: systemClock, deliver });
 */
export type Deliver = <T>(executionId: string, takeIn: () => T, when?: 'turn' | 'now') => Promise<T>;

/**
 * Takes in at once, synchronously: the boundary with no mailbox (a bare machine, a test).
 *
 * @example
 * await atOnce('exec-1', () => 42); // 42, taken in before atOnce returned
 */
export const atOnce: Deliver = (_executionId, takeIn) => {
  try {
    return Promise.resolve(takeIn());
  } catch (e) {
    return Promise.reject(e);
  }
};
