/** The contract every broker adapter implements (DESIGN §6). */
import type { OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from '../domain/schemas.js';

export type { OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest };

/**
 * How far a venue honours a client order id:
 * - `durable`: a second order with an id already used is refused forever, so resending the same
 *   id after an unknown outcome can never make a second order (PaperBroker, the paper service);
 * - `openOrdersOnly`: ids are unique only among *open* orders (Binance): once an order filled or
 *   was cancelled, the same id makes a new order — a resend could double the position;
 * - `none`: the venue does not deduplicate by client id at all.
 *
 * @example
 * class MyBroker implements BrokerAdapter { readonly clientOrderIdDurability: ClientOrderIdDurability = 'openOrdersOnly'; ... }
 * new PaperBroker().clientOrderIdDurability; // 'durable'
 */
export type ClientOrderIdDurability = 'durable' | 'openOrdersOnly' | 'none';

/**
 * A broker as Warden sees it. Throw {@link BrokerError} with `retryable: false` for a definitive
 * refusal; anything else thrown means the outcome is unknown and the order may exist.
 *
 * @example
 * class MyBroker implements BrokerAdapter { readonly name = 'my-broker'; async submitOrder(req) { ... } ... }
 */
export interface BrokerAdapter {
  readonly name: string;
  /**
   * How far the venue honours a client order id (see {@link ClientOrderIdDurability}). Absent is
   * read as `openOrdersOnly`, the safe assumption: a submit whose outcome is unknown is then never
   * resent (unless the failure proves nothing was sent) — Warden keeps looking the order up and
   * listening until the deadline, and flags it if it is still unknown.
   */
  readonly clientOrderIdDurability?: ClientOrderIdDurability;
  /**
   * Which venue and account this adapter trades on (e.g. `http:http://127.0.0.1:7070`,
   * `ccxt:binanceusdm:AbC123`). Recorded in each advisory's claim; a restarted engine resumes
   * unfinished executions only with an adapter of the same identity. Defaults to `name`.
   */
  readonly identity?: string;
  /**
   * What the venue can do beyond the contract. `protectOnFill: true`: the adapter attaches a stop
   * to the entry order at the venue from `OrderRequest.protectOnFill` (so a fill is never without
   * a stop), and Warden sends that field; `placeProtection` then sets rule 2's exact levels.
   */
  readonly capabilities?: { readonly protectOnFill?: boolean };
  /** Must be idempotent on `req.clientOrderId`: a resend returns the existing order. */
  submitOrder(req: OrderRequest): Promise<OrderReport>;
  /** Returns the order's state after the cancel attempt (it may have filled first). */
  cancelOrder(ref: OrderRef): Promise<OrderReport>;
  /**
   * Optional batch cancel, for venues that cancel many orders in one request. When present, the
   * kill switch cancels every working order it reaches with one call instead of one `cancelOrder`
   * each. Answers the state of each order after the attempt, in any order; an order missing from
   * the answer (or an unreadable entry) is an unknown outcome for that order, which is then looked
   * up as after any failed cancel. The whole call has one time limit (`BROKER_CALL_LIMIT_MS.cancelOrders`).
   *
   * @example
   * async cancelOrders(refs) { return (await venue.batchCancel(refs.map((r) => r.clientOrderId))).map(toReport); }
   */
  cancelOrders?(refs: readonly OrderRef[]): Promise<readonly OrderReport[]>;
  /** `null` means the broker does not know the order. */
  getOrder(ref: OrderRef): Promise<OrderReport | null>;
  /** Called only by reconciliation. Quantity is signed: + long, - short. */
  getPosition(symbol: string): Promise<PositionReport>;
  /**
   * Called again with the same `req.clientOrderId` as later fills raise the quantity and move the
   * levels: a request that differs from what is held under that id replaces it (never a second
   * stop); the same request again changes nothing.
   */
  placeProtection(req: ProtectionRequest): Promise<ProtectionReport>;
  /** Optional push updates for all orders; returns an unsubscribe function. */
  subscribe?(listener: (report: OrderReport) => void): () => void;

  // --- Pre-trade limits (`createEngine({ limits })`): optional venue facts asked before the claim,
  // each within LIMIT_FACT_CALL_MS. Orders also carry an optional `priceBound` (the price collar).
  /**
   * Optional: the venue's current bid and ask for `symbol`. Needed by `priceCollarPct`; a quote that
   * cannot be had in time (or cannot be read) refuses the order (`price_collar`, "no quote").
   *
   * @example
   * async getQuote(symbol) { const t = await venue.ticker(symbol); return { bid: t.bid, ask: t.ask }; }
   */
  getQuote?(symbol: string): Promise<Quote>;
  /**
   * Optional: whether the venue takes orders on `symbol` now (open, not halted). `false`, a
   * failure or no answer in time refuses the order (`not_tradable`); an adapter without it is not asked.
   *
   * @example
   * async isTradable(symbol) { return (await venue.instrument(symbol)).status === 'open'; }
   */
  isTradable?(symbol: string): Promise<boolean>;
}

/**
 * The venue's price for a symbol: best bid and best ask.
 *
 * @example
 * const quote: Quote = { bid: 1.0999, ask: 1.1001 };
 */
export interface Quote {
  readonly bid: number;
  readonly ask: number;
}
