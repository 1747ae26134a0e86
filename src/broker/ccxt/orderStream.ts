/**
 * The venue's pushed order updates (ccxt pro's `watchOrders`), shared by every listener. The stream
 * starts with the first listener, reconnects after a failure (backing off) for as long as anyone
 * listens, and closes when nobody does. A missed push costs latency only: polling goes on.
 */
import type { OrderReport } from '../../domain/schemas.js';
import { orderReportOf } from './mapping.js';
import type { CcxtExchange, CcxtOrder } from './types.js';

/** How long the push stream waits before it reconnects after a failure, doubling up to the maximum. */
const WATCH_RETRY_MS = 500;
const WATCH_RETRY_MAX_MS = 30_000;

/**
 * One push stream per exchange, fanned out to its listeners.
 *
 * @example
 * const stream = new OrderStream(exchange, () => exchange.loadMarkets());
 * const stop = stream.subscribe((report) => console.log(report.status));
 */
export class OrderStream {
  readonly #exchange: CcxtExchange;
  readonly #loadMarkets: () => Promise<unknown>;

  constructor(exchange: CcxtExchange, loadMarkets: () => Promise<unknown>) {
    this.#exchange = exchange;
    this.#loadMarkets = loadMarkets;
  }

  readonly #listeners = new Set<(report: OrderReport) => void>();
  #watching = false;

  /**
   * Order updates pushed by the venue (ccxt pro's `watchOrders`), when the exchange has them;
   * otherwise none, and Warden sees fills by polling alone. The stream reconnects after a failure,
   * backing off, for as long as anyone listens; a missed push costs latency only (polling goes on).
   */
  subscribe(listener: (report: OrderReport) => void): () => void {
    if (typeof this.#exchange.watchOrders !== 'function' || this.#exchange.has?.watchOrders !== true) return () => undefined;
    this.#listeners.add(listener);
    if (!this.#watching) void this.#watch();
    return () => {
      this.#listeners.delete(listener);
      // Nobody listens: the stream is closed, so it keeps neither a socket nor the process alive.
      if (this.#listeners.size === 0) void this.#exchange.close?.()?.catch?.(() => undefined);
    };
  }

  async #watch(): Promise<void> {
    this.#watching = true;
    let retryMs = WATCH_RETRY_MS;
    try {
      while (this.#listeners.size > 0) {
        let orders: CcxtOrder[];
        try {
          // Markets that could not be loaded are tried again like a dropped stream: one failure
          // must not leave every later execution without pushes.
          await this.#loadMarkets();
          orders = await this.#exchange.watchOrders!();
          retryMs = WATCH_RETRY_MS;
        } catch (e) {
          if ((e as { name?: unknown } | null)?.name === 'NotSupported') return; // this venue has no stream: polling only
          await new Promise((r) => setTimeout(r, retryMs).unref());
          retryMs = Math.min(retryMs * 2, WATCH_RETRY_MAX_MS);
          continue;
        }
        for (const order of Array.isArray(orders) ? orders : []) {
          if (typeof order?.clientOrderId !== 'string') continue;
          let report: OrderReport;
          try {
            report = orderReportOf(order, order.clientOrderId);
          } catch {
            continue; // an order the venue described in a way we cannot read: polling reads it
          }
          for (const l of [...this.#listeners]) {
            try {
              l(report);
            } catch {
              // one listener's failure is its own: the stream and the others go on
            }
          }
        }
      }
    } finally {
      this.#watching = false;
    }
  }
}
