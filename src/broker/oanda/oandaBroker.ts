/**
 * OANDA's v20 REST API as a {@link BrokerAdapter}, on Node's global `fetch` (no SDK). Every
 * request is bounded; every answer is parsed with the v20 schemas in `./schemas.ts`; every
 * failure is classified as docs/brokers.md says (definitive only when OANDA refused the request).
 */
import { inspect } from 'node:util';
import type { z } from 'zod';
import type { OrderRef, OrderReport, OrderRequest, OrderStatus, PositionReport, ProtectionReport, ProtectionRequest } from '../../domain/schemas.js';
import { BrokerError } from '../errors.js';
import type { BrokerAdapter } from '../types.js';
import { instrumentMap } from './instruments.js';
import {
  AccountSummarySchema,
  CancelOrderSchema,
  CreateOrderCreatedSchema,
  ErrorBodySchema,
  GetOrderSchema,
  GetPositionSchema,
  GetTradeSchema,
  GetTransactionSchema,
  ListInstrumentsSchema,
  ListTradesSchema,
  OrderCancelTransactionSchema,
  OrderFillTransactionSchema,
  SetDependentOrdersSchema,
  TransactionsSinceSchema,
  type Instrument,
  type OrderFillTransaction,
  type Trade,
  type Transaction,
} from './schemas.js';
import { TransactionStream } from './stream.js';

/**
 * OANDA's two environments, each with its own hosts and its own tokens.
 *
 * @example
 * OANDA_HOSTS.practice.rest; // 'https://api-fxpractice.oanda.com'
 */
export const OANDA_HOSTS = {
  practice: { rest: 'https://api-fxpractice.oanda.com', stream: 'https://stream-fxpractice.oanda.com' },
  live: { rest: 'https://api-fxtrade.oanda.com', stream: 'https://stream-fxtrade.oanda.com' },
} as const;

/**
 * How to reach an OANDA account.
 *
 * @example
 * const options: OandaBrokerOptions = { environment: 'practice', token: process.env.OANDA_TOKEN!, accountId: process.env.OANDA_ACCOUNT!, instruments: { US500: 'SPX500_USD' } };
 */
export interface OandaBrokerOptions {
  /** A personal access token for the environment (practice tokens do not work live, and the reverse). */
  readonly token: string;
  /** The v20 account id, e.g. `101-004-1234567-001`. */
  readonly accountId: string;
  /** `practice` (default) or `live`: picks the hosts in {@link OANDA_HOSTS}. */
  readonly environment?: 'practice' | 'live';
  /** Overrides the REST host (a loopback test venue). */
  readonly restUrl?: string;
  /** Overrides the streaming host; defaults to `restUrl` when that is given. */
  readonly streamUrl?: string;
  /** Warden symbol → OANDA instrument, for names the six-letter rule (`EURUSD` → `EUR_USD`) does not cover. */
  readonly instruments?: Readonly<Record<string, string>>;
  /** Time limit of each HTTP request, in ms. Default 4,000 (inside Warden's own per-call limits). */
  readonly requestLimitMs?: number;
  /**
   * How long after this process sent an order a `NO_SUCH_ORDER` look-up is read as OANDA's lag
   * (an unknown outcome) rather than "the venue does not know it". Default 2,000 ms.
   */
  readonly lookupGraceMs?: number;
  /**
   * A price collar: the entry order carries `priceBound` this fraction worse than the snapshot's
   * reference price (e.g. 0.002), so OANDA cancels it (`BOUNDS_VIOLATION`) rather than fill beyond.
   * Off by default.
   */
  readonly priceBoundPct?: number;
  /** The stream is reconnected when nothing (not even a heartbeat) arrived for this long. Default 15,000 ms. */
  readonly heartbeatTimeoutMs?: number;
  /** Pause before the stream reconnects, doubling up to 30 s. Default 500 ms. */
  readonly reconnectMs?: number;
  /** Wall clock for the look-up grace. Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * What the dry run reads: the account and the instruments it may trade.
 *
 * @example
 * const check: OandaAccountCheck = await broker.checkAccount(['EURUSD']);
 * console.log(check.balance, check.currency, check.instruments[0]?.instrument); // '100000.0000' 'USD' 'EUR_USD'
 */
export interface OandaAccountCheck {
  readonly accountId: string;
  readonly currency: string;
  readonly balance: string;
  readonly hedgingEnabled: boolean;
  readonly openTradeCount: number;
  readonly pendingOrderCount: number;
  readonly instruments: readonly { readonly symbol: string; readonly instrument: string; readonly displayPrecision: number; readonly minimumTradeSize: string }[];
}

/** How many sent client ids the adapter remembers (far more than one 30 s window sends). */
const REMEMBERED_IDS = 50_000;

/**
 * A {@link BrokerAdapter} for OANDA v20.
 *
 * - Market orders are `FOK` with `clientExtensions.id` (and the trade's client id) set to Warden's
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
  readonly #token: string;
  readonly #account: string;
  readonly #rest: string;
  readonly #limitMs: number;
  readonly #graceMs: number;
  readonly #priceBoundPct: number | undefined;
  readonly #now: () => number;
  readonly #map: ReturnType<typeof instrumentMap>;
  readonly #stream: TransactionStream;
  #instruments: Promise<Map<string, Instrument>> | null = null;
  /** Client ids this process sent, with when: a second send is looked up first, and a fresh one's NO_SUCH_ORDER is lag. */
  readonly #sent = new Map<string, number>();
  /** Orders OANDA refused outright (400/404 with a reject transaction): no order exists to look up. */
  readonly #rejected = new Map<string, OrderReport>();
  /** Fill transactions already read, by id. */
  readonly #fills = new Map<string, OrderFillTransaction>();

  constructor(options: OandaBrokerOptions) {
    if (typeof options.token !== 'string' || options.token.length === 0) throw new TypeError('OandaBroker needs a token');
    if (typeof options.accountId !== 'string' || !/^[\w-]+$/.test(options.accountId)) throw new TypeError('OandaBroker needs an account id such as 101-004-1234567-001');
    const environment = options.environment ?? 'practice';
    const hosts = OANDA_HOSTS[environment];
    if (hosts === undefined) throw new TypeError(`OandaBroker: environment must be 'practice' or 'live', got ${String(environment)}`);
    this.#token = options.token;
    this.#account = options.accountId;
    this.#rest = (options.restUrl ?? hosts.rest).replace(/\/+$/, '');
    this.#limitMs = options.requestLimitMs ?? 4_000;
    this.#graceMs = options.lookupGraceMs ?? 2_000;
    this.#priceBoundPct = options.priceBoundPct;
    this.#now = options.now ?? Date.now;
    this.#map = instrumentMap(options.instruments);
    this.name = `oanda:${environment}`;
    this.identity = `oanda:${options.restUrl ? this.#rest : environment}:${options.accountId}`;
    this.#stream = new TransactionStream({
      url: `${(options.streamUrl ?? options.restUrl ?? hosts.stream).replace(/\/+$/, '')}${this.#accountPath('/transactions/stream')}`,
      headers: () => this.#headers(),
      sinceId: (id) => this.#sinceId(id),
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
    const instrument = await this.#instrument(req.symbol);
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
      timeInForce: 'FOK',
      positionFill: 'DEFAULT',
      clientExtensions: { id: req.clientOrderId },
      tradeClientExtensions: { id: req.clientOrderId },
    };
    const protect = req.protectOnFill;
    if (protect) {
      const tick = 10 ** -instrument.displayPrecision;
      const distance = Math.max(tick, Math.abs(protect.slOffsetPct) * protect.referencePrice);
      order.stopLossOnFill = { distance: distance.toFixed(instrument.displayPrecision), timeInForce: 'GTC' };
      if (this.#priceBoundPct !== undefined) {
        const bound = protect.referencePrice * (req.side === 'buy' ? 1 + this.#priceBoundPct : 1 - this.#priceBoundPct);
        order.priceBound = bound.toFixed(instrument.displayPrecision);
      }
    }
    this.#remember(req.clientOrderId);
    const answer = await this.#call('POST', this.#accountPath('/orders'), { order });
    if (answer.status === 201) {
      const created = this.#parse(CreateOrderCreatedSchema, answer.json, 'order create answer');
      if (created.orderFillTransaction) return fillReport(req.clientOrderId, created.orderFillTransaction, req.quantity);
      if (created.orderCancelTransaction) return { clientOrderId: req.clientOrderId, brokerOrderId: created.orderCancelTransaction.orderID, status: 'cancelled', filledQuantity: 0, averageFillPrice: null, reason: created.orderCancelTransaction.reason ?? 'cancelled by OANDA' };
      return { clientOrderId: req.clientOrderId, brokerOrderId: created.orderCreateTransaction.id, status: 'pending', filledQuantity: 0, averageFillPrice: null };
    }
    const error = readError(answer.json);
    if (errorCodeOf(error) === 'CLIENT_ORDER_ID_ALREADY_EXISTS') {
      // The id is taken by a pending order: that order is this one. Adopt it, never refuse it.
      const existing = await this.getOrder(ref);
      if (existing) return existing;
      throw new BrokerError(`${this.name}: CLIENT_ORDER_ID_ALREADY_EXISTS for ${req.clientOrderId}, and the order is not visible yet`, { retryable: true, code: 'CLIENT_ORDER_ID_ALREADY_EXISTS' });
    }
    const failure = this.#failure('POST', '/orders', answer.status, error);
    if (!failure.retryable && error?.orderRejectTransaction) {
      this.#rejected.set(req.clientOrderId, { clientOrderId: req.clientOrderId, brokerOrderId: null, status: 'rejected', filledQuantity: 0, averageFillPrice: null, reason: failure.message });
    }
    throw failure;
  }

  async cancelOrder(ref: OrderRef): Promise<OrderReport> {
    const rejected = this.#rejected.get(ref.clientOrderId);
    if (rejected) return rejected;
    const answer = await this.#call('PUT', this.#accountPath(`/orders/${clientSpecifier(ref.clientOrderId)}/cancel`));
    if (answer.status === 200) {
      const cancelled = this.#parse(CancelOrderSchema, answer.json, 'cancel answer').orderCancelTransaction;
      return { clientOrderId: ref.clientOrderId, brokerOrderId: cancelled.orderID, status: 'cancelled', filledQuantity: 0, averageFillPrice: null, ...(cancelled.reason ? { reason: cancelled.reason } : {}) };
    }
    const error = readError(answer.json);
    const failure = this.#failure('PUT', '/orders/…/cancel', answer.status, error);
    if (failure.retryable) throw failure;
    // Not cancellable: filled, already cancelled, or never there. The look-up says which.
    const report = await this.getOrder(ref);
    if (report) return report;
    throw new BrokerError(`${this.name}: unknown order ${ref.clientOrderId}: ${failure.message}`, { retryable: false, code: 'unknown_order' });
  }

  async getOrder(ref: OrderRef): Promise<OrderReport | null> {
    const rejected = this.#rejected.get(ref.clientOrderId);
    if (rejected) return rejected;
    const answer = await this.#call('GET', this.#accountPath(`/orders/${clientSpecifier(ref.clientOrderId)}`));
    if (answer.status === 404) {
      const sentAt = this.#sent.get(ref.clientOrderId);
      // A freshly created order can answer NO_SUCH_ORDER for a moment: "not yet", not "never".
      if (sentAt !== undefined && this.#now() - sentAt < this.#graceMs) {
        throw new BrokerError(`${this.name}: order ${ref.clientOrderId} not visible yet (sent ${this.#now() - sentAt} ms ago)`, { retryable: true, code: 'lookup_lag' });
      }
      return null;
    }
    if (answer.status !== 200) throw this.#failure('GET', '/orders/…', answer.status, readError(answer.json));
    const { order } = this.#parse(GetOrderSchema, answer.json, 'order');
    if (order.clientExtensions?.id !== undefined && order.clientExtensions.id !== ref.clientOrderId) {
      throw new BrokerError(`${this.name}: asked for ${ref.clientOrderId}, OANDA answered about ${order.clientExtensions.id}`, { retryable: true, code: 'wrong_order' });
    }
    const ordered = order.units === undefined ? undefined : Math.abs(Number(order.units));
    const base = { clientOrderId: ref.clientOrderId, brokerOrderId: order.id };
    const fill = order.fillingTransactionID ? await this.#fillTransaction(order.fillingTransactionID) : null;
    switch (order.state) {
      case 'FILLED':
        if (!fill) throw new BrokerError(`${this.name}: order ${order.id} is FILLED without a filling transaction`, { retryable: true, code: 'unreadable_answer' });
        return fillReport(ref.clientOrderId, fill, ordered);
      case 'CANCELLED': {
        const reason = order.cancellingTransactionID ? await this.#cancelReason(order.cancellingTransactionID) : undefined;
        const filled = fill ? Math.abs(Number(fill.units)) : 0;
        return { ...base, status: 'cancelled', filledQuantity: filled, averageFillPrice: fill ? fillPrice(fill) : null, ...(reason ? { reason } : {}) };
      }
      default:
        return { ...base, status: 'pending', filledQuantity: 0, averageFillPrice: null };
    }
  }

  async getPosition(symbol: string): Promise<PositionReport> {
    const instrument = await this.#instrument(symbol);
    const answer = await this.#call('GET', this.#accountPath(`/positions/${instrument.name}`));
    if (answer.status !== 200) throw this.#failure('GET', '/positions/…', answer.status, readError(answer.json), true);
    const { position } = this.#parse(GetPositionSchema, answer.json, 'position');
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
    const trades = await this.#call('GET', this.#accountPath(`/trades?instrument=${instrument.name}&state=OPEN`));
    if (trades.status !== 200) throw this.#failure('GET', '/trades', trades.status, readError(trades.json), true);
    const open = this.#parse(ListTradesSchema, trades.json, 'trades').trades.filter((t) => t.state === 'OPEN');
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
    const stopLoss = req.stopLoss.toFixed(instrument.displayPrecision);
    const takeProfit = req.takeProfit.toFixed(instrument.displayPrecision);
    const held = levelsOf([trade]);
    // Idempotent: the levels already held are not sent again.
    if (held.stopLoss === Number(stopLoss) && held.takeProfit === Number(takeProfit)) {
      return { ...base, status: 'placed', stopLoss: held.stopLoss, takeProfit: held.takeProfit, quantity: Math.abs(units) };
    }
    const answer = await this.#call('PUT', this.#accountPath(`/trades/${trade.id}/orders`), {
      stopLoss: { price: stopLoss, timeInForce: 'GTC' },
      takeProfit: { price: takeProfit, timeInForce: 'GTC' },
    });
    if (answer.status === 200) {
      const set = this.#parse(SetDependentOrdersSchema, answer.json, 'dependent orders answer');
      const sl = set.stopLossOrderTransaction?.price ?? stopLoss;
      const tp = set.takeProfitOrderTransaction?.price ?? takeProfit;
      return { ...base, status: 'placed', stopLoss: Number(sl), takeProfit: Number(tp), quantity: Math.abs(units) };
    }
    const error = readError(answer.json);
    const failure = this.#failure('PUT', '/trades/…/orders', answer.status, error);
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
    const answer = await this.#call('GET', this.#accountPath('/summary'));
    if (answer.status !== 200) throw this.#failure('GET', '/summary', answer.status, readError(answer.json));
    const { account } = this.#parse(AccountSummarySchema, answer.json, 'account summary');
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

  #accountPath(path: string): string {
    return `/v3/accounts/${this.#account}${path}`;
  }

  #headers(): Record<string, string> {
    return { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json', 'accept-datetime-format': 'RFC3339' };
  }

  /** One bounded request. A failure before an answer is an unknown outcome, or `not_sent` when no connection was made. */
  async #call(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await fetch(`${this.#rest}${path}`, {
        method,
        headers: this.#headers(),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.#limitMs),
      });
    } catch (e) {
      throw networkFailure(`${method} ${pathOnly(path)}`, e, this.#limitMs);
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch (e) {
      // A body that is cut or not JSON: nothing can be concluded from it.
      throw new BrokerError(`${method} ${pathOnly(path)}: HTTP ${res.status} with an unreadable body`, { retryable: true, code: res.status === 429 ? 'rate_limited' : `http_${res.status}`, cause: e });
    }
    return { status: res.status, json };
  }

  /**
   * docs/brokers.md's classification: 429, 408 and 5xx are unknown outcomes (the request may have
   * acted); 401/403 and every other 4xx are OANDA refusing it, with its `errorCode` or reject reason.
   */
  #failure(method: string, what: string, status: number, error: ReturnType<typeof readError>, alwaysUnknown = false): BrokerError {
    const code = errorCodeOf(error) ?? (status === 429 ? 'rate_limited' : `http_${status}`);
    const message = `${this.name} ${method} ${what}: HTTP ${status} ${code}${error?.errorMessage ? `: ${error.errorMessage.slice(0, 200)}` : ''}`;
    const retryable = alwaysUnknown || status === 429 || status === 408 || status >= 500 || status < 400;
    return new BrokerError(message, { retryable, code });
  }

  #parse<S extends z.ZodType>(schema: S, json: unknown, what: string): z.infer<S> {
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new BrokerError(`${this.name}: unreadable ${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { retryable: true, code: 'unreadable_answer' });
    return parsed.data;
  }

  #remember(clientOrderId: string): void {
    this.#sent.delete(clientOrderId);
    this.#sent.set(clientOrderId, this.#now());
    if (this.#sent.size > REMEMBERED_IDS) this.#sent.delete(this.#sent.keys().next().value!);
  }

  async #instrument(symbol: string): Promise<Instrument> {
    const name = this.#map.toInstrument(symbol);
    if (name === null) throw new BrokerError(`${this.name}: no OANDA instrument for '${symbol}'; map it with the instruments option`, { retryable: false, code: 'unknown_instrument' });
    this.#instruments ??= (async () => {
      const answer = await this.#call('GET', this.#accountPath('/instruments'));
      if (answer.status !== 200) throw this.#failure('GET', '/instruments', answer.status, readError(answer.json), true);
      return new Map(this.#parse(ListInstrumentsSchema, answer.json, 'instruments').instruments.map((i) => [i.name, i]));
    })().catch((e: unknown) => {
      this.#instruments = null;
      throw e;
    });
    const found = (await this.#instruments).get(name);
    if (!found) throw new BrokerError(`${this.name}: the account cannot trade ${name} ('${symbol}')`, { retryable: false, code: 'unknown_instrument' });
    return found;
  }

  async #transaction(id: string): Promise<Transaction> {
    const answer = await this.#call('GET', this.#accountPath(`/transactions/${encodeURIComponent(id)}`));
    if (answer.status !== 200) throw this.#failure('GET', '/transactions/…', answer.status, readError(answer.json), true);
    return this.#parse(GetTransactionSchema, answer.json, 'transaction').transaction;
  }

  async #fillTransaction(id: string): Promise<OrderFillTransaction> {
    // A transaction never changes: each fill is read once, however often its order is polled.
    const known = this.#fills.get(id);
    if (known) return known;
    const fill = this.#parse(OrderFillTransactionSchema, await this.#transaction(id), 'fill transaction');
    this.#fills.set(id, fill);
    if (this.#fills.size > REMEMBERED_IDS) this.#fills.delete(this.#fills.keys().next().value!);
    return fill;
  }

  async #cancelReason(id: string): Promise<string | undefined> {
    const parsed = OrderCancelTransactionSchema.safeParse(await this.#transaction(id));
    return parsed.success ? parsed.data.reason : undefined;
  }

  async #trade(entryClientId: string): Promise<Trade | null> {
    const answer = await this.#call('GET', this.#accountPath(`/trades/${clientSpecifier(entryClientId)}`));
    if (answer.status === 404) {
      const sentAt = this.#sent.get(entryClientId);
      if (sentAt !== undefined && this.#now() - sentAt < this.#graceMs) throw new BrokerError(`${this.name}: trade ${entryClientId} not visible yet`, { retryable: true, code: 'lookup_lag' });
      return null;
    }
    if (answer.status !== 200) throw this.#failure('GET', '/trades/…', answer.status, readError(answer.json), true);
    return this.#parse(GetTradeSchema, answer.json, 'trade').trade;
  }

  async #sinceId(id: string): Promise<{ transactions: Transaction[]; lastTransactionID: string }> {
    const answer = await this.#call('GET', this.#accountPath(`/transactions/sinceid?id=${encodeURIComponent(id)}`));
    if (answer.status !== 200) throw this.#failure('GET', '/transactions/sinceid', answer.status, readError(answer.json), true);
    return this.#parse(TransactionsSinceSchema, answer.json, 'transactions');
  }

  /** A streamed transaction about one of Warden's orders, as an order report; null for any other. */
  #pushed(t: Transaction): OrderReport | null {
    if (t.type === 'ORDER_FILL') {
      const fill = OrderFillTransactionSchema.safeParse(t);
      if (!fill.success || fill.data.clientOrderID === undefined) return null;
      return fillReport(fill.data.clientOrderID, fill.data, undefined);
    }
    if (t.type === 'ORDER_CANCEL') {
      const cancel = OrderCancelTransactionSchema.safeParse(t);
      if (!cancel.success || cancel.data.clientOrderID === undefined) return null;
      // A cancelled stop or take profit is not an entry order; only entries carry Warden's ids unsuffixed.
      return { clientOrderId: cancel.data.clientOrderID, brokerOrderId: cancel.data.orderID, status: 'cancelled', filledQuantity: 0, averageFillPrice: null, ...(cancel.data.reason ? { reason: cancel.data.reason } : {}) };
    }
    if (t.type === 'MARKET_ORDER_REJECT') {
      const id = (t as { clientExtensions?: { id?: unknown } }).clientExtensions?.id;
      if (typeof id !== 'string') return null;
      const reason = (t as { rejectReason?: unknown }).rejectReason;
      return { clientOrderId: id, brokerOrderId: null, status: 'rejected', filledQuantity: 0, averageFillPrice: null, ...(typeof reason === 'string' ? { reason } : {}) };
    }
    return null;
  }
}

/** `@<client id>`: v20's order and trade specifier by client id. */
function clientSpecifier(clientOrderId: string): string {
  return `@${encodeURIComponent(clientOrderId)}`;
}

/** The entry order's client id behind a protection id (`<order id>-p`); the trade carries the entry's id. */
function entryIdOf(protectionId: string): string {
  return protectionId.endsWith('-p') ? protectionId.slice(0, -2) : protectionId;
}

function pathOnly(path: string): string {
  return path.replace(/^\/v3\/accounts\/[^/]+/, '').split('?')[0]!;
}

/** The units as v20 wants them, or a definitive refusal before anything is sent. */
function unitsOnStep(symbol: string, quantity: number, instrument: Instrument): string {
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

/** The price the fill's units went at: the trade it opened, else the fill's own (deprecated) price, else its VWAP. */
function fillPrice(fill: OrderFillTransaction): number | null {
  const price = Number(fill.tradeOpened?.price ?? fill.price ?? fill.fullVWAP ?? NaN);
  return price > 0 ? price : null;
}

function fillReport(clientOrderId: string, fill: OrderFillTransaction, ordered: number | undefined): OrderReport {
  const filled = Math.abs(Number(fill.units));
  const status: OrderStatus = ordered === undefined || filled >= ordered ? 'filled' : 'partially_filled';
  return { clientOrderId, brokerOrderId: fill.orderID, status, filledQuantity: filled, averageFillPrice: fillPrice(fill) };
}

/** The stop loss and take profit that protect these trades: pending dependent orders, the latest trade's counting. */
function levelsOf(trades: readonly Trade[]): { stopLoss: number | null; takeProfit: number | null } {
  const latest = [...trades].sort((a, b) => Number(b.id) - Number(a.id));
  const sl = latest.find((t) => t.stopLossOrder?.state === 'PENDING' && t.stopLossOrder.price !== undefined)?.stopLossOrder?.price;
  const tp = latest.find((t) => t.takeProfitOrder?.state === 'PENDING' && t.takeProfitOrder.price !== undefined)?.takeProfitOrder?.price;
  return { stopLoss: sl === undefined ? null : Number(sl), takeProfit: tp === undefined ? null : Number(tp) };
}

function readError(json: unknown): z.infer<typeof ErrorBodySchema> | undefined {
  const parsed = ErrorBodySchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/** A reject transaction's reason is the precise one; `errorCode` is the request's. */
function errorCodeOf(error: z.infer<typeof ErrorBodySchema> | undefined): string | undefined {
  return (
    error?.orderRejectTransaction?.rejectReason ??
    error?.stopLossOrderRejectTransaction?.rejectReason ??
    error?.takeProfitOrderRejectTransaction?.rejectReason ??
    error?.orderCancelRejectTransaction?.rejectReason ??
    error?.errorCode
  );
}

/** Connection refused or host not found: nothing left this process. Anything else may have reached OANDA. */
function networkFailure(what: string, e: unknown, limitMs: number): BrokerError {
  if ((e as { name?: unknown } | null)?.name === 'TimeoutError') return new BrokerError(`${what} timed out after ${limitMs} ms`, { retryable: true, code: 'timeout', cause: e });
  const cause = (e as { cause?: { code?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new BrokerError(`${what}: ${code}`, { retryable: true, code: 'not_sent', cause: e });
  return new BrokerError(`${what} failed: ${(e as Error | null)?.message ?? String(e)}`, { retryable: true, code: 'network', cause: e });
}
