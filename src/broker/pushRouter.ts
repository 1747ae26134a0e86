/**
 * Pushed order reports, routed: one subscription at the adapter for every execution, each push
 * routed by its clientOrderId (O(1) however many orders are in flight) and parsed once.
 */
import { OrderReportSchema } from '../domain/schemas.js';
import type { Deliver } from './brokerCall.js';
import type { BrokerAdapter, OrderReport } from './types.js';

/**
 * Follows one order's pushes for one execution; the returned function stops following it. The
 * adapter is subscribed while anyone follows an order, and unsubscribed when the last one stops.
 */
export type FollowOrder = (executionId: string, clientOrderId: string, onReport: (report: OrderReport) => void, onInvalid: (problem: string) => void) => () => void;

/**
 * The router over one adapter. Each push is delivered (`deliver`) to each execution that follows
 * its order, as any answer is, so reports are taken in in the order they came.
 *
 * @example
 * const follow = pushRouter(adapter, atOnce);
 * const stop = follow('exec-1', 'wd-8c1e0f4b9a2d7c6e5f1a0b3c', (report) => console.log(report.status), console.warn);
 */
export function pushRouter(adapter: BrokerAdapter, deliver: Deliver): FollowOrder {
  type Subscriber = { readonly executionId: string; readonly onReport: (report: OrderReport) => void; readonly onInvalid: (problem: string) => void };
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
    // A push is delivered like an answer, so reports are taken in in the order they came.
    const listeners = subscribers.get(id);
    if (listeners === undefined) return;
    for (const l of listeners.slice()) {
      const takeIn = () => {
        // Still following when its turn comes: an execution that stopped hears nothing more.
        if (!subscribers.get(id as string)?.includes(l)) return;
        if (parsed !== null) l.onReport(parsed);
        else l.onInvalid('unreadable pushed report');
      };
      // One execution's failure to take a report in is its own (it fails as an actor does).
      void deliver(l.executionId, takeIn).catch(() => undefined);
    }
  };

  return (executionId, clientOrderId, onReport, onInvalid) => {
    const subscribe = adapter.subscribe;
    if (typeof subscribe !== 'function') return () => undefined;
    // One subscription at the adapter for every execution: a push is routed by its
    // clientOrderId, O(1) however many orders are in flight, and parsed once. The listener is
    // in place before the adapter is asked, so reports it replays at once reach it.
    const listener = { executionId, onReport, onInvalid };
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
  };
}

