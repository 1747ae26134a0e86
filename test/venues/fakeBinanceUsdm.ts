/**
 * A loopback HTTP server that speaks enough of Binance USDⓈ-M futures' REST API for ccxt's
 * `binanceusdm` to run its real request, signing and parsing code against it.
 *
 * Served (all JSON, Binance's shapes and error codes):
 *   GET    /fapi/v1/exchangeInfo              markets with PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, MIN_NOTIONAL
 *   POST   /fapi/v1/order                     market orders (signed)
 *   GET    /fapi/v1/order                     by origClientOrderId or orderId (signed)
 *   DELETE /fapi/v1/order                     cancel by origClientOrderId or orderId (signed)
 *   GET    /fapi/v1/openOrders                (signed)
 *   POST   /fapi/v1/algoOrder                 conditional STOP_MARKET / TAKE_PROFIT_MARKET (signed)
 *   GET    /fapi/v1/algoOrder, DELETE /fapi/v1/algoOrder, GET /fapi/v1/openAlgoOrders (signed)
 *   GET    /fapi/v1/leverageBracket           (signed; ccxt loads it before positions)
 *   GET    /fapi/v3/positionRisk              one-way mode positions (signed)
 *
 * Every signed request is checked like Binance does: the API key header, a fresh timestamp
 * inside recvWindow, and an HMAC-SHA256 signature over the exact parameter string.
 * Client order ids are unique among OPEN orders only, as on Binance: once an order has filled,
 * the venue accepts its id again. The book is scripted per order (fill, partial, rest, reject,
 * accept-then-503) and can be changed behind the client's back (late fills, external trades).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';

export interface FakeMarket {
  readonly base: string;
  /** Price every market order fills at unless its script says otherwise. */
  readonly price: number;
  readonly tickSize: string;
  readonly stepSize: string;
  readonly minQty: string;
  readonly minNotional: string;
}

/** What the venue does with the next market order it accepts. */
export type OrderScript =
  | { readonly kind: 'fill'; readonly price?: number; readonly quantity?: number; readonly then503?: boolean }
  | { readonly kind: 'rest'; readonly then503?: boolean }
  | { readonly kind: 'reject'; readonly code: number; readonly msg: string; readonly status?: number };

export interface Fault {
  readonly status: number;
  readonly code: number;
  readonly msg: string;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly raw: string;
}

interface Order {
  orderId: number;
  symbol: string;
  clientOrderId: string;
  side: 'BUY' | 'SELL';
  origQty: number;
  executedQty: number;
  cumQuote: number;
  status: 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';
  time: number;
  updateTime: number;
}

interface AlgoOrder {
  algoId: number;
  clientAlgoId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  orderType: string;
  quantity: number;
  triggerPrice: number;
  reduceOnly: boolean;
  algoStatus: 'NEW' | 'CANCELED';
  createTime: number;
  updateTime: number;
}

interface Position {
  amount: number;
  entryPrice: number;
}

export const DEFAULT_MARKETS: Readonly<Record<string, FakeMarket>> = {
  BTCUSDT: { base: 'BTC', price: 97_000, tickSize: '0.10', stepSize: '0.001', minQty: '0.001', minNotional: '100' },
  ETHUSDT: { base: 'ETH', price: 3_123.45, tickSize: '0.01', stepSize: '0.001', minQty: '0.001', minNotional: '20' },
};

const CLIENT_ID = /^[.A-Z:/a-z0-9_-]{1,36}$/;
const decimals = (step: string) => (step.includes('.') ? step.split('.')[1]!.replace(/0+$/, '').length : 0);

class Refusal extends Error {
  constructor(readonly fault: Fault) {
    super(fault.msg);
  }
}
const refuse = (code: number, msg: string, status = 400): never => {
  throw new Refusal({ status, code, msg });
};

export class FakeBinanceUsdm {
  readonly requests: RecordedRequest[] = [];
  private readonly orders: Order[] = [];
  private readonly algoOrders: AlgoOrder[] = [];
  private readonly positions = new Map<string, Position>();
  private readonly scripts: OrderScript[] = [];
  private readonly faults: { method: string; path: string; fault: Fault }[] = [];
  private readonly hooks: { method: string; path: string; run: () => void }[] = [];
  private nextId = 8_389_765_000;
  private server: ReturnType<typeof createServer> | null = null;
  url = '';
  /** The user data stream (websocket): its listen keys and its connected clients. */
  private readonly listenKeys = new Set<string>();
  private readonly streams = new Set<WebSocket>();
  private readonly wss = new WebSocketServer({ noServer: true });
  /** Whether order changes are pushed on the user data stream (as Binance does); off to test polling alone. */
  pushes = true;

  constructor(
    readonly apiKey: string,
    private readonly secret: string,
    readonly markets: Readonly<Record<string, FakeMarket>> = DEFAULT_MARKETS,
  ) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    // wss://fstream.binance.com/private/ws?listenKey=…: the user data stream, one per listen key.
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/private/ws' || !this.listenKeys.has(url.searchParams.get('listenKey') ?? '')) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.streams.add(ws);
        ws.on('close', () => this.streams.delete(ws));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const ws of this.streams) ws.terminate();
    this.wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- scripting

  /** Queues what happens to the next market orders accepted, in order. Unscripted orders fill at the market price. */
  script(...scripts: OrderScript[]): this {
    this.scripts.push(...scripts);
    return this;
  }

  /** The next request to `method path` fails with `fault` (before the venue acts on it). */
  failNext(method: string, path: string, fault: Fault): this {
    this.faults.push({ method, path, fault });
    return this;
  }

  /** Runs `run` when the next `method path` request arrives, before the venue answers it (a race lost). */
  beforeNext(method: string, path: string, run: () => void): this {
    this.hooks.push({ method, path, run });
    return this;
  }

  /** Fills `quantity` more of a working order at `price` (a late or partial fill). */
  fill(clientOrderId: string, quantity: number, price: number): void {
    const order = this.openOrder(clientOrderId);
    if (!order) throw new Error(`no open order ${clientOrderId}`);
    this.execute(order, Math.min(quantity, order.origQty - order.executedQty), price);
  }

  /** A trade made outside the client (another terminal, a liquidation): moves the position only. */
  externalTrade(symbol: string, signedQuantity: number, price: number): void {
    this.applyToPosition(symbol, signedQuantity, price);
  }

  // ---- inspection

  /** Clients connected to the user data stream. */
  get streamClients(): number {
    return this.streams.size;
  }

  ordersFor(clientOrderId: string): readonly Order[] {
    return this.orders.filter((o) => o.clientOrderId === clientOrderId);
  }

  openAlgoOrders(symbol: string): readonly AlgoOrder[] {
    return this.algoOrders.filter((a) => a.symbol === symbol && a.algoStatus === 'NEW');
  }

  positionAmount(symbol: string): number {
    return this.positions.get(symbol)?.amount ?? 0;
  }

  callsTo(method: string, path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path === path);
  }

  // ---- HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = url.search.slice(1);
    const paramString = req.method === 'POST' || req.method === 'PUT' ? `${query}${query && raw ? '&' : ''}${raw}` : query;
    const params = Object.fromEntries(new URLSearchParams(paramString));
    const request: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, params, headers: req.headers, raw: paramString };
    this.requests.push(request);
    let status = 200;
    let body: unknown;
    try {
      const hook = this.hooks.findIndex((h) => h.method === request.method && h.path === request.path);
      if (hook >= 0) this.hooks.splice(hook, 1)[0]!.run();
      const injected = this.faults.findIndex((f) => f.method === request.method && f.path === request.path);
      if (injected >= 0) throw new Refusal(this.faults.splice(injected, 1)[0]!.fault);
      body = this.route(request, req.headers['x-mbx-apikey']);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      status = e.fault.status;
      body = { code: e.fault.code, msg: e.fault.msg };
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private route(r: RecordedRequest, apiKey: unknown): unknown {
    const route = `${r.method} ${r.path}`;
    if (route === 'GET /fapi/v1/exchangeInfo') return this.exchangeInfo();
    if (route === 'GET /fapi/v1/time') return { serverTime: Date.now() };
    // The user data stream's key: API key only, no signature (Binance: USER_STREAM security).
    if (route === 'POST /fapi/v1/listenKey' || route === 'PUT /fapi/v1/listenKey') {
      if (apiKey !== this.apiKey) refuse(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
      const key = [...this.listenKeys][0] ?? randomBytes(32).toString('base64url');
      this.listenKeys.add(key);
      return { listenKey: key };
    }
    this.checkSigned(r, apiKey);
    const p = r.params;
    switch (route) {
      case 'POST /fapi/v1/order':
        return this.newOrder(p);
      case 'GET /fapi/v1/order':
        return this.orderJson(this.findOrder(p) ?? refuse(-2013, 'Order does not exist.'));
      case 'DELETE /fapi/v1/order':
        return this.cancel(p);
      case 'GET /fapi/v1/openOrders':
        return this.orders.filter((o) => o.symbol === p.symbol && this.isOpen(o)).map((o) => this.orderJson(o));
      case 'POST /fapi/v1/algoOrder':
        return this.newAlgoOrder(p);
      case 'GET /fapi/v1/algoOrder':
        return this.algoJson(this.algoOrders.find((a) => a.clientAlgoId === p.clientAlgoId || String(a.algoId) === p.algoId) ?? refuse(-2013, 'Order does not exist.'));
      case 'DELETE /fapi/v1/algoOrder': {
        const algo = this.algoOrders.find((a) => a.algoStatus === 'NEW' && (a.clientAlgoId === p.clientAlgoId || String(a.algoId) === p.algoId));
        if (!algo) return refuse(-2011, 'Unknown order sent.');
        algo.algoStatus = 'CANCELED';
        return { algoId: algo.algoId, clientAlgoId: algo.clientAlgoId, code: '200', msg: 'success' };
      }
      case 'GET /fapi/v1/openAlgoOrders':
        return this.openAlgoOrders(p.symbol ?? '').map((a) => this.algoJson(a));
      case 'GET /fapi/v1/leverageBracket':
        return Object.keys(this.markets).map((symbol) => ({
          symbol,
          notionalCoef: 1.0,
          brackets: [{ bracket: 1, initialLeverage: 125, notionalCap: 50_000, notionalFloor: 0, maintMarginRatio: 0.004, cum: 0.0 }],
        }));
      case 'GET /fapi/v3/positionRisk':
        return [...this.positions.entries()]
          .filter(([symbol, pos]) => pos.amount !== 0 && (p.symbol === undefined || p.symbol === symbol))
          .flatMap(([symbol, pos]) => this.positionRows(symbol, pos));
      default:
        return refuse(-5000, `Path ${r.path}, Method ${r.method} is invalid`, 404);
    }
  }

  private checkSigned(r: RecordedRequest, apiKey: unknown): void {
    if (apiKey !== this.apiKey) refuse(-2015, 'Invalid API-key, IP, or permissions for action.', 401);
    const at = r.raw.lastIndexOf('&signature=');
    if (at < 0) refuse(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
    const expected = createHmac('sha256', this.secret).update(r.raw.slice(0, at)).digest();
    const given = Buffer.from(r.raw.slice(at + '&signature='.length), 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) refuse(-1022, 'Signature for this request is not valid.');
    const timestamp = Number(r.params.timestamp);
    const recvWindow = Number(r.params.recvWindow ?? 5000);
    if (!Number.isFinite(timestamp) || Math.abs(Date.now() - timestamp) > recvWindow) {
      refuse(-1021, "Timestamp for this request is outside of the recvWindow.");
    }
  }

  private market(symbol: string | undefined): FakeMarket {
    return (symbol !== undefined ? this.markets[symbol] : undefined) ?? refuse(-1121, 'Invalid symbol.');
  }

  private checkQuantity(m: FakeMarket, quantityText: string | undefined): number {
    const quantity = Number(quantityText);
    if (!quantityText || !(quantity > 0)) return refuse(-4003, 'Quantity less than or equal to zero.');
    if ((quantityText.split('.')[1] ?? '').length > decimals(m.stepSize)) return refuse(-1111, 'Precision is over the maximum defined for this asset.');
    if (quantity < Number(m.minQty)) return refuse(-4005, 'Quantity less than minimum quantity.');
    return quantity;
  }

  private checkClientId(id: string | undefined, param: string): string {
    if (id === undefined || !CLIENT_ID.test(id)) {
      refuse(-1100, `Illegal characters found in parameter '${param}'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.`);
    }
    return id!;
  }

  private newOrder(p: Record<string, string>): unknown {
    const m = this.market(p.symbol);
    if (p.type !== 'MARKET') refuse(-1116, 'Invalid orderType.');
    if (p.side !== 'BUY' && p.side !== 'SELL') refuse(-1117, 'Invalid side.');
    const quantity = this.checkQuantity(m, p.quantity);
    const clientOrderId = this.checkClientId(p.newClientOrderId, 'newClientOrderId');
    // Binance: "a unique id among open orders".
    if (this.orders.some((o) => o.clientOrderId === clientOrderId && this.isOpen(o))) refuse(-4116, 'ClientOrderId is duplicated.');
    const script = this.scripts.shift() ?? { kind: 'fill' };
    if (script.kind === 'reject') refuse(script.code, script.msg, script.status);
    if (quantity * m.price < Number(m.minNotional)) refuse(-4164, `Order's notional must be no smaller than ${m.minNotional} (unless you choose reduce only).`);
    const now = Date.now();
    const order: Order = { orderId: this.nextId++, symbol: p.symbol!, clientOrderId, side: p.side as Order['side'], origQty: quantity, executedQty: 0, cumQuote: 0, status: 'NEW', time: now, updateTime: now };
    this.orders.push(order);
    this.push(order, 'NEW');
    if (script.kind === 'fill') this.execute(order, Math.min(script.quantity ?? quantity, quantity), script.price ?? m.price);
    if (script.kind !== 'reject' && script.then503) refuse(-1007, 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.', 503);
    const { time: _time, ...json } = this.orderJson(order);
    return json;
  }

  private cancel(p: Record<string, string>): unknown {
    const order = this.findOrder(p);
    // Binance answers -2011 for an order that is not open any more (filled or already cancelled).
    if (!order || !this.isOpen(order)) return refuse(-2011, 'Unknown order sent.');
    order.status = 'CANCELED';
    order.updateTime = Date.now();
    this.push(order, 'CANCELED');
    // Binance's documented cancel answer carries no avgPrice (executedQty and cumQuote only).
    const { avgPrice: _avgPrice, ...answer } = this.orderJson(order);
    return answer;
  }

  private newAlgoOrder(p: Record<string, string>): unknown {
    const m = this.market(p.symbol);
    if (p.algoType !== 'CONDITIONAL') refuse(-1102, "Mandatory parameter 'algoType' was not sent, was empty/null, or malformed.");
    if (p.type !== 'STOP_MARKET' && p.type !== 'TAKE_PROFIT_MARKET') refuse(-1116, 'Invalid orderType.');
    const quantity = this.checkQuantity(m, p.quantity);
    const clientAlgoId = this.checkClientId(p.clientAlgoId, 'clientAlgoId');
    const triggerText = p.triggerPrice ?? '';
    const triggerPrice = Number(triggerText);
    if (!(triggerPrice > 0)) refuse(-1102, "Mandatory parameter 'triggerPrice' was not sent, was empty/null, or malformed.");
    if ((triggerText.split('.')[1] ?? '').length > decimals(m.tickSize)) refuse(-1111, 'Precision is over the maximum defined for this asset.');
    if (p.reduceOnly === 'true') {
      const position = this.positionAmount(p.symbol!);
      const reduces = p.side === 'SELL' ? position > 0 : position < 0;
      if (!reduces) refuse(-2022, 'ReduceOnly Order is rejected.');
    }
    if (this.algoOrders.some((a) => a.clientAlgoId === clientAlgoId && a.algoStatus === 'NEW')) refuse(-4116, 'ClientOrderId is duplicated.');
    const now = Date.now();
    const algo: AlgoOrder = {
      algoId: this.nextId++, clientAlgoId, symbol: p.symbol!, side: p.side as AlgoOrder['side'], orderType: p.type!, quantity, triggerPrice,
      reduceOnly: p.reduceOnly === 'true', algoStatus: 'NEW', createTime: now, updateTime: now,
    };
    this.algoOrders.push(algo);
    return this.algoJson(algo);
  }

  // ---- the book

  private isOpen(o: Order): boolean {
    return o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';
  }

  private openOrder(clientOrderId: string): Order | undefined {
    return this.orders.find((o) => o.clientOrderId === clientOrderId && this.isOpen(o));
  }

  /** By orderId, else by client id: the open order with that id, else the latest one. */
  private findOrder(p: Record<string, string>): Order | undefined {
    if (p.orderId !== undefined) return this.orders.find((o) => String(o.orderId) === p.orderId && o.symbol === p.symbol);
    const same = this.orders.filter((o) => o.clientOrderId === p.origClientOrderId && o.symbol === p.symbol);
    return same.find((o) => this.isOpen(o)) ?? same.at(-1);
  }

  private execute(order: Order, quantity: number, price: number): void {
    if (quantity <= 0) return;
    order.executedQty = round(order.executedQty + quantity);
    order.cumQuote += quantity * price;
    order.status = order.executedQty >= order.origQty ? 'FILLED' : 'PARTIALLY_FILLED';
    order.updateTime = Date.now();
    this.applyToPosition(order.symbol, order.side === 'BUY' ? quantity : -quantity, price);
    this.push(order, 'TRADE', quantity, price);
  }

  /** An ORDER_TRADE_UPDATE event on the user data stream, in Binance's documented shape. */
  private push(o: Order, execution: 'NEW' | 'TRADE' | 'CANCELED', lastQty = 0, lastPrice = 0): void {
    if (!this.pushes || this.streams.size === 0) return;
    const m = this.market(o.symbol);
    const q = decimals(m.stepSize);
    const avg = o.executedQty > 0 ? o.cumQuote / o.executedQty : 0;
    const event = {
      e: 'ORDER_TRADE_UPDATE', E: o.updateTime, T: o.updateTime,
      o: {
        s: o.symbol, c: o.clientOrderId, S: o.side, o: 'MARKET', f: 'GTC', q: o.origQty.toFixed(q), p: '0', ap: avg.toFixed(decimals(m.tickSize) + 3), sp: '0',
        x: execution, X: o.status, i: o.orderId, l: lastQty.toFixed(q), z: o.executedQty.toFixed(q), L: lastPrice.toFixed(decimals(m.tickSize)),
        N: 'USDT', n: '0', T: o.updateTime, t: execution === 'TRADE' ? this.nextId++ : 0, b: '0', a: '0', m: false, R: false, wt: 'CONTRACT_PRICE',
        ot: 'MARKET', ps: 'BOTH', cp: false, rp: '0', pP: false, si: 0, ss: 0, V: 'EXPIRE_MAKER', pm: 'NONE', gtd: 0,
      },
    };
    for (const ws of this.streams) ws.send(JSON.stringify(event));
  }

  private applyToPosition(symbol: string, signed: number, price: number): void {
    const pos = this.positions.get(symbol) ?? { amount: 0, entryPrice: 0 };
    const amount = round(pos.amount + signed);
    const grows = pos.amount === 0 || Math.sign(pos.amount) === Math.sign(signed);
    const entryPrice = amount === 0 ? 0 : grows ? (pos.amount * pos.entryPrice + signed * price) / amount : Math.sign(amount) === Math.sign(pos.amount) ? pos.entryPrice : price;
    this.positions.set(symbol, { amount, entryPrice });
  }

  // ---- Binance's JSON shapes

  private orderJson(o: Order) {
    const m = this.market(o.symbol);
    const q = decimals(m.stepSize);
    const avg = o.executedQty > 0 ? o.cumQuote / o.executedQty : 0;
    return {
      orderId: o.orderId, symbol: o.symbol, status: o.status, clientOrderId: o.clientOrderId, price: '0.00', avgPrice: avg.toFixed(decimals(m.tickSize) + 3),
      origQty: o.origQty.toFixed(q), executedQty: o.executedQty.toFixed(q), cumQty: o.executedQty.toFixed(q), cumQuote: o.cumQuote.toFixed(5),
      timeInForce: 'GTC', type: 'MARKET', reduceOnly: false, closePosition: false, side: o.side, positionSide: 'BOTH', stopPrice: '0.00',
      workingType: 'CONTRACT_PRICE', priceProtect: false, origType: 'MARKET', priceMatch: 'NONE', selfTradePreventionMode: 'EXPIRE_MAKER',
      goodTillDate: 0, time: o.time, updateTime: o.updateTime,
    };
  }

  private algoJson(a: AlgoOrder) {
    const m = this.market(a.symbol);
    return {
      algoId: a.algoId, clientAlgoId: a.clientAlgoId, algoType: 'CONDITIONAL', orderType: a.orderType, symbol: a.symbol, side: a.side,
      positionSide: 'BOTH', timeInForce: 'GTC', quantity: a.quantity.toFixed(decimals(m.stepSize)), algoStatus: a.algoStatus,
      triggerPrice: a.triggerPrice.toFixed(decimals(m.tickSize)), price: '0.00', icebergQuantity: null, selfTradePreventionMode: 'EXPIRE_MAKER',
      workingType: 'CONTRACT_PRICE', priceMatch: 'NONE', closePosition: false, priceProtect: false, reduceOnly: a.reduceOnly,
      createTime: a.createTime, updateTime: a.updateTime, triggerTime: 0, goodTillDate: 0,
    };
  }

  /** When set, positions are reported as a hedge-mode account does: a LONG and a SHORT row per symbol. */
  hedgeMode = false;

  private positionRows(symbol: string, pos: Position) {
    if (!this.hedgeMode) return [this.positionJson(symbol, pos)];
    const row = this.positionJson(symbol, pos);
    const amount = Math.abs(pos.amount).toFixed(decimals(this.market(symbol).stepSize));
    return [
      { ...row, positionSide: 'LONG', positionAmt: amount },
      { ...row, positionSide: 'SHORT', positionAmt: `-${amount}` },
    ];
  }

  private positionJson(symbol: string, pos: Position) {
    const m = this.market(symbol);
    const notional = pos.amount * m.price;
    return {
      symbol, positionSide: 'BOTH', positionAmt: pos.amount.toFixed(decimals(m.stepSize)), entryPrice: pos.entryPrice.toFixed(8),
      breakEvenPrice: pos.entryPrice.toFixed(8), markPrice: m.price.toFixed(8), unRealizedProfit: ((m.price - pos.entryPrice) * pos.amount).toFixed(8),
      liquidationPrice: '0', isolatedMargin: '0', notional: notional.toFixed(8), marginAsset: 'USDT', isolatedWallet: '0',
      initialMargin: (Math.abs(notional) / 20).toFixed(8), maintMargin: (Math.abs(notional) * 0.004).toFixed(8),
      positionInitialMargin: (Math.abs(notional) / 20).toFixed(8), openOrderInitialMargin: '0', adl: 2, bidNotional: '0', askNotional: '0',
      updateTime: Date.now(),
    };
  }

  private exchangeInfo() {
    return {
      timezone: 'UTC', serverTime: Date.now(), futuresType: 'U_MARGINED', rateLimits: [], exchangeFilters: [],
      assets: [{ asset: 'USDT', marginAvailable: true, autoAssetExchange: '-10000' }],
      symbols: Object.entries(this.markets).map(([symbol, m]) => ({
        symbol, pair: symbol, contractType: 'PERPETUAL', deliveryDate: 4133404800000, onboardDate: 1569398400000, status: 'TRADING',
        maintMarginPercent: '2.5000', requiredMarginPercent: '5.0000', baseAsset: m.base, quoteAsset: 'USDT', marginAsset: 'USDT',
        pricePrecision: decimals(m.tickSize), quantityPrecision: decimals(m.stepSize), baseAssetPrecision: 8, quotePrecision: 8,
        underlyingType: 'COIN', underlyingSubType: ['PoW'], settlePlan: 0, triggerProtect: '0.0500', liquidationFee: '0.012500', marketTakeBound: '0.05',
        maxMoveOrderLimit: 10000,
        filters: [
          { filterType: 'PRICE_FILTER', minPrice: '0.10', maxPrice: '4529764', tickSize: m.tickSize },
          { filterType: 'LOT_SIZE', stepSize: m.stepSize, maxQty: '1000', minQty: m.minQty },
          { filterType: 'MARKET_LOT_SIZE', stepSize: m.stepSize, maxQty: '120', minQty: m.minQty },
          { filterType: 'MAX_NUM_ORDERS', limit: 200 },
          { filterType: 'MAX_NUM_ALGO_ORDERS', limit: 10 },
          { filterType: 'MIN_NOTIONAL', notional: m.minNotional },
          { filterType: 'PERCENT_PRICE', multiplierUp: '1.0500', multiplierDown: '0.9500', multiplierDecimal: '4' },
        ],
        orderTypes: ['LIMIT', 'MARKET', 'STOP', 'STOP_MARKET', 'TAKE_PROFIT', 'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET'],
        timeInForce: ['GTC', 'IOC', 'FOK', 'GTX', 'GTD'],
      })),
    };
  }
}

const round = (x: number) => Math.round(x * 1e9) / 1e9;
