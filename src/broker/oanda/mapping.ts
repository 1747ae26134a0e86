/**
 * From v20 to Warden and back, without I/O: client specifiers, units on the instrument's step,
 * fills and cancels as order reports, the levels a trade's dependent orders hold, and the
 * classification of a failed request.
 */
import type { z } from 'zod';
import type { OrderReport, OrderStatus } from '../../domain/schemas.js';
import { BrokerError } from '../errors.js';
import { ErrorBodySchema, OrderCancelTransactionSchema, OrderFillTransactionSchema, type Instrument, type OrderFillTransaction, type Trade, type Transaction } from './schemas.js';

/** `@<client id>`: v20's order and trade specifier by client id. */
export function clientSpecifier(clientOrderId: string): string {
  return `@${encodeURIComponent(clientOrderId)}`;
}

/** The entry order's client id behind a protection id (`<order id>-p`); the trade carries the entry's id. */
export function entryIdOf(protectionId: string): string {
  return protectionId.endsWith('-p') ? protectionId.slice(0, -2) : protectionId;
}

export function pathOnly(path: string): string {
  return path.replace(/^\/v3\/accounts\/[^/]+/, '').split('?')[0]!;
}

/** The units as v20 wants them, or a definitive refusal before anything is sent. */
export function unitsOnStep(symbol: string, quantity: number, instrument: Instrument): string {
  const text = quantity.toFixed(instrument.tradeUnitsPrecision);
  const units = Number(text);
  const refuse = (why: string): never => {
    throw new BrokerError(`${symbol}: quantity ${quantity} ${why}; nothing was sent`, { retryable: false, code: 'InvalidQuantity' });
  };
  if (Math.abs(units - quantity) > 1e-9 * Math.max(1, quantity)) refuse(`is not a whole multiple of ${instrument.name}'s unit step (${10 ** -instrument.tradeUnitsPrecision})`);
  if (!(units > 0)) refuse('rounds to zero units');
  if (units < Number(instrument.minimumTradeSize)) refuse(`is below ${instrument.name}'s minimum trade size (${instrument.minimumTradeSize})`);
  if (instrument.maximumOrderUnits !== undefined && units > Number(instrument.maximumOrderUnits)) refuse(`is above ${instrument.name}'s maximum order units (${instrument.maximumOrderUnits})`);
  return text;
}

/**
 * The average price of every unit the fill traded (rule 2): v20 gives each part's own price — the
 * trades it closed, the one it reduced, the one it opened — and calls the fill's `price`
 * deprecated. When the parts' priced units are all the fill's, their weighted average; else the
 * trade it opened, else the fill's own price, else its VWAP.
 *
 * @example
 * fillPrice({ ...fill, units: '10', tradeReduced: { tradeID: '3', units: '-4', price: '1.1' }, tradeOpened: { tradeID: '7', units: '6', price: '1.1005' } }); // 1.1003
 */
export function fillPrice(fill: OrderFillTransaction): number | null {
  const parts = [...(fill.tradesClosed ?? []), ...(fill.tradeReduced ? [fill.tradeReduced] : []), ...(fill.tradeOpened ? [fill.tradeOpened] : [])]
    .map((p) => ({ units: Math.abs(Number(p.units)), price: Number(p.price) }))
    .filter((p) => p.units > 0 && p.price > 0);
  const units = parts.reduce((n, p) => n + p.units, 0);
  const filled = Math.abs(Number(fill.units));
  if (parts.length > 1 && Math.abs(units - filled) <= 1e-9 * Math.max(1, filled)) {
    return Number((parts.reduce((n, p) => n + p.units * p.price, 0) / units).toPrecision(12));
  }
  const price = Number(fill.tradeOpened?.price ?? fill.price ?? fill.fullVWAP ?? NaN);
  return price > 0 ? price : null;
}

export function fillReport(clientOrderId: string, fill: OrderFillTransaction, ordered: number | undefined): OrderReport {
  const filled = Math.abs(Number(fill.units));
  const status: OrderStatus = ordered === undefined || filled >= ordered ? 'filled' : 'partially_filled';
  return { clientOrderId, brokerOrderId: fill.orderID, status, filledQuantity: filled, averageFillPrice: fillPrice(fill) };
}

/** The stop loss and take profit that protect these trades: pending dependent orders, the latest trade's counting. */
export function levelsOf(trades: readonly Trade[]): { stopLoss: number | null; takeProfit: number | null } {
  const latest = [...trades].sort((a, b) => Number(b.id) - Number(a.id));
  const sl = latest.find((t) => t.stopLossOrder?.state === 'PENDING' && t.stopLossOrder.price !== undefined)?.stopLossOrder?.price;
  const tp = latest.find((t) => t.takeProfitOrder?.state === 'PENDING' && t.takeProfitOrder.price !== undefined)?.takeProfitOrder?.price;
  return { stopLoss: sl === undefined ? null : Number(sl), takeProfit: tp === undefined ? null : Number(tp) };
}

export function readError(json: unknown): z.infer<typeof ErrorBodySchema> | undefined {
  const parsed = ErrorBodySchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** A reject transaction's reason is the precise one; `errorCode` is the request's. */
export function errorCodeOf(error: z.infer<typeof ErrorBodySchema> | undefined): string | undefined {
  return (
    error?.orderRejectTransaction?.rejectReason ??
    error?.stopLossOrderRejectTransaction?.rejectReason ??
    error?.takeProfitOrderRejectTransaction?.rejectReason ??
    error?.orderCancelRejectTransaction?.rejectReason ??
    error?.errorCode
  );
}

/** Connection refused or host not found: nothing left this process. Anything else may have reached OANDA. */
export function networkFailure(what: string, e: unknown, limitMs: number): BrokerError {
  if ((e as { name?: unknown } | null)?.name === 'TimeoutError') return new BrokerError(`${what} timed out after ${limitMs} ms`, { retryable: true, code: 'timeout', cause: e });
  const cause = (e as { cause?: { code?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new BrokerError(`${what}: ${code}`, { retryable: true, code: 'not_sent', cause: e });
  return new BrokerError(`${what} failed: ${(e as Error | null)?.message ?? String(e)}`, { retryable: true, code: 'network', cause: e });
}

/**
 * The transactions stream read as order reports. A fill's transaction does not carry its order's
 * units, so the entry's units are taken from its `MARKET_ORDER` transaction (or from what this
 * process sent): a fill of fewer units is partial, and so is one whose order's units are unknown. An IOC order's rest is cancelled in the fill's
 * batch; the cancel then reports what filled before it, never zero.
 *
 * A reject or a cancel carrying a client id ends that id's order only when it is about that order:
 * v20 refuses a second request for an id still pending (`CLIENT_ORDER_ID_ALREADY_EXISTS`, with a
 * `MARKET_ORDER_REJECT` naming the id) and cancels a second order whose trade id is taken
 * (`CLIENT_TRADE_ID_ALREADY_EXISTS`); neither says anything of the order already there. So a reject
 * for an id whose order was created, a cancel of another order than the one created under the id,
 * and a cancel for a taken trade id are not reports (a look-up says how the order stands).
 *
 * @example
 * const streamed = new StreamedOrders(50_000);
 * streamed.report({ id: '7', type: 'ORDER_FILL', orderID: '6', clientOrderID: 'wd-1', instrument: 'EUR_USD', units: '500' }, () => 1_000);
 * // { clientOrderId: 'wd-1', status: 'partially_filled', filledQuantity: 500, … }
 */
export class StreamedOrders {
  readonly #limit: number;
  /** Units of entry orders seen on the stream, by client id. */
  readonly #ordered = new Map<string, number>();
  /** The order created under each client id, as the stream or a look-up named it. */
  readonly #orderIds = new Map<string, string>();
  /** Fills seen on the stream, by order id. */
  readonly #fills = new Map<string, OrderFillTransaction>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** A streamed transaction about one of Warden's entry orders, as an order report; null for any other. */
  report(t: Transaction, sentQuantity: (clientOrderId: string) => number | undefined): OrderReport | null {
    if (t.type === 'MARKET_ORDER') {
      const id = (t as { clientExtensions?: { id?: unknown } }).clientExtensions?.id;
      const units = Math.abs(Number((t as { units?: unknown }).units));
      if (typeof id === 'string' && units > 0) this.#remember(this.#ordered, id, units);
      const orderId = (t as { id?: unknown }).id;
      if (typeof id === 'string' && typeof orderId === 'string') this.#remember(this.#orderIds, id, orderId);
      return null;
    }
    if (t.type === 'ORDER_FILL') {
      const fill = OrderFillTransactionSchema.safeParse(t);
      if (!fill.success || fill.data.clientOrderID === undefined) return null;
      this.#remember(this.#fills, fill.data.orderID, fill.data);
      const id = fill.data.clientOrderID;
      if (!this.#orderIds.has(id)) this.#remember(this.#orderIds, id, fill.data.orderID);
      const ordered = this.#ordered.get(id) ?? sentQuantity(id);
      // The create came before this stream (another process sent it): a fill of unknown share is
      // never called complete; the look-up, or the cancel of an IOC rest, says how it ended.
      if (ordered === undefined) return { ...fillReport(id, fill.data, undefined), status: 'partially_filled' };
      return fillReport(id, fill.data, ordered);
    }
    if (t.type === 'ORDER_CANCEL') {
      const cancel = OrderCancelTransactionSchema.safeParse(t);
      if (!cancel.success || cancel.data.clientOrderID === undefined) return null;
      // Another order under the same id (a second request's), or one cancelled because the trade id is taken: not this order's end.
      const created = this.#orderIds.get(cancel.data.clientOrderID);
      if ((created !== undefined && created !== cancel.data.orderID) || cancel.data.reason === 'CLIENT_TRADE_ID_ALREADY_EXISTS') return null;
      // A cancelled stop or take profit is not an entry order; only entries carry Warden's ids unsuffixed.
      const fill = this.#fills.get(cancel.data.orderID);
      return {
        clientOrderId: cancel.data.clientOrderID,
        brokerOrderId: cancel.data.orderID,
        status: 'cancelled',
        filledQuantity: fill ? Math.abs(Number(fill.units)) : 0,
        averageFillPrice: fill ? fillPrice(fill) : null,
        ...(cancel.data.reason ? { reason: cancel.data.reason } : {}),
      };
    }
    if (t.type === 'MARKET_ORDER_REJECT') {
      const id = (t as { clientExtensions?: { id?: unknown } }).clientExtensions?.id;
      if (typeof id !== 'string') return null;
      const reason = (t as { rejectReason?: unknown }).rejectReason;
      // The refusal of a second request for an id whose order exists: about the request, not the order.
      if (reason === 'CLIENT_ORDER_ID_ALREADY_EXISTS' || this.#orderIds.has(id) || this.#ordered.has(id)) return null;
      return { clientOrderId: id, brokerOrderId: null, status: 'rejected', filledQuantity: 0, averageFillPrice: null, ...(typeof reason === 'string' ? { reason } : {}) };
    }
    return null;
  }

  /** The order's units and id, as a look-up read them: later streamed fills are measured against them, and only its own cancel ends it. */
  noteOrdered(clientOrderId: string, units: number, orderId?: string): void {
    if (units > 0) this.#remember(this.#ordered, clientOrderId, units);
    if (orderId !== undefined) this.#remember(this.#orderIds, clientOrderId, orderId);
  }

  #remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.set(key, value);
    if (map.size > this.#limit) map.delete(map.keys().next().value!);
  }
}
