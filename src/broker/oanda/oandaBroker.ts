/**
 * OANDA's v20 REST API as a {@link BrokerAdapter}, on Node's global `fetch` (no SDK). Requests,
 * parsing and the classification of failures are in `./rest.ts`; v20 ↔ Warden mapping in
 * `./mapping.ts`; the transactions stream in `./stream.ts`. This file decides what to ask.
 */
import { inspect } from 'node:util';
import type { OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from '../../domain/schemas.js';
import { BrokerError } from '../errors.js';
import type { BrokerAdapter } from '../types.js';
import { instrumentMap } from './instruments.js';
import { clientSpecifier, entryIdOf, errorCodeOf, fillPrice, fillReport, levelsOf, readError, StreamedOrders, unitsOnStep } from './mapping.js';
import { OANDA_HOSTS, type OandaAccountCheck, type OandaBrokerOptions } from './options.js';
import { OandaRest } from './rest.js';
import {
  AccountSummarySchema,
  CancelOrderSchema,
  CreateOrderCreatedSchema,
  GetOrderSchema,
  GetPositionSchema,
  GetTradeSchema,
  ListTradesSchema,
  SetDependentOrdersSchema,
  type Instrument,
  type Trade,
  type Transaction,
} from './schemas.js';
import { TransactionStream } from './stream.js';

export { OANDA_HOSTS, type OandaAccountCheck, type OandaBrokerOptions } from './options.js';

/** How many sent client ids (and streamed fills) the adapter remembers (far more than one 30 s window sends). */
const REMEMBERED_IDS = 50_000;

/**
 * `price` on the tick of `precision` decimals, rounded by `round` (Math.floor or Math.ceil), as v20
 * reads a price. Within a thousandth of a tick is on it: binary noise (1.1055 × 10⁵ =
 * 110549.99999999999) is not a tick.
 *
 * @example
 * onTick(1.105549, 5, Math.floor); // '1.10554'
 */
function onTick(price: number, precision: number, round: (x: number) => number): string {
  const scale = 10 ** precision;
  const scaled = price * scale;
  const nearest = Math.round(scaled);
  return ((Math.abs(scaled - nearest) < 1e-3 ? nearest : round(scaled)) / scale).toFixed(precision);
}

/**
 * A {@link BrokerAdapter} for OANDA v20.
 *
 * - Market orders are `FOK` (or `IOC`, see {@link OandaBrokerOptions.timeInForce}) with `clientExtensions.id` (and the trade's client id) set to Warden's
 *   clientOrderId; units are signed from the side.
 * - With `OrderRequest.protectOnFill` the entry order carries `stopLossOnFill.distance`, priced by
 *   OANDA from the trade's own open price, so the position is never without a stop; `placeProtection`
 *   then sets rule 2's exact stop loss and take profit on the trade
 *   (`PUT /trades/{tradeSpecifier}/orders`, which replaces both).
 * - OANDA refuses a duplicate client id only while the first order is pending, so
 *   `clientOrderIdDurability` is `openOrdersOnly`, and an id this process already sent is looked up
 *   before it is ever sent again.
 * - Fills and cancels are pushed from the transactions stream (heartbeats, reconnect, gap fill).
 *
 * @example
 * const broker = new OandaBroker({ environment: 'practice', token: process.env.OANDA_TOKEN!, accountId: process.env.OANDA_ACCOUNT! });
 * const engine = createEngine({ broker });
 */
export class OandaBroker implements BrokerAdapter {
  readonly name: string;
  readonly identity: string;
  readonly clientOrderIdDurability = 'openOrdersOnly' as const;
  readonly capabilities = { protectOnFill: true } as const;
  readonly #rest: OandaRest;
  readonly #graceMs: number;
  readonly #timeInForce: 'FOK' | 'IOC';
  readonly #priceBoundPct: number | undefined;
  readonly #now: () => number;
  readonly #map: ReturnType<typeof instrumentMap>;
  readonly #stream: TransactionStream;
  /** Client ids this process sent, with when and how many units: a second send is looked up first, a fresh one's NO_SUCH_ORDER is lag. */
  readonly #sent = new Map<string, { at: number; quantity: number }>();
  /** Orders OANDA refused outright (400/404 with a reject transaction): no order exists to look up. */
  readonly #rejected = new Map<string, OrderReport>();
  /** What the stream said about entry orders (their units, their fills). */
  readonly #streamed = new StreamedOrders(REMEMBERED_IDS);

  constructor(options: OandaBrokerOptions) {
    if (typeof options.token !== 'string' || options.token.length === 0) throw new TypeError('OandaBroker needs a token');
    if (typeof options.accountId !== 'string' || !/^[\w-]+$/.test(options.accountId)) throw new TypeError('OandaBroker needs an account id such as 101-004-1234567-001');
    const environment = options.environment ?? 'practice';
    const hosts = OANDA_HOSTS[environment];
    if (hosts === undefined) throw new TypeError(`OandaBroker: environment must be 'practice' or 'live', got ${String(environment)}`);
    if (options.timeInForce !== undefined && options.timeInForce !== 'FOK' && options.timeInForce !== 'IOC') throw new TypeError(`OandaBroker: timeInForce must be 'FOK' or 'IOC' (v20's only two for a market order), got ${String(options.timeInForce)}`);
    const restUrl = (options.restUrl ?? hosts.rest).replace(/\/+$/, '');
    this.name = `oanda:${environment}`;
    this.#rest = new OandaRest({ name: this.name, token: options.token, accountId: options.accountId, restUrl, limitMs: options.requestLimitMs ?? 4_000 });
    this.#timeInForce = options.timeInForce ?? 'FOK';
    this.#graceMs = options.lookupGraceMs ?? 2_000;
    this.#priceBoundPct = options.priceBoundPct;
    this.#now = options.now ?? Date.now;
    this.#map = instrumentMap(options.instruments);
    this.identity = `oanda:${options.restUrl ? restUrl : environment}:${options.accountId}`;
    this.#stream = new TransactionStream({
      url: `${(options.streamUrl ?? options.restUrl ?? hosts.stream).replace(/\/+$/, '')}${this.#rest.accountPath('/transactions/stream')}`,
      headers: () => this.#rest.headers(),
      sinceId: (id) => this.#rest.sinceId(id),
      onTransaction: (t) => this.#pushed(t),
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 15_000,
      reconnectMs: options.reconnectMs ?? 500,
    });
  }

  toJSON(): { name: string } {
    return { name: this.name };
  }

  [inspect.custom](): string {
    return `OandaBroker(${this.name})`;
  }

  // ---- the contract

  async submitOrder(req: OrderRequest): Promise<OrderReport> {
    const instrument = await this.#instrument(req.symbol).catch((e: unknown) => {
      // The instruments are read before the order (once a process): a failure there sent no order.
      if (e instanceof BrokerError && e.retryable) throw new BrokerError(`${this.name}: the order was not sent: reading the instruments failed first (${e.message})`, { retryable: true, code: 'not_sent', cause: e });
      throw e;
    });
    const units = unitsOnStep(req.symbol, req.quantity, instrument);
    const ref = { clientOrderId: req.clientOrderId, symbol: req.symbol };
    // OANDA forgets an id once its order is no longer pending: never send one twice unlooked.
    if (this.#sent.has(req.clientOrderId)) {
      const existing = this.#rejected.get(req.clientOrderId) ?? (await this.getOrder(ref));
      if (existing) return existing;
    }
    const order: Record<string, unknown> = {
      type: 'MARKET',
      instrument: instrument.name,
      units: req.side === 'buy' ? units : `-${units}`,
      timeInForce: this.#timeInForce,
      positionFill: 'DEFAULT',
      clientExtensions: { id: req.clientOrderId },
      tradeClientExtensions: { id: req.clientOrderId },
    };
    const protect = req.protectOnFill;
    if (protect) {
      const tick = 10 ** -instrument.displayPrecision;
      // Rounded down to the tick: never a wider stop than approved. Under one tick, no stop can be
      // set as approved (the fill would be protected wider, or at its own price): refused unsent.
      const approved = Math.abs(protect.slOffsetPct) * protect.referencePrice;
      const distance = Number(onTick(approved, instrument.displayPrecision, Math.floor));
      if (!(distance >= tick - tick * 1e-9)) {
        throw new BrokerError(`${this.name}: the approved stop distance ${Number(approved.toPrecision(6))} is under one tick of ${instrument.name} (${tick.toFixed(instrument.displayPrecision)}): no stop can be placed as approved; nothing was sent`, { retryable: false, code: 'InvalidStopDistance' });
      }
      order.stopLossOnFill = { distance: distance.toFixed(instrument.displayPrecision), timeInForce: 'GTC' };
    }
    // The engine's collar (req.priceBound) and this adapter's own: the stricter one bounds the fill.
    const bounds = [...(req.priceBound !== undefined ? [req.priceBound] : []), ...(protect && this.#priceBoundPct !== undefined ? [protect.referencePrice * (req.side === 'buy' ? 1 + this.#priceBoundPct : 1 - this.#priceBoundPct)] : [])];
    // Rounded to the instrument's tick inward, never outward: a bound half a tick looser than the collar would let a fill beyond it.
    if (bounds.length > 0) order.priceBound = req.side === 'buy' ? onTick(Math.min(...bounds), instrument.displayPrecision, Math.floor) : onTick(Math.max(...bounds), instrument.displayPrecision, Math.ceil);
    this.#remember(req.clientOrderId, req.quantity);
    const answer = await this.#rest.call('POST', this.#rest.accountPath('/orders'), { order });
    if (answer.status === 201) {
      const created = this.#rest.parse(CreateOrderCreatedSchema, answer.json, 'order create answer');
      const { orderFillTransaction: fill, orderCancelTransaction: cancel } = created;
      this.#streamed.noteOrdered(req.clientOrderId, req.quantity, created.orderCreateTransaction.id);
      // IOC: what filled, and the rest cancelled in the same batch. The order is over either way.
      if (cancel) return { clientOrderId: req.clientOrderId, brokerOrderId: cancel.orderID, status: 'cancelled', filledQuantity: fill ? Math.abs(Number(fill.units)) : 0, averageFillPrice: fill ? fillPrice(fill) : null, reason: cancel.reason ?? 'cancelled by OANDA' };
      if (fill) return fillReport(req.clientOrderId, fill, req.quantity);
      return { clientOrderId: req.clientOrderId, brokerOrderId: created.orderCreateTransaction.id, status: 'pending', filledQuantity: 0, averageFillPrice: null };
    }
    const error = readError(answer.json);
    if (errorCodeOf(error) === 'CLIENT_ORDER_ID_ALREADY_EXISTS') {
      // The id is taken by a pending order: that order is this one. Adopt it, never refuse it.
      const existing = await this.getOrder(ref);
      if (existing) return existing;
      throw new BrokerError(`${this.name}: CLIENT_ORDER_ID_ALREADY_EXISTS for ${req.clientOrderId}, and the order is not visible yet`, { retryable: true, code: 'CLIENT_ORDER_ID_ALREADY_EXISTS' });
    }
    const failure = this.#rest.failure('POST', '/orders', answer.status, error);
    // A definitive refusal, with a reject transaction or not (a request v20 did not accept at all:
    // INVALID_PARAMETER, an account it refuses): no order was made under the id.
    if (!failure.retryable) {
      this.#rejected.set(req.clientOrderId, { clientOrderId: req.clientOrderId, brokerOrderId: null, status: 'rejected', filledQuantity: 0, averageFillPrice: null, reason: failure.message });
    }
    throw failure;
  }

  async cancelOrder(ref: OrderRef): Promise<OrderReport> {
    const rejected = this.#rejected.get(ref.clientOrderId);
    if (rejected) return rejected;
    const answer = await this.#rest.call('PUT', this.#rest.accountPath(`/orders/${clientSpecifier(ref.clientOrderId)}/cancel`));
    if (answer.status === 200) {
      const cancelled = this.#rest.parse(CancelOrderSchema, answer.json, 'cancel answer').orderCancelTransaction;
      return { clientOrderId: ref.clientOrderId, brokerOrderId: cancelled.orderID, status: 'cancelled', filledQuantity: 0, averageFillPrice: null, ...(cancelled.reason ? { reason: cancelled.reason } : {}) };
    }
    const error = readError(answer.json);
    const failure = this.#rest.failure('PUT', '/orders/…/cancel', answer.status, error);
    if (failure.retryable) throw failure;
    // Not cancellable: filled, already cancelled, or never there. The look-up says which.
    const report = await this.getOrder(ref);
    if (report) return report;
    throw new BrokerError(`${this.name}: unknown order ${ref.clientOrderId}: ${failure.message}`, { retryable: false, code: 'unknown_order' });
  }

  async getOrder(ref: OrderRef): Promise<OrderReport | null> {
    const rejected = this.#rejected.get(ref.clientOrderId);
    if (rejected) return rejected;
    const answer = await this.#rest.call('GET', this.#rest.accountPath(`/orders/${clientSpecifier(ref.clientOrderId)}`));
    if (answer.status === 404) {
      const sentAt = this.#sent.get(ref.clientOrderId)?.at;
      // A freshly created order can answer NO_SUCH_ORDER for a moment: "not yet", not "never".
      if (sentAt !== undefined && this.#now() - sentAt < this.#graceMs) {
        throw new BrokerError(`${this.name}: order ${ref.clientOrderId} not visible yet (sent ${this.#now() - sentAt} ms ago)`, { retryable: true, code: 'lookup_lag' });
      }
      return null;
    }
    if (answer.status !== 200) throw this.#rest.failure('GET', '/orders/…', answer.status, readError(answer.json));
    const { order } = this.#rest.parse(GetOrderSchema, answer.json, 'order');
    if (order.clientExtensions?.id !== undefined && order.clientExtensions.id !== ref.clientOrderId) {
      throw new BrokerError(`${this.name}: asked for ${ref.clientOrderId}, OANDA answered about ${order.clientExtensions.id}`, { retryable: true, code: 'wrong_order' });
    }
    const ordered = order.units === undefined ? undefined : Math.abs(Number(order.units));
    if (ordered !== undefined) this.#streamed.noteOrdered(ref.clientOrderId, ordered, order.id);
    const base = { clientOrderId: ref.clientOrderId, brokerOrderId: order.id };
    const fill = order.fillingTransactionID ? await this.#rest.fillTransaction(order.fillingTransactionID) : null;
    // The fill must be this order's too: another order's units and price are never taken as ours.
    if (fill && (fill.orderID !== order.id || (fill.clientOrderID !== undefined && fill.clientOrderID !== ref.clientOrderId))) {
      throw new BrokerError(`${this.name}: order ${order.id} (${ref.clientOrderId}) names fill ${fill.id}, which is order ${fill.orderID}'s (${fill.clientOrderID ?? 'no client id'})`, { retryable: true, code: 'wrong_order' });
    }
    switch (order.state) {
      case 'FILLED':
        if (!fill) throw new BrokerError(`${this.name}: order ${order.id} is FILLED without a filling transaction`, { retryable: true, code: 'unreadable_answer' });
        return fillReport(ref.clientOrderId, fill, ordered);
      case 'CANCELLED': {
        const reason = order.cancellingTransactionID ? await this.#rest.cancelReason(order.cancellingTransactionID) : undefined;
        const filled = fill ? Math.abs(Number(fill.units)) : 0;
        return { ...base, status: 'cancelled', filledQuantity: filled, averageFillPrice: fill ? fillPrice(fill) : null, ...(reason ? { reason } : {}) };
      }
      default:
        return { ...base, status: 'pending', filledQuantity: 0, averageFillPrice: null };
    }
  }

  async getPosition(symbol: string): Promise<PositionReport> {
    const instrument = await this.#instrument(symbol);
    const answer = await this.#rest.call('GET', this.#rest.accountPath(`/positions/${instrument.name}`));
    if (answer.status !== 200) throw this.#rest.failure('GET', '/positions/…', answer.status, readError(answer.json), true);
    const { position } = this.#rest.parse(GetPositionSchema, answer.json, 'position');
    const long = Number(position.long.units);
    const short = Number(position.short.units);
    if (long !== 0 && short !== 0) {
      // A hedging account holds both sides; netting them would misstate what is at risk.
      throw new BrokerError(`${this.name}: ${instrument.name} is held both long and short (a hedging account); Warden reconciles net positions only`, { retryable: true, code: 'hedge_mode' });
    }
    const side = long !== 0 ? position.long : short !== 0 ? position.short : null;
    const quantity = long + short;
    const averagePrice = side?.averagePrice !== undefined && Number(side.averagePrice) > 0 ? Number(side.averagePrice) : null;
    if (quantity === 0) return { symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null };
    const trades = await this.#rest.call('GET', this.#rest.accountPath(`/trades?instrument=${instrument.name}&state=OPEN`));
    if (trades.status !== 200) throw this.#rest.failure('GET', '/trades', trades.status, readError(trades.json), true);
    const open = this.#rest.parse(ListTradesSchema, trades.json, 'trades').trades.filter((t) => t.state === 'OPEN');
    return { symbol, quantity, averagePrice, ...levelsOf(open) };
  }

  async placeProtection(req: ProtectionRequest): Promise<ProtectionReport> {
    const instrument = await this.#instrument(req.symbol);
    const tickSize = Number(`1e-${instrument.displayPrecision}`);
    const entryId = entryIdOf(req.clientOrderId);
    const base = { clientOrderId: req.clientOrderId, tickSize };
    const trade = await this.#trade(entryId);
    if (trade === null || trade.state !== 'OPEN') {
      return { ...base, status: 'rejected', stopLoss: null, takeProfit: null, quantity: 0, reason: `no open trade for ${entryId}${trade ? ` (it is ${trade.state})` : ''}` };
    }
    const units = Number(trade.currentUnits);
    if ((units > 0 ? 'buy' : 'sell') !== req.side) {
      return { ...base, status: 'rejected', stopLoss: null, takeProfit: null, quantity: 0, reason: `trade ${trade.id} is ${units > 0 ? 'long' : 'short'}, the request protects a ${req.side}` };
    }
    // The stop on the tick toward the position's price, never beyond what was approved (a long's up, a short's down).
    const stopLoss = onTick(req.stopLoss, instrument.displayPrecision, req.side === 'buy' ? Math.ceil : Math.floor);
    const takeProfit = req.takeProfit.toFixed(instrument.displayPrecision);
    const held = levelsOf([trade]);
    // Idempotent: the levels already held are not sent again.
    if (held.stopLoss === Number(stopLoss) && held.takeProfit === Number(takeProfit)) {
      return { ...base, status: 'placed', stopLoss: held.stopLoss, takeProfit: held.takeProfit, quantity: Math.abs(units) };
    }
    const answer = await this.#rest.call('PUT', this.#rest.accountPath(`/trades/${trade.id}/orders`), {
      stopLoss: { price: stopLoss, timeInForce: 'GTC' },
      takeProfit: { price: takeProfit, timeInForce: 'GTC' },
    });
    if (answer.status === 200) {
      const set = this.#rest.parse(SetDependentOrdersSchema, answer.json, 'dependent orders answer');
      // A 200 can still undo what it made: a new order cancelled at creation, or filled at once
      // (the trade then closed). Neither protects the trade as asked: never read as placed.
      const undone = [
        ['stop loss', 'cancelled as it was made', set.stopLossOrderCreatedCancelTransaction],
        ['take profit', 'cancelled as it was made', set.takeProfitOrderCreatedCancelTransaction],
        ['stop loss', 'filled at once', set.stopLossOrderFillTransaction],
        ['take profit', 'filled at once', set.takeProfitOrderFillTransaction],
      ] as const;
      const lost = undone.filter(([, , t]) => t !== undefined).map(([what, how, t]) => `the ${what} was ${how}${t!.reason ? ` (${t!.reason})` : ''}`);
      if (lost.length > 0) {
        return { ...base, status: 'rejected', stopLoss: set.stopLossOrderCreatedCancelTransaction || set.stopLossOrderFillTransaction ? null : Number(set.stopLossOrderTransaction?.price ?? stopLoss), takeProfit: set.takeProfitOrderCreatedCancelTransaction || set.takeProfitOrderFillTransaction ? null : Number(set.takeProfitOrderTransaction?.price ?? takeProfit), quantity: 0, reason: `OANDA answered 200, but ${lost.join(', and ')}` };
      }
      const sl = set.stopLossOrderTransaction?.price ?? stopLoss;
      const tp = set.takeProfitOrderTransaction?.price ?? takeProfit;
      return { ...base, status: 'placed', stopLoss: Number(sl), takeProfit: Number(tp), quantity: Math.abs(units) };
    }
    const error = readError(answer.json);
    const failure = this.#rest.failure('PUT', '/trades/…/orders', answer.status, error);
    if (failure.retryable) throw failure;
    // Refused: what the trade still holds (its stop from the fill) is what protects it.
    return { ...base, status: 'rejected', stopLoss: held.stopLoss, takeProfit: held.takeProfit, quantity: 0, reason: failure.message };
  }

  /**
   * Fills and cancels pushed from the account's transactions stream (one connection for all
   * listeners). Bound to the instance, so it works when a host wraps the adapter (e.g. in a Proxy).
   */
  readonly subscribe = (listener: (report: OrderReport) => void): (() => void) => this.#stream.add(listener);

  /**
   * The dry run: reads the account summary and the instruments for `symbols` and sends nothing.
   *
   * @example
   * const check = await broker.checkAccount(['EURUSD', 'XAUUSD']);
   * console.log(check.balance, check.instruments.map((i) => i.instrument));
   */
  async checkAccount(symbols: readonly string[] = []): Promise<OandaAccountCheck> {
    const answer = await this.#rest.call('GET', this.#rest.accountPath('/summary'));
    if (answer.status !== 200) throw this.#rest.failure('GET', '/summary', answer.status, readError(answer.json));
    const { account } = this.#rest.parse(AccountSummarySchema, answer.json, 'account summary');
    const instruments = [];
    for (const symbol of symbols) {
      const i = await this.#instrument(symbol);
      instruments.push({ symbol, instrument: i.name, displayPrecision: i.displayPrecision, minimumTradeSize: i.minimumTradeSize });
    }
    return {
      accountId: account.id,
      currency: account.currency,
      balance: account.balance,
      hedgingEnabled: account.hedgingEnabled ?? false,
      openTradeCount: account.openTradeCount ?? 0,
      pendingOrderCount: account.pendingOrderCount ?? 0,
      instruments,
    };
  }

  /** Stops the transactions stream. */
  close(): void {
    this.#stream.close();
  }

  // ---- internals

  #remember(clientOrderId: string, quantity: number): void {
    this.#sent.delete(clientOrderId);
    this.#sent.set(clientOrderId, { at: this.#now(), quantity });
    if (this.#sent.size > REMEMBERED_IDS) this.#sent.delete(this.#sent.keys().next().value!);
  }

  async #instrument(symbol: string): Promise<Instrument> {
    const name = this.#map.toInstrument(symbol);
    if (name === null) throw new BrokerError(`${this.name}: no OANDA instrument for '${symbol}'; map it with the instruments option`, { retryable: false, code: 'unknown_instrument' });
    const found = (await this.#rest.instruments()).get(name);
    if (!found) throw new BrokerError(`${this.name}: the account cannot trade ${name} ('${symbol}')`, { retryable: false, code: 'unknown_instrument' });
    return found;
  }

  async #trade(entryClientId: string): Promise<Trade | null> {
    const answer = await this.#rest.call('GET', this.#rest.accountPath(`/trades/${clientSpecifier(entryClientId)}`));
    if (answer.status === 404) {
      const sentAt = this.#sent.get(entryClientId)?.at;
      if (sentAt !== undefined && this.#now() - sentAt < this.#graceMs) throw new BrokerError(`${this.name}: trade ${entryClientId} not visible yet`, { retryable: true, code: 'lookup_lag' });
      return null;
    }
    if (answer.status !== 200) throw this.#rest.failure('GET', '/trades/…', answer.status, readError(answer.json), true);
    return this.#rest.parse(GetTradeSchema, answer.json, 'trade').trade;
  }

  /** A streamed transaction about one of Warden's orders, as an order report; null for any other. */
  #pushed(t: Transaction): OrderReport | null {
    return this.#streamed.report(t, (clientOrderId) => this.#sent.get(clientOrderId)?.quantity);
  }
}

