/**
 * An offline OANDA v20 account on loopback, built from the public OpenAPI description
 * (`oandaV20.spec.json`, a subset of oanda/v20-openapi). Every answer it sends, and every line of
 * its transactions stream, is checked against the spec's schema for that operation and status;
 * a violation is recorded in `schemaErrors` (tests assert there are none) and answered as a 500.
 *
 * What it reproduces, in the spec's words:
 * - `POST /orders` with a `MarketOrderRequest` (`timeInForce` FOK or IOC, the only two v20 allows
 *   for it; anything else is `TIME_IN_FORCE_INVALID`): `201` with `orderCreateTransaction` and
 *   `orderFillTransaction` (`tradeOpened`, and the `STOP_LOSS_ORDER` of `stopLossOnFill.distance`
 *   priced from the trade's open price), or `201` with `orderCancelTransaction` (`MARKET_HALTED`,
 *   `INSUFFICIENT_MARGIN`, `BOUNDS_VIOLATION` when `priceBound` is not met,
 *   `CLIENT_TRADE_ID_ALREADY_EXISTS`), or `400` with `orderRejectTransaction` (`rejectReason`,
 *   `errorCode`, `errorMessage`);
 * - a partial fill the only way v20 has one: an IOC order fills part of its units and the rest is
 *   cancelled in the same batch (`ORDER_FILL`, then `ORDER_CANCEL` `INSUFFICIENT_LIQUIDITY`), at
 *   once (`partial` script) or when a pending order fills (`fillPending` with `units`); a FOK order
 *   short of liquidity is cancelled whole;
 * - client id uniqueness among PENDING orders only (`CLIENT_ORDER_ID_ALREADY_EXISTS`);
 * - `NO_SUCH_ORDER` for the first look-ups of a fresh order (`lookupLag`);
 * - `429` (rate limiting), a lost answer (the order is made, the connection is cut), a hung request;
 * - `PUT /trades/{tradeSpecifier}/orders` replacing stop loss and take profit
 *   (`ORDER_CANCEL` `CLIENT_REQUEST_REPLACED`, then `STOP_LOSS_ORDER` / `TAKE_PROFIT_ORDER`),
 *   refusing prices beyond `displayPrecision` (`PRICE_PRECISION_EXCEEDED`);
 * - the transactions stream with `HEARTBEAT`s carrying `lastTransactionID`, a dropped stream, a
 *   stream that misses transactions (a gap for `/transactions/sinceid`).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;
type SchemaNode = { $ref?: string; type?: string; enum?: unknown[]; properties?: Record<string, SchemaNode>; items?: SchemaNode };
interface Spec {
  paths: Record<string, Record<string, { responses: Record<string, { schema?: SchemaNode }> }>>;
  definitions: Record<string, SchemaNode>;
}
const spec = JSON.parse(readFileSync(new URL('./oandaV20.spec.json', import.meta.url), 'utf8')) as Spec;

/** Errors in `value` against a swagger 2 schema node (types, enums, properties, items, $ref). */
export function schemaErrorsOf(node: SchemaNode | undefined, value: unknown, at = '$'): string[] {
  if (!node) return [];
  if (node.$ref) {
    // v20's base types are polymorphic: a Transaction or an Order is read as the subtype its `type` names.
    let name = node.$ref.split('/').pop()!;
    const kind = (value as { type?: unknown } | null)?.type;
    if (name === 'Transaction' && typeof kind === 'string' && TRANSACTION_DEFINITION[kind]) name = TRANSACTION_DEFINITION[kind];
    if (name === 'Order' && kind === 'MARKET') name = 'MarketOrder';
    return schemaErrorsOf(spec.definitions[name], value, at);
  }
  const errors: string[] = [];
  const type = node.type;
  if (type === 'string' && typeof value !== 'string') errors.push(`${at}: expected a string`);
  if ((type === 'integer' || type === 'int') && !Number.isInteger(value)) errors.push(`${at}: expected an integer`);
  if (type === 'number' && typeof value !== 'number') errors.push(`${at}: expected a number`);
  if (type === 'boolean' && typeof value !== 'boolean') errors.push(`${at}: expected a boolean`);
  if (type === 'array') {
    if (!Array.isArray(value)) errors.push(`${at}: expected an array`);
    else value.forEach((v, i) => errors.push(...schemaErrorsOf(node.items, v, `${at}[${i}]`)));
  }
  if (type === 'object' || node.properties) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) errors.push(`${at}: expected an object`);
    else
      for (const [k, v] of Object.entries(value)) {
        const prop = node.properties?.[k];
        if (prop === undefined && node.properties) errors.push(`${at}.${k}: not in the spec`);
        else errors.push(...schemaErrorsOf(prop, v, `${at}.${k}`));
      }
  }
  if (node.enum && !node.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of the spec's values`);
  return errors;
}

/** The spec's definition for a transaction of this type. */
const TRANSACTION_DEFINITION: Record<string, string> = {
  MARKET_ORDER: 'MarketOrderTransaction',
  MARKET_ORDER_REJECT: 'MarketOrderRejectTransaction',
  ORDER_FILL: 'OrderFillTransaction',
  ORDER_CANCEL: 'OrderCancelTransaction',
  STOP_LOSS_ORDER: 'StopLossOrderTransaction',
  TAKE_PROFIT_ORDER: 'TakeProfitOrderTransaction',
  HEARTBEAT: 'TransactionHeartbeat',
  ORDER_CANCEL_REJECT: 'OrderCancelRejectTransaction',
  STOP_LOSS_ORDER_REJECT: 'StopLossOrderRejectTransaction',
  TAKE_PROFIT_ORDER_REJECT: 'TakeProfitOrderRejectTransaction',
};

/** An instrument of the offline account. */
export interface OandaVenueInstrument {
  readonly name: string;
  readonly type: 'CURRENCY' | 'METAL' | 'CFD';
  readonly displayPrecision: number;
  readonly tradeUnitsPrecision: number;
  readonly minimumTradeSize: string;
  readonly pipLocation: number;
  /** The price market orders fill at. */
  price: number;
}

/** A fault the next matching request meets instead of its answer. */
export type OandaFault = '429' | 'hang' | '503' | '400';

/** How the next order create is answered. */
export type OandaOrderScript =
  | { readonly kind: 'fill'; readonly price?: number }
  /**
   * Liquidity for only `units`: an `IOC` order fills them and its rest is cancelled in the same
   * batch (`ORDER_FILL`, then `ORDER_CANCEL` `INSUFFICIENT_LIQUIDITY`); a `FOK` order is cancelled whole.
   */
  | { readonly kind: 'partial'; readonly units: number; readonly price?: number }
  | { readonly kind: 'cancel'; readonly reason: 'MARKET_HALTED' | 'INSUFFICIENT_MARGIN' | 'INSUFFICIENT_LIQUIDITY' }
  | { readonly kind: 'reject'; readonly reason: 'INSUFFICIENT_MARGIN' | 'UNITS_MIMIMUM_NOT_MET' | 'INSTRUMENT_NOT_TRADEABLE' | 'ACCOUNT_NOT_ACTIVE' }
  /** Stays PENDING until `fillPending` or `cancel`. */
  | { readonly kind: 'pending' }
  /** Handled as a fill, but the connection is cut before the answer. */
  | { readonly kind: 'lostAnswer' }
  /** Created and left PENDING, but the connection is cut before the answer. */
  | { readonly kind: 'lostPending' };

interface VenueOrder {
  id: string;
  clientId: string | undefined;
  tradeClientId: string | undefined;
  instrument: string;
  units: number;
  state: 'PENDING' | 'FILLED' | 'CANCELLED';
  timeInForce: 'FOK' | 'IOC';
  createTime: string;
  priceBound: string | undefined;
  stopLossDistance: string | undefined;
  fillingTransactionID?: string;
  cancellingTransactionID?: string;
  tradeOpenedID?: string;
  filledTime?: string;
  cancelledTime?: string;
  lookupsLeftMissing: number;
}
interface DependentOrder {
  id: string;
  type: 'STOP_LOSS' | 'TAKE_PROFIT';
  tradeID: string;
  price: string;
  state: 'PENDING' | 'CANCELLED';
  createTime: string;
}
interface VenueTrade {
  id: string;
  instrument: string;
  price: string;
  openTime: string;
  initialUnits: number;
  currentUnits: number;
  state: 'OPEN' | 'CLOSED';
  clientId: string | undefined;
  stopLoss: DependentOrder | undefined;
  takeProfit: DependentOrder | undefined;
}

export const VENUE_TOKEN = 'offline-practice-token-7d1c';
export const VENUE_ACCOUNT = '101-004-0000001-001';

/**
 * @example
 * const venue = await new OandaVenue().start();
 * const broker = new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, restUrl: venue.url });
 */
export class OandaVenue {
  readonly instruments = new Map<string, OandaVenueInstrument>([
    ['EUR_USD', { name: 'EUR_USD', type: 'CURRENCY', displayPrecision: 5, tradeUnitsPrecision: 0, minimumTradeSize: '1', pipLocation: -4, price: 1.1 }],
    ['USD_JPY', { name: 'USD_JPY', type: 'CURRENCY', displayPrecision: 3, tradeUnitsPrecision: 0, minimumTradeSize: '1', pipLocation: -2, price: 150 }],
    ['XAU_USD', { name: 'XAU_USD', type: 'METAL', displayPrecision: 3, tradeUnitsPrecision: 0, minimumTradeSize: '1', pipLocation: -2, price: 2400 }],
    ['SPX500_USD', { name: 'SPX500_USD', type: 'CFD', displayPrecision: 1, tradeUnitsPrecision: 1, minimumTradeSize: '0.1', pipLocation: 0, price: 5600 }],
  ]);
  /** Every spec violation in an answer this venue sent (should stay empty). */
  readonly schemaErrors: string[] = [];
  /**
   * Open trades seen without a pending stop loss once a request was handled (Warden's invariant on
   * this venue: a fill is never without a stop, so this stays empty when entries carry `stopLossOnFill`).
   */
  readonly unprotected: string[] = [];
  /** Every request, in order. */
  readonly requests: { method: string; path: string; body: unknown }[] = [];
  /** How many first look-ups of each new order answer NO_SUCH_ORDER. */
  lookupLag = 0;
  /** When false, new transactions are not written to open streams (only heartbeats reveal them). */
  streamTransactions = true;
  /** When true, new transactions are kept back from open streams until `releaseHeld` (a stream running behind). */
  holdStream = false;
  readonly #held: Json[] = [];
  /** The next `PUT /trades/{tradeSpecifier}/orders` is refused (`STOP_LOSS_ORDER_REJECT`, `PRICE_DISTANCE_MINIMUM_NOT_MET`). */
  refuseNextDependentOrders = false;
  /** The next stop loss set on a trade is cancelled as it is made (a 200 that undoes itself: `stopLossOrderCreatedCancelTransaction`). */
  cancelNextStopOnCreate = false;
  readonly #transactions: Json[] = [];
  readonly #orders = new Map<string, VenueOrder>();
  readonly #trades = new Map<string, VenueTrade>();
  readonly #scripts: OandaOrderScript[] = [];
  readonly #faults: { method: string; pathIncludes: string; fault: OandaFault }[] = [];
  readonly #streams = new Set<ServerResponse>();
  readonly #hung = new Set<ServerResponse>();
  #nextId = 100;
  #server: Server | null = null;
  url = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const s of [...this.#streams, ...this.#hung]) s.destroy();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()) ?? resolve());
  }

  // ---- scripting

  /** How the next order creates are answered, in turn (then: fill). */
  script(...scripts: OandaOrderScript[]): this {
    this.#scripts.push(...scripts);
    return this;
  }

  /** The next request matching `method` and a path part fails this way. */
  failNext(method: string, pathIncludes: string, fault: OandaFault): this {
    this.#faults.push({ method, pathIncludes, fault });
    return this;
  }

  /**
   * Fills a PENDING order (by client id) at the instrument's price, as OANDA would when the market
   * opens. With `units` fewer than ordered (an `IOC` order only), that many fill and the rest is
   * cancelled in the same batch, `INSUFFICIENT_LIQUIDITY`.
   */
  fillPending(clientId: string, options: { units?: number; price?: number } = {}): void {
    const order = [...this.#orders.values()].find((o) => o.clientId === clientId && o.state === 'PENDING');
    if (!order) throw new Error(`no pending order ${clientId}`);
    const price = options.price ?? this.instruments.get(order.instrument)!.price;
    const units = options.units ?? Math.abs(order.units);
    if (units < Math.abs(order.units) && order.timeInForce !== 'IOC') throw new Error(`a ${order.timeInForce} order never fills in part`);
    const batchID = String(this.#nextId);
    this.#fill(order, price, batchID, Math.sign(order.units) * units);
    if (units < Math.abs(order.units)) this.#cancel(order, 'INSUFFICIENT_LIQUIDITY', batchID);
    this.#checkProtected();
  }

  /** Cancels a PENDING order as OANDA itself would (e.g. `MARKET_HALTED`), not at the client's request. */
  cancelPending(clientId: string, reason: 'MARKET_HALTED' | 'INSUFFICIENT_LIQUIDITY' = 'MARKET_HALTED'): void {
    const order = [...this.#orders.values()].find((o) => o.clientId === clientId && o.state === 'PENDING');
    if (!order) throw new Error(`no pending order ${clientId}`);
    this.#cancel(order, reason, String(this.#nextId));
  }

  /**
   * Writes the transactions kept back by `holdStream` that `which` selects (default: all), each after
   * every one kept back before it: a v20 stream runs behind but never out of id order.
   */
  releaseHeld(which: (t: { type: string; clientOrderID?: string }) => boolean = () => true): void {
    const through = this.#held.findLastIndex((x) => which(x as never));
    for (const t of this.#held.splice(0, through + 1)) this.#writeStreams(t);
  }

  /** Opens a trade no Warden order made (another desk's), with its stop, as a fill of a market order would. */
  openForeignTrade(instrument: string, units: number): void {
    const o: VenueOrder = { id: String(this.#nextId), clientId: undefined, tradeClientId: undefined, instrument, units, state: 'PENDING', timeInForce: 'FOK', createTime: this.#time(), priceBound: undefined, stopLossDistance: '0.01', lookupsLeftMissing: 0 };
    this.#record({ type: 'MARKET_ORDER', instrument, units: String(units), timeInForce: 'FOK', positionFill: 'DEFAULT', reason: 'CLIENT_ORDER' });
    this.#orders.set(o.id, o);
    this.#fill(o, this.instruments.get(instrument)!.price, o.id);
    this.#checkProtected();
  }

  /** Writes a heartbeat to every open stream. */
  heartbeat(): void {
    this.#writeStreams({ type: 'HEARTBEAT', lastTransactionID: this.lastTransactionID, time: this.#time() });
  }

  /** Cuts every open stream connection. */
  dropStreams(): void {
    for (const s of this.#streams) s.destroy();
    this.#streams.clear();
  }

  /** Releases requests held by a `hang` fault (their sockets are closed). */
  releaseHung(): void {
    for (const s of this.#hung) s.destroy();
    this.#hung.clear();
  }

  get openStreams(): number {
    return this.#streams.size;
  }

  get lastTransactionID(): string {
    return String(this.#nextId - 1);
  }

  /** Orders ever created with this client id (OANDA allows reuse once one is no longer pending). */
  ordersWithClientId(clientId: string): readonly { id: string; state: string; units: number; filled: number }[] {
    return [...this.#orders.values()].filter((o) => o.clientId === clientId).map((o) => ({ id: o.id, state: o.state, units: o.units, filled: o.tradeOpenedID ? Math.abs(this.#trades.get(o.tradeOpenedID)?.initialUnits ?? 0) : 0 }));
  }

  /** Net units held on an instrument. */
  netUnits(instrument: string): number {
    return [...this.#trades.values()].filter((t) => t.instrument === instrument && t.state === 'OPEN').reduce((sum, t) => sum + t.currentUnits, 0);
  }

  /** The open trade opened by the order with this client id, as the venue holds it. */
  tradeOf(clientId: string): { id: string; units: number; price: number; stopLoss: number | null; takeProfit: number | null } | null {
    const t = [...this.#trades.values()].find((x) => x.clientId === clientId && x.state === 'OPEN');
    if (!t) return null;
    return { id: t.id, units: t.currentUnits, price: Number(t.price), stopLoss: t.stopLoss?.state === 'PENDING' ? Number(t.stopLoss.price) : null, takeProfit: t.takeProfit?.state === 'PENDING' ? Number(t.takeProfit.price) : null };
  }

  /** Closes every trade and forgets scripts and faults: a flat account (transaction ids keep counting). */
  reset(): void {
    for (const t of this.#trades.values()) t.state = 'CLOSED';
    this.#scripts.length = 0;
    this.#faults.length = 0;
    this.lookupLag = 0;
    this.streamTransactions = true;
    this.holdStream = false;
    this.#held.length = 0;
    this.refuseNextDependentOrders = false;
  }

  // ---- HTTP

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('finish', () => this.#checkProtected());
    await this.#route(req, res);
    this.#checkProtected();
  }

  #checkProtected(): void {
    for (const t of this.#trades.values()) {
      if (t.state === 'OPEN' && t.stopLoss?.state !== 'PENDING' && !this.unprotected.includes(t.id)) this.unprotected.push(t.id);
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://venue');
    const method = req.method ?? 'GET';
    let body: unknown = undefined;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (chunks.length > 0) {
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return this.#send(res, null, 400, { errorMessage: 'Invalid JSON body' });
      }
    }
    this.requests.push({ method, path: url.pathname + url.search, body });
    if (req.headers.authorization !== `Bearer ${VENUE_TOKEN}`) return this.#send(res, null, 401, { errorMessage: 'Insufficient authorization to perform request.' });
    const fault = this.#faults.findIndex((f) => f.method === method && url.pathname.includes(f.pathIncludes));
    if (fault >= 0) {
      const [f] = this.#faults.splice(fault, 1);
      if (f!.fault === 'hang') return void this.#hung.add(res);
      if (f!.fault === '429') return this.#send(res, null, 429, { errorMessage: 'Requests are being rate limited' });
      // A request v20 refuses before making any transaction: no reject transaction in the body.
      if (f!.fault === '400') return this.#send(res, null, 400, { errorCode: 'INVALID_PARAMETER', errorMessage: 'Invalid value specified for \'units\'' });
      return this.#send(res, null, 503, { errorMessage: 'Service Unavailable' });
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    // v3 accounts {id} ...
    if (parts[0] !== 'v3' || parts[1] !== 'accounts' || parts[2] !== VENUE_ACCOUNT) return this.#send(res, null, 404, { errorMessage: 'Invalid value specified for \'accountID\'' });
    const rest = parts.slice(3);
    const route = `${method} ${rest.map((p, i) => (i === 1 && p !== 'sinceid' && p !== 'stream' ? '*' : p)).join('/')}`;
    switch (route) {
      case 'GET summary':
        return this.#send(res, '/accounts/{accountID}/summary', 200, { account: this.#summary(), lastTransactionID: this.lastTransactionID });
      case 'GET instruments':
        return this.#send(res, '/accounts/{accountID}/instruments', 200, { instruments: [...this.instruments.values()].map(({ price: _p, ...i }) => ({ ...i, marginRate: '0.05', maximumOrderUnits: '100000000', maximumPositionSize: '0' })), lastTransactionID: this.lastTransactionID });
      case 'POST orders':
        return this.#createOrder(res, body);
      case 'GET orders/*':
        return this.#getOrder(res, rest[1]!);
      case 'PUT orders/*/cancel':
        return this.#cancelOrder(res, rest[1]!);
      case 'GET trades':
        return this.#send(res, '/accounts/{accountID}/trades', 200, {
          trades: [...this.#trades.values()].filter((t) => (url.searchParams.get('instrument') ?? t.instrument) === t.instrument && (url.searchParams.get('state') ?? 'OPEN') === t.state).sort((a, b) => Number(b.id) - Number(a.id)).map((t) => this.#tradeJson(t)),
          lastTransactionID: this.lastTransactionID,
        });
      case 'GET trades/*': {
        const trade = this.#tradeBy(rest[1]!);
        if (!trade) return this.#send(res, '/accounts/{accountID}/trades/{tradeSpecifier}', 404, { errorCode: 'NO_SUCH_TRADE', errorMessage: `The Trade specified does not exist` });
        return this.#send(res, '/accounts/{accountID}/trades/{tradeSpecifier}', 200, { trade: this.#tradeJson(trade), lastTransactionID: this.lastTransactionID });
      }
      case 'PUT trades/*/orders':
        return this.#setDependentOrders(res, rest[1]!, body);
      case 'GET positions/*':
        return this.#position(res, rest[1]!);
      case 'GET transactions/sinceid': {
        const since = BigInt(url.searchParams.get('id') ?? '0');
        return this.#send(res, '/accounts/{accountID}/transactions/sinceid', 200, { transactions: this.#transactions.filter((t) => BigInt(t.id as string) > since), lastTransactionID: this.lastTransactionID });
      }
      case 'GET transactions/stream':
        return this.#openStream(res);
      case 'GET transactions/*': {
        const t = this.#transactions.find((x) => x.id === rest[1]);
        if (!t) return this.#send(res, '/accounts/{accountID}/transactions/{transactionID}', 404, { errorCode: 'NO_SUCH_TRANSACTION', errorMessage: 'The Transaction specified does not exist' });
        return this.#send(res, '/accounts/{accountID}/transactions/{transactionID}', 200, { transaction: t, lastTransactionID: this.lastTransactionID });
      }
      default:
        return this.#send(res, null, 405, { errorMessage: `${method} ${url.pathname} is not served by the offline venue` });
    }
  }

  #send(res: ServerResponse, path: string | null, status: number, json: Json): void {
    if (path !== null) {
      const method = res.req.method!.toLowerCase();
      const response = spec.paths[path]?.[method]?.responses[String(status)];
      // A status the spec lists without a body schema (e.g. a 404 look-up) carries v20's errorCode/errorMessage.
      const errors = response ? schemaErrorsOf(response.schema, json) : [`${method} ${path} ${status}: no response of this status in the spec`];
      for (const e of errors) this.schemaErrors.push(`${method.toUpperCase()} ${path} ${status} ${e}`);
      if (errors.length > 0) {
        status = 500;
        json = { errorMessage: 'offline venue: answer does not match the spec' };
      }
    }
    const text = JSON.stringify(json);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), requestid: `req-${this.requests.length}` });
    res.end(text);
  }

  #time(): string {
    // RFC 3339 with nanoseconds, as v20 writes it; the value is this process's clock (never asserted on).
    return `${new Date().toISOString().slice(0, -1)}000000Z`;
  }

  #record(t: Json): Json {
    const id = String(this.#nextId++);
    const full: Json = { id, time: this.#time(), userID: 1001, accountID: VENUE_ACCOUNT, requestID: 'r-1', ...t, batchID: typeof t.batchID === 'string' ? t.batchID : id };
    const errors = schemaErrorsOf({ $ref: `#/definitions/${TRANSACTION_DEFINITION[full.type as string] ?? 'Transaction'}` }, full);
    for (const e of errors) this.schemaErrors.push(`transaction ${full.type as string} ${e}`);
    this.#transactions.push(full);
    if (this.holdStream) this.#held.push(full);
    else if (this.streamTransactions) this.#writeStreams(full);
    return full;
  }

  #writeStreams(line: Json): void {
    const errors = schemaErrorsOf({ $ref: `#/definitions/${TRANSACTION_DEFINITION[line.type as string] ?? 'Transaction'}` }, line);
    for (const e of errors) this.schemaErrors.push(`stream ${line.type as string} ${e}`);
    for (const s of this.#streams) s.write(`${JSON.stringify(line)}\n`);
  }

  #openStream(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' });
    this.#streams.add(res);
    res.on('close', () => this.#streams.delete(res));
    res.write(`${JSON.stringify({ type: 'HEARTBEAT', lastTransactionID: this.lastTransactionID, time: this.#time() })}\n`);
  }

  #summary(): Json {
    const open = [...this.#trades.values()].filter((t) => t.state === 'OPEN');
    return {
      id: VENUE_ACCOUNT,
      alias: 'Offline practice',
      currency: 'USD',
      balance: '100000.0000',
      createdByUserID: 1001,
      createdTime: '2020-01-01T00:00:00.000000000Z',
      guaranteedStopLossOrderMode: 'DISABLED',
      hedgingEnabled: false,
      openTradeCount: open.length,
      openPositionCount: new Set(open.map((t) => t.instrument)).size,
      pendingOrderCount: [...this.#orders.values()].filter((o) => o.state === 'PENDING').length,
      lastTransactionID: this.lastTransactionID,
    };
  }

  #createOrder(res: ServerResponse, body: unknown): void {
    const path = '/accounts/{accountID}/orders';
    const order = (body as { order?: Json } | undefined)?.order;
    const reject = (reason: string, message: string, status = 400, request: Json = order ?? {}) => {
      const tx = this.#record({ type: 'MARKET_ORDER_REJECT', instrument: request.instrument, units: request.units, timeInForce: request.timeInForce === 'IOC' ? 'IOC' : 'FOK', positionFill: 'DEFAULT', reason: 'CLIENT_ORDER', ...(request.clientExtensions ? { clientExtensions: request.clientExtensions } : {}), rejectReason: reason });
      return this.#send(res, path, status, { orderRejectTransaction: tx, relatedTransactionIDs: [tx.id], lastTransactionID: this.lastTransactionID, errorCode: reason, errorMessage: message });
    };
    if (!order || order.type !== 'MARKET') return this.#send(res, path, 400, { errorCode: 'INVALID_ORDER', errorMessage: 'only MARKET orders are served offline' });
    const instrument = this.instruments.get(String(order.instrument));
    if (!instrument) return reject('INSTRUMENT_UNKNOWN', 'Invalid value specified for instrument', 400);
    const units = Number(order.units);
    if (!/^-?\d+(\.\d+)?$/.test(String(order.units)) || units === 0) return reject('UNITS_INVALID', 'The units specified is invalid');
    if ((String(order.units).split('.')[1]?.length ?? 0) > instrument.tradeUnitsPrecision) return reject('UNITS_PRECISION_EXCEEDED', 'The units specified contain more precision than is allowed');
    if (Math.abs(units) < Number(instrument.minimumTradeSize)) return reject('UNITS_MIMIMUM_NOT_MET', 'The units specified are below the minimum trade size');
    const clientId = (order.clientExtensions as { id?: string } | undefined)?.id;
    const tradeClientId = (order.tradeClientExtensions as { id?: string } | undefined)?.id;
    if (clientId !== undefined && [...this.#orders.values()].some((o) => o.clientId === clientId && o.state === 'PENDING')) {
      return reject('CLIENT_ORDER_ID_ALREADY_EXISTS', 'The client Order ID specified is already in use');
    }
    const timeInForce = order.timeInForce ?? 'FOK';
    if (timeInForce !== 'FOK' && timeInForce !== 'IOC') return reject('TIME_IN_FORCE_INVALID', 'The TimeInForce specified is invalid for a Market Order');
    const slDistance = (order.stopLossOnFill as { distance?: string } | undefined)?.distance;
    if (slDistance !== undefined) {
      if (!/^\d+(\.\d+)?$/.test(slDistance) || Number(slDistance) <= 0) return reject('STOP_LOSS_ON_FILL_DISTANCE_INVALID' as never, 'The Stop Loss on fill distance is invalid');
      if ((slDistance.split('.')[1]?.length ?? 0) > instrument.displayPrecision) return reject('STOP_LOSS_ON_FILL_DISTANCE_PRECISION_EXCEEDED', 'The Stop Loss on fill distance contains more precision than is allowed');
    }
    const script = this.#scripts.shift() ?? { kind: 'fill' as const };
    if (script.kind === 'reject') return reject(script.reason, `offline venue refuses: ${script.reason}`);
    const created = this.#record({
      type: 'MARKET_ORDER',
      instrument: instrument.name,
      units: String(order.units),
      timeInForce,
      positionFill: String(order.positionFill ?? 'DEFAULT'),
      reason: 'CLIENT_ORDER',
      ...(order.priceBound !== undefined ? { priceBound: String(order.priceBound) } : {}),
      ...(order.clientExtensions ? { clientExtensions: order.clientExtensions } : {}),
      ...(order.tradeClientExtensions ? { tradeClientExtensions: order.tradeClientExtensions } : {}),
      ...(order.stopLossOnFill ? { stopLossOnFill: order.stopLossOnFill } : {}),
    });
    const o: VenueOrder = {
      id: created.id as string,
      clientId,
      tradeClientId,
      instrument: instrument.name,
      units,
      state: 'PENDING',
      timeInForce,
      createTime: created.time as string,
      priceBound: order.priceBound === undefined ? undefined : String(order.priceBound),
      stopLossDistance: slDistance,
      lookupsLeftMissing: this.lookupLag,
    };
    this.#orders.set(o.id, o);
    const answer: Json = { orderCreateTransaction: created, relatedTransactionIDs: [created.id], lastTransactionID: '' };
    if (script.kind === 'lostPending') return void res.socket?.destroy();
    if (script.kind === 'pending') {
      answer.lastTransactionID = this.lastTransactionID;
      return this.#send(res, path, 201, answer);
    }
    let cancelReason: string | null = script.kind === 'cancel' ? script.reason : null;
    const price = (script.kind === 'fill' || script.kind === 'partial') && script.price !== undefined ? script.price : instrument.price;
    // Liquidity for only part of the units: FOK is cancelled whole; IOC fills that part, the rest is cancelled below.
    const available = script.kind === 'partial' ? Math.min(script.units, Math.abs(units)) : Math.abs(units);
    if (available < Math.abs(units) && timeInForce === 'FOK') cancelReason = 'INSUFFICIENT_LIQUIDITY';
    if (cancelReason === null && o.priceBound !== undefined && (units > 0 ? price > Number(o.priceBound) : price < Number(o.priceBound))) cancelReason = 'BOUNDS_VIOLATION';
    if (cancelReason === null && tradeClientId !== undefined && [...this.#trades.values()].some((t) => t.clientId === tradeClientId && t.state === 'OPEN')) cancelReason = 'CLIENT_TRADE_ID_ALREADY_EXISTS';
    if (cancelReason !== null) {
      answer.orderCancelTransaction = this.#cancel(o, cancelReason, created.id as string);
    } else {
      const { fill, related } = this.#fill(o, price, created.id as string, Math.sign(units) * available);
      answer.orderFillTransaction = fill;
      (answer.relatedTransactionIDs as string[]).push(...related);
      if (available < Math.abs(units)) {
        answer.orderCancelTransaction = this.#cancel(o, 'INSUFFICIENT_LIQUIDITY', created.id as string);
        (answer.relatedTransactionIDs as string[]).push((answer.orderCancelTransaction as Json).id as string);
      }
    }
    answer.lastTransactionID = this.lastTransactionID;
    if (script.kind === 'lostAnswer') {
      res.socket?.destroy();
      return;
    }
    this.#send(res, path, 201, answer);
  }

  #cancel(o: VenueOrder, reason: string, batchID: string): Json {
    const tx = this.#record({ type: 'ORDER_CANCEL', orderID: o.id, ...(o.clientId ? { clientOrderID: o.clientId } : {}), reason, batchID });
    o.state = 'CANCELLED';
    o.cancellingTransactionID = tx.id as string;
    o.cancelledTime = tx.time as string;
    return tx;
  }

  #fill(o: VenueOrder, price: number, batchID: string, units = o.units): { fill: Json; related: string[] } {
    const instrument = this.instruments.get(o.instrument)!;
    const priceText = price.toFixed(instrument.displayPrecision);
    const fillId = String(this.#nextId);
    const fill = this.#record({
      type: 'ORDER_FILL',
      orderID: o.id,
      ...(o.clientId ? { clientOrderID: o.clientId } : {}),
      instrument: o.instrument,
      units: String(units),
      price: priceText,
      fullVWAP: priceText,
      reason: 'MARKET_ORDER',
      pl: '0.0000',
      financing: '0.0000',
      commission: '0.0000',
      accountBalance: '100000.0000',
      tradeOpened: { tradeID: fillId, units: String(units), price: priceText, ...(o.tradeClientId ? { clientExtensions: { id: o.tradeClientId } } : {}), halfSpreadCost: '0.0000', initialMarginRequired: '0.0000' },
      halfSpreadCost: '0.0000',
      batchID,
    });
    o.state = 'FILLED';
    o.fillingTransactionID = fill.id as string;
    o.tradeOpenedID = fill.id as string;
    o.filledTime = fill.time as string;
    const trade: VenueTrade = { id: fill.id as string, instrument: o.instrument, price: priceText, openTime: fill.time as string, initialUnits: units, currentUnits: units, state: 'OPEN', clientId: o.tradeClientId, stopLoss: undefined, takeProfit: undefined };
    this.#trades.set(trade.id, trade);
    const related = [fill.id as string];
    if (o.stopLossDistance !== undefined) {
      // stopLossOnFill.distance: priced from the trade's open price, on the losing side.
      const level = (units > 0 ? price - Number(o.stopLossDistance) : price + Number(o.stopLossDistance)).toFixed(instrument.displayPrecision);
      const sl = this.#record({ type: 'STOP_LOSS_ORDER', tradeID: trade.id, ...(trade.clientId ? { clientTradeID: trade.clientId } : {}), price: level, distance: o.stopLossDistance, timeInForce: 'GTC', triggerCondition: 'DEFAULT', reason: 'ON_FILL', orderFillTransactionID: fill.id, batchID });
      trade.stopLoss = { id: sl.id as string, type: 'STOP_LOSS', tradeID: trade.id, price: level, state: 'PENDING', createTime: sl.time as string };
      related.push(sl.id as string);
    }
    return { fill, related };
  }

  #orderBy(specifier: string): VenueOrder | undefined {
    if (specifier.startsWith('@')) return [...this.#orders.values()].filter((o) => o.clientId === specifier.slice(1)).at(-1);
    return this.#orders.get(specifier);
  }

  #tradeBy(specifier: string): VenueTrade | undefined {
    if (specifier.startsWith('@')) return [...this.#trades.values()].filter((t) => t.clientId === specifier.slice(1)).at(-1);
    return this.#trades.get(specifier);
  }

  #getOrder(res: ServerResponse, specifier: string): void {
    const path = '/accounts/{accountID}/orders/{orderSpecifier}';
    const o = this.#orderBy(specifier);
    if (o && o.lookupsLeftMissing > 0) o.lookupsLeftMissing -= 1;
    else if (o) return this.#send(res, path, 200, { order: this.#orderJson(o), lastTransactionID: this.lastTransactionID });
    this.#send(res, '/accounts/{accountID}/orders/{orderSpecifier}', 404, { errorCode: 'NO_SUCH_ORDER', errorMessage: 'The order ID specified does not exist', lastTransactionID: this.lastTransactionID });
  }


  #orderJson(o: VenueOrder): Json {
    return {
      id: o.id,
      createTime: o.createTime,
      state: o.state,
      type: 'MARKET',
      instrument: o.instrument,
      units: String(o.units),
      timeInForce: o.timeInForce,
      positionFill: 'DEFAULT',
      ...(o.priceBound ? { priceBound: o.priceBound } : {}),
      ...(o.clientId ? { clientExtensions: { id: o.clientId } } : {}),
      ...(o.tradeClientId ? { tradeClientExtensions: { id: o.tradeClientId } } : {}),
      ...(o.stopLossDistance ? { stopLossOnFill: { distance: o.stopLossDistance, timeInForce: 'GTC' } } : {}),
      ...(o.fillingTransactionID ? { fillingTransactionID: o.fillingTransactionID, filledTime: o.filledTime, tradeOpenedID: o.tradeOpenedID } : {}),
      ...(o.cancellingTransactionID ? { cancellingTransactionID: o.cancellingTransactionID, cancelledTime: o.cancelledTime } : {}),
    };
  }

  #cancelOrder(res: ServerResponse, specifier: string): void {
    const path = '/accounts/{accountID}/orders/{orderSpecifier}/cancel';
    const o = this.#orderBy(specifier);
    if (!o || o.state !== 'PENDING') {
      const tx = this.#record({ type: 'ORDER_CANCEL_REJECT', ...(o ? { orderID: o.id } : {}), ...(o?.clientId ? { clientOrderID: o.clientId } : {}), rejectReason: 'ORDER_DOESNT_EXIST' });
      return this.#send(res, path, 404, { orderCancelRejectTransaction: tx, relatedTransactionIDs: [tx.id], lastTransactionID: this.lastTransactionID, errorCode: 'ORDER_DOESNT_EXIST', errorMessage: 'The Order specified does not exist' });
    }
    const tx = this.#cancel(o, 'CLIENT_REQUEST', String(this.#nextId));
    this.#send(res, path, 200, { orderCancelTransaction: tx, relatedTransactionIDs: [tx.id], lastTransactionID: this.lastTransactionID });
  }

  #tradeJson(t: VenueTrade): Json {
    const dependent = (d: DependentOrder | undefined) =>
      d === undefined
        ? undefined
        : { id: d.id, createTime: d.createTime, state: d.state, type: d.type, tradeID: d.tradeID, ...(t.clientId ? { clientTradeID: t.clientId } : {}), price: d.price, timeInForce: 'GTC', triggerCondition: 'DEFAULT' };
    const sl = dependent(t.stopLoss?.state === 'PENDING' ? t.stopLoss : undefined);
    const tp = dependent(t.takeProfit?.state === 'PENDING' ? t.takeProfit : undefined);
    return {
      id: t.id,
      instrument: t.instrument,
      price: t.price,
      openTime: t.openTime,
      state: t.state,
      initialUnits: String(t.initialUnits),
      initialMarginRequired: '0.0000',
      currentUnits: String(t.state === 'OPEN' ? t.currentUnits : 0),
      realizedPL: '0.0000',
      unrealizedPL: '0.0000',
      marginUsed: '0.0000',
      financing: '0.0000',
      ...(t.clientId ? { clientExtensions: { id: t.clientId } } : {}),
      ...(sl ? { stopLossOrder: { ...sl, guaranteed: false } } : {}),
      ...(tp ? { takeProfitOrder: tp } : {}),
    };
  }

  #setDependentOrders(res: ServerResponse, specifier: string, body: unknown): void {
    const path = '/accounts/{accountID}/trades/{tradeSpecifier}/orders';
    const trade = this.#tradeBy(specifier);
    if (!trade || trade.state !== 'OPEN') return this.#send(res, path, 404, { errorCode: 'NO_SUCH_TRADE', errorMessage: 'The Trade specified does not exist' });
    const instrument = this.instruments.get(trade.instrument)!;
    if (this.refuseNextDependentOrders) {
      this.refuseNextDependentOrders = false;
      const price = (body as { stopLoss?: { price?: string } } | undefined)?.stopLoss?.price ?? trade.price;
      const tx = this.#record({ type: 'STOP_LOSS_ORDER_REJECT', tradeID: trade.id, price, timeInForce: 'GTC', triggerCondition: 'DEFAULT', reason: 'CLIENT_ORDER', rejectReason: 'PRICE_DISTANCE_MINIMUM_NOT_MET' });
      return this.#send(res, path, 400, { stopLossOrderRejectTransaction: tx, lastTransactionID: this.lastTransactionID, errorCode: 'PRICE_DISTANCE_MINIMUM_NOT_MET', errorMessage: 'The Stop Loss price is too close to the current price' });
    }
    const request = body as { stopLoss?: { price?: string }; takeProfit?: { price?: string } } | undefined;
    const answer: Json = {};
    const reject: Json = {};
    const check = (price: string | undefined) =>
      price === undefined || !/^\d+(\.\d+)?$/.test(price) ? 'PRICE_INVALID' : (price.split('.')[1]?.length ?? 0) > instrument.displayPrecision ? 'PRICE_PRECISION_EXCEEDED' : null;
    for (const [key, kind] of [['stopLoss', 'STOP_LOSS'], ['takeProfit', 'TAKE_PROFIT']] as const) {
      const details = request?.[key];
      if (details === undefined) continue;
      const problem = check(details.price);
      if (problem) {
        reject[`${key}OrderRejectTransaction`] = { id: String(this.#nextId++), time: this.#time(), type: `${kind}_ORDER_REJECT`, tradeID: trade.id, price: details.price, timeInForce: 'GTC', reason: 'CLIENT_ORDER', rejectReason: problem };
      }
    }
    if (Object.keys(reject).length > 0) {
      const first = Object.values(reject)[0] as { rejectReason: string };
      return this.#send(res, path, 400, { ...reject, lastTransactionID: this.lastTransactionID, errorCode: first.rejectReason, errorMessage: 'The price specified contains more precision than is allowed' });
    }
    for (const [key, kind, slot] of [['stopLoss', 'STOP_LOSS', 'stopLoss'], ['takeProfit', 'TAKE_PROFIT', 'takeProfit']] as const) {
      const details = request?.[key];
      if (details === undefined) continue;
      const existing = trade[slot];
      const replacing = existing?.state === 'PENDING';
      if (replacing) {
        existing.state = 'CANCELLED';
        answer[`${key}OrderCancelTransaction`] = this.#record({ type: 'ORDER_CANCEL', orderID: existing.id, reason: 'CLIENT_REQUEST_REPLACED' });
      }
      const tx = this.#record({ type: `${kind}_ORDER`, tradeID: trade.id, ...(trade.clientId ? { clientTradeID: trade.clientId } : {}), price: details.price, timeInForce: 'GTC', triggerCondition: 'DEFAULT', reason: replacing ? 'REPLACEMENT' : 'CLIENT_ORDER', ...(replacing ? { replacesOrderID: existing.id } : {}) });
      answer[`${key}OrderTransaction`] = tx;
      trade[slot] = { id: tx.id as string, type: kind, tradeID: trade.id, price: details.price!, state: 'PENDING', createTime: tx.time as string };
      if (key === 'stopLoss' && this.cancelNextStopOnCreate) {
        this.cancelNextStopOnCreate = false;
        trade[slot]!.state = 'CANCELLED';
        answer.stopLossOrderCreatedCancelTransaction = this.#record({ type: 'ORDER_CANCEL', orderID: tx.id, reason: 'MARKET_HALTED' });
      }
    }
    this.#send(res, path, 200, { ...answer, relatedTransactionIDs: [], lastTransactionID: this.lastTransactionID });
  }

  #position(res: ServerResponse, instrumentName: string): void {
    const path = '/accounts/{accountID}/positions/{instrument}';
    if (!this.instruments.has(instrumentName)) return this.#send(res, path, 404, { errorCode: 'NO_SUCH_POSITION', errorMessage: 'Invalid value specified for instrument' });
    const open = [...this.#trades.values()].filter((t) => t.instrument === instrumentName && t.state === 'OPEN');
    const side = (trades: VenueTrade[]) => {
      const units = trades.reduce((s, t) => s + t.currentUnits, 0);
      const average = units === 0 ? null : trades.reduce((s, t) => s + t.currentUnits * Number(t.price), 0) / units;
      return {
        units: String(units),
        ...(average === null ? {} : { averagePrice: average.toFixed(this.instruments.get(instrumentName)!.displayPrecision + 1) }),
        ...(trades.length > 0 ? { tradeIDs: trades.map((t) => t.id) } : {}),
        pl: '0.0000',
        unrealizedPL: '0.0000',
        resettablePL: '0.0000',
        financing: '0.0000',
      };
    };
    this.#send(res, path, 200, {
      position: { instrument: instrumentName, pl: '0.0000', unrealizedPL: '0.0000', marginUsed: '0.0000', resettablePL: '0.0000', financing: '0.0000', commission: '0.0000', long: side(open.filter((t) => t.currentUnits > 0)), short: side(open.filter((t) => t.currentUnits < 0)) },
      lastTransactionID: this.lastTransactionID,
    });
  }
}
