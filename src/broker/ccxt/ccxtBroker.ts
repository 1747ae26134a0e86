/**
 * A real venue through ccxt (Binance USDⓈ-M futures first). ccxt is an optional peer
 * dependency: nothing here imports it until {@link CcxtBroker.create} is called, and an
 * exchange instance built by the host works without Warden ever loading ccxt itself.
 */
import { inspect } from 'node:util';
import type { OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from '../../domain/schemas.js';
import { createHash } from 'node:crypto';
import { BrokerError } from '../errors.js';
import { closingSide } from '../../rules/protection.js';
import type { BrokerAdapter } from '../types.js';
import { connectExchange } from './connect.js';
import { classifyCcxtError, classifySubmitError, toBrokerError, type CcxtFailure } from './errors.js';
import { OrderStream } from './orderStream.js';
import { ProtectionQueue } from './protectionQueue.js';
import { isHedgeModeRow, levelOnTick, orderReportOf, protectiveLevelsOf, tickSizeOf } from './mapping.js';
import type { CcxtBrokerOptions, CcxtConnectOptions, CcxtExchange, CcxtMarket, CcxtOrder } from './types.js';

/** How many sent client ids the adapter remembers (far more than one 30 s window sends). */
const REMEMBERED_IDS = 50_000;
/** Float noise allowed when checking that a quantity is already on the venue's step. */
const STEP_TOLERANCE = 1e-9;

/**
 * A {@link BrokerAdapter} over a ccxt exchange.
 *
 * - Every order carries Warden's clientOrderId (ccxt would invent one otherwise), and every
 *   look-up and cancel goes by it, so an order is found again after a lost answer or a restart.
 * - Quantities must already be on the market's step: an approved size is traded exactly or
 *   refused before anything is sent, never silently rounded to another size. SL/TP levels are
 *   rounded to the tick, and the tick is reported so reconciliation can tell rounding from a
 *   wrong level.
 * - Failures are classified from ccxt's error classes ({@link classifyCcxtError}); a duplicate
 *   client id means the order exists and is looked up, never resent.
 * - Credentials never leave the exchange object: error messages are scrubbed, and the adapter
 *   prints as `CcxtBroker(<name>)`.
 *
 * @example
 * const broker = await CcxtBroker.create({ exchange: 'binanceusdm', apiKey, secret, sandbox: true });
 * const engine = createEngine({ broker, journal: new SqliteJournal('warden.sqlite') });
 */
export class CcxtBroker implements BrokerAdapter {
  readonly name: string;
  /**
   * Binance (and most venues) keep a client order id unique only among *open* orders: once an
   * order filled, the same id makes a new one. So Warden never resends an unconfirmed order here.
   */
  readonly clientOrderIdDurability = 'openOrdersOnly' as const;
  readonly #exchange: CcxtExchange;
  #markets: Promise<unknown> | null = null;
  /**
   * Client ids this process has sent or seen acknowledged, with when it last did: a second send of
   * one is looked up first, and a "no such order" within the grace is the venue's lag. Resends
   * happen within the 30 s window, so the most recent ids are all that matter.
   */
  readonly #sent = new Map<string, number>();
  readonly #graceMs: number;
  readonly #now: () => number;
  readonly #protections = new ProtectionQueue();

  /** The exchange and the account (a hash of the API key, never the key): orders live there. */
  readonly identity: string;

  constructor(options: CcxtBrokerOptions) {
    this.#exchange = options.exchange;
    this.name = options.name ?? `ccxt:${options.exchange.id}`;
    this.#graceMs = options.lookupGraceMs ?? 2_000;
    this.#now = options.now ?? Date.now;
    this.#stream = new OrderStream(options.exchange, () => this.#loadMarkets());
    const key = typeof options.exchange.apiKey === 'string' && options.exchange.apiKey.length > 0 ? createHash('sha256').update(options.exchange.apiKey).digest('hex').slice(0, 12) : 'no-key';
    this.identity = `ccxt:${options.exchange.id}:${key}`;
  }

  /** Builds the exchange from an id and credentials (loading ccxt lazily). */
  static async create(options: CcxtConnectOptions): Promise<CcxtBroker> {
    return new CcxtBroker({ exchange: await connectExchange(options) });
  }

  toJSON(): { name: string } {
    return { name: this.name };
  }

  [inspect.custom](): string {
    return `CcxtBroker(${this.name})`;
  }

  readonly #stream: OrderStream;

  /**
   * Order updates pushed by the venue (ccxt pro's `watchOrders`), when the exchange has them;
   * otherwise none, and Warden sees fills by polling alone. See {@link OrderStream}.
   */
  subscribe(listener: (report: OrderReport) => void): () => void {
    return this.#stream.subscribe(listener);
  }

  async submitOrder(req: OrderRequest): Promise<OrderReport> {
    const amount = await this.#tradableQuantity(req.symbol, req.quantity);
    const ref = { clientOrderId: req.clientOrderId, symbol: req.symbol };
    return this.#sendOnce(
      req.clientOrderId,
      () => this.getOrder(ref),
      async () => {
        let order: CcxtOrder;
        try {
          order = await this.#exchange.createOrder(req.symbol, 'market', req.side, amount, undefined, { clientOrderId: req.clientOrderId });
        } catch (e) {
          // A rate-limit refusal (429/418) proves the order was not placed; anything else is classified as any send's.
          const failure = classifySubmitError(e, [this.#exchange.apiKey, this.#exchange.secret]);
          throw failure.kind === 'not_sent' ? toBrokerError(failure) : e;
        }
        return this.#acknowledged(orderReportOf(order, req.clientOrderId));
      },
    );
  }

  async cancelOrder(ref: OrderRef): Promise<OrderReport> {
    const symbol = this.#symbolOf(ref);
    await this.#loadMarkets();
    try {
      return this.#acknowledged(orderReportOf(await this.#exchange.cancelOrder(undefined, symbol, { clientOrderId: ref.clientOrderId }), ref.clientOrderId));
    } catch (e) {
      const failure = this.#classify(e);
      if (failure.kind === 'unknown') throw toBrokerError(failure);
      // "Unknown order" on cancel means cancelled, filled, or never there: go and look.
      const report = await this.getOrder(ref);
      if (report) return report;
      throw new BrokerError(`unknown order ${ref.clientOrderId}: ${failure.message}`, { retryable: false, code: 'unknown_order' });
    }
  }

  async getOrder(ref: OrderRef): Promise<OrderReport | null> {
    const symbol = this.#symbolOf(ref);
    await this.#loadMarkets();
    try {
      return this.#acknowledged(orderReportOf(await this.#exchange.fetchOrder(undefined, symbol, { clientOrderId: ref.clientOrderId }), ref.clientOrderId));
    } catch (e) {
      const failure = this.#classify(e);
      if (failure.kind === 'not_found') {
        const seenAt = this.#sent.get(ref.clientOrderId);
        // An order just sent or just acknowledged can be missing from a look-up for a moment
        // (Binance -2013 while it catches up): "not yet" must not read as "never".
        if (seenAt !== undefined && this.#now() - seenAt < this.#graceMs) {
          throw new BrokerError(`${this.name}: order ${ref.clientOrderId} not visible yet (seen ${this.#now() - seenAt} ms ago): ${failure.message}`, { retryable: true, code: 'lookup_lag' });
        }
        return null;
      }
      throw toBrokerError({ ...failure, kind: 'unknown' });
    }
  }

  async getPosition(symbol: string): Promise<PositionReport> {
    await this.#loadMarkets();
    this.#market(symbol);
    try {
      const [positions, triggers] = await Promise.all([
        this.#exchange.fetchPositions([symbol]),
        this.#exchange.fetchOpenOrders(symbol, undefined, undefined, { trigger: true }),
      ]);
      // A hedge-mode account holds a LONG and a SHORT row per symbol: netting them would report a
      // position as flat. Warden trades one-way mode only, so it says so instead of guessing.
      const hedged = positions.find((p) => p.symbol === symbol && isHedgeModeRow(p));
      if (hedged) {
        throw new BrokerError(`${this.name}: the account is in hedge (dual-side) position mode; Warden supports one-way mode only and will not net LONG and SHORT positions into one`, {
          retryable: true,
          code: 'hedge_mode',
        });
      }
      const mine = positions.filter((p) => p.symbol === symbol && (p.contracts ?? 0) !== 0);
      const quantity = mine.reduce((sum, p) => sum + (p.side === 'short' ? -1 : 1) * (p.contracts ?? 0), 0);
      const averagePrice = mine.length === 1 && (mine[0]!.entryPrice ?? 0) > 0 ? mine[0]!.entryPrice! : null;
      const levels = protectiveLevelsOf(triggers, quantity, averagePrice);
      return { symbol, quantity, averagePrice, ...levels };
    } catch (e) {
      if (e instanceof BrokerError && e.code === 'hedge_mode') throw e;
      throw toBrokerError({ ...this.#classify(e), kind: 'unknown' });
    }
  }

  /**
   * Calls under one protective id run one at a time, in arrival order ({@link ProtectionQueue}). A
   * call for less than the largest quantity already requested under the id is an older one arriving
   * late: it changes nothing and answers with what the venue holds. A call that a newer request
   * supersedes while it runs stops before its next change at the venue.
   */
  async placeProtection(req: ProtectionRequest): Promise<ProtectionReport> {
    const amount = await this.#tradableQuantity(req.symbol, req.quantity);
    return this.#protections.run(req.clientOrderId, amount, (turn) => (turn.stale ? this.#heldProtection(req, amount) : this.#protect(req, amount, turn.superseded)));
  }

  // ---- internals

  async #protect(req: ProtectionRequest, amount: number, superseded: () => boolean): Promise<ProtectionReport> {
    const closing = closingSide(req.side);
    const tickSize = this.#tick(req.symbol);
    // The stop-loss moves toward the position's price (a long's up, a short's down): never a wider
    // stop than approved. The take-profit goes to the nearest tick.
    const stopLoss = tickSize === undefined ? this.#nearestTick(req.symbol, req.stopLoss) : levelOnTick(req.stopLoss, tickSize, req.side === 'buy' ? 'up' : 'down');
    const takeProfit = tickSize === undefined ? this.#nearestTick(req.symbol, req.takeProfit) : levelOnTick(req.takeProfit, tickSize, 'nearest');
    // Checked before every change at the venue: a superseded call must not touch the newer legs.
    const stillCurrent = () => {
      if (superseded()) throw new BrokerError(`${this.name}: protection ${req.clientOrderId} for ${amount} was superseded by a newer request; stopped before changing the venue`, { retryable: true, code: 'superseded' });
    };
    const leg = async (suffix: string, kind: 'stopLossPrice' | 'takeProfitPrice', price: number) => {
      const ref = { clientOrderId: `${req.clientOrderId}-${suffix}`, symbol: req.symbol };
      // What is working at the venue, at its own level and size.
      const placed = (o: CcxtOrder, fallbackQuantity: number) => ({ placed: true as const, price: o.triggerPrice ?? price, quantity: o.amount ?? fallbackQuantity });
      // A leg already working under this id for this plan is adopted (a retry); one for another plan
      // (an earlier fill) is cancelled, then this plan is placed under the same id: Binance keeps
      // ids unique among open orders only, so an amend never leaves two stops working. A leg for
      // more than this plan is a newer plan's (this adapter restarted meanwhile): it is kept.
      const isThisPlan = (o: CcxtOrder) => o.amount !== undefined && Math.abs(o.amount - amount) <= STEP_TOLERANCE * amount && (o.triggerPrice === undefined || o.triggerPrice === price);
      const isLarger = (o: CcxtOrder) => o.amount !== undefined && o.amount > amount + STEP_TOLERANCE * amount;
      const send = async () => {
        stillCurrent();
        return placed(await this.#exchange.createOrder(req.symbol, 'market', closing, amount, undefined, { [kind]: price, reduceOnly: true, clientOrderId: ref.clientOrderId }), amount);
      };
      const replaceOrAdopt = async (): Promise<ReturnType<typeof placed> | null> => {
        const existing = await this.#findTrigger(ref);
        if (existing === null) return null;
        if (isThisPlan(existing) || isLarger(existing)) return placed(existing, 0);
        stillCurrent();
        await this.#cancelTrigger(ref);
        return this.#classified(send());
      };
      try {
        return await this.#sendOnce(ref.clientOrderId, replaceOrAdopt, send);
      } catch (e) {
        if (e instanceof BrokerError && !e.retryable) return { placed: false as const, reason: e.message };
        throw e;
      }
    };
    const sl = await leg('sl', 'stopLossPrice', stopLoss);
    const tp = await leg('tp', 'takeProfitPrice', takeProfit);
    const base = { clientOrderId: req.clientOrderId, ...(tickSize === undefined ? {} : { tickSize }) };
    if (sl.placed && tp.placed) {
      return { ...base, status: 'placed', stopLoss: sl.price, takeProfit: tp.price, quantity: Math.min(sl.quantity, tp.quantity) };
    }
    const reason = [sl.placed ? null : `stop-loss refused: ${sl.reason}`, tp.placed ? null : `take-profit refused: ${tp.reason}`].filter(Boolean).join('; ');
    return { ...base, status: 'rejected', stopLoss: sl.placed ? sl.price : null, takeProfit: tp.placed ? tp.price : null, quantity: 0, reason };
  }

  /** A late, older request: nothing is changed; the answer is what the venue holds under the id. */
  async #heldProtection(req: ProtectionRequest, amount: number): Promise<ProtectionReport> {
    const sl = await this.#findTrigger({ clientOrderId: `${req.clientOrderId}-sl`, symbol: req.symbol });
    const tp = await this.#findTrigger({ clientOrderId: `${req.clientOrderId}-tp`, symbol: req.symbol });
    if (sl?.triggerPrice === undefined || tp?.triggerPrice === undefined || sl.amount === undefined || tp.amount === undefined) {
      throw new BrokerError(`${this.name}: protection ${req.clientOrderId} for ${amount} is older than a request for more; nothing changed, and the venue does not hold both legs`, { retryable: true, code: 'superseded' });
    }
    const tickSize = this.#tick(req.symbol);
    return { clientOrderId: req.clientOrderId, status: 'placed', stopLoss: sl.triggerPrice, takeProfit: tp.triggerPrice, quantity: Math.min(sl.amount, tp.amount), ...(tickSize === undefined ? {} : { tickSize }) };
  }

  /**
   * One mechanism for everything Warden sends, orders and protective legs alike. An id this
   * process already sent is looked for first: Binance keeps ids unique among OPEN orders only,
   * so once an order has filled the same id would be accepted again as a new order. A venue's
   * duplicate-id answer means the order exists: it is looked up and adopted, never refused.
   */
  async #sendOnce<T>(clientOrderId: string, find: () => Promise<T | null>, send: () => Promise<T>): Promise<T> {
    if (this.#sent.has(clientOrderId)) {
      const existing = await find();
      if (existing) return existing;
    }
    const before = this.#sent.get(clientOrderId);
    this.#remember(clientOrderId);
    // Refused or never sent: nothing was placed, so this attempt is no reason to read "no such order" as lag.
    const unsent = (error: BrokerError) => {
      if (!error.retryable || error.code === 'not_sent') {
        this.#sent.delete(clientOrderId);
        if (before !== undefined) this.#sent.set(clientOrderId, before);
      }
      return error;
    };
    try {
      return await send();
    } catch (e) {
      if (e instanceof BrokerError) throw unsent(e); // already classified (a rate refusal, a superseded call stopping)
      const failure = this.#classify(e);
      if (failure.kind !== 'duplicate') throw unsent(toBrokerError(failure.kind === 'rejected' || failure.kind === 'not_sent' ? failure : { ...failure, kind: 'unknown' }));
      const existing = await find();
      if (existing) return existing;
      throw new BrokerError(`${failure.message} (the venue says the id is taken but does not show the order)`, { retryable: true, code: failure.code });
    }
  }

  #remember(clientOrderId: string): void {
    // A Map iterates in insertion order: the latest sighting goes last, and the oldest is dropped.
    this.#sent.delete(clientOrderId);
    this.#sent.set(clientOrderId, this.#now());
    if (this.#sent.size > REMEMBERED_IDS) this.#sent.delete(this.#sent.keys().next().value!);
  }

  /** The venue showed the order: it exists, so a "no such order" soon after is lag. */
  #acknowledged(report: OrderReport): OrderReport {
    this.#remember(report.clientOrderId);
    return report;
  }

  #classify(e: unknown): CcxtFailure {
    return classifyCcxtError(e, [this.#exchange.apiKey, this.#exchange.secret]);
  }

  async #loadMarkets(): Promise<void> {
    this.#markets ??= this.#exchange.loadMarkets().catch((e: unknown) => {
      this.#markets = null;
      throw toBrokerError({ ...this.#classify(e), kind: 'unknown' });
    });
    await this.#markets;
  }

  #market(symbol: string): CcxtMarket {
    let market: CcxtMarket;
    try {
      market = this.#exchange.market(symbol);
    } catch (e) {
      throw new BrokerError(`${this.name} has no market '${symbol}': ${this.#classify(e).message}`, { retryable: false, code: 'BadSymbol' });
    }
    // Reduce-only protection and positions exist on contract markets only: on spot the two legs
    // would be two independent sells of the holding, and the position read another account's.
    if (market.spot === true || market.contract === false) {
      throw new BrokerError(`${this.name}: '${symbol}' is a spot market; Warden trades contract (futures, swap) markets only, where protection is reduce-only and positions can be reconciled; nothing was sent`, { retryable: false, code: 'BadSymbol' });
    }
    return market;
  }

  /** The quantity as the venue will trade it, or a definitive refusal before anything is sent. */
  async #tradableQuantity(symbol: string, quantity: number): Promise<number> {
    await this.#loadMarkets();
    const market = this.#market(symbol);
    const refuse = (why: string) => {
      throw new BrokerError(`${symbol}: quantity ${quantity} ${why}; nothing was sent`, { retryable: false, code: 'InvalidQuantity' });
    };
    if (market.contractSize !== undefined && market.contractSize !== 1) refuse(`cannot be expressed in contracts of ${market.contractSize} (only contract size 1 is supported)`);
    let text: string | undefined;
    try {
      text = this.#exchange.amountToPrecision(symbol, quantity);
    } catch {
      return refuse(`rounds to zero at the market's step (${market.precision?.amount ?? 'unknown'})`);
    }
    const amount = Number(text);
    if (!(amount > 0)) refuse(`rounds to zero at the market's step (${market.precision?.amount ?? 'unknown'})`);
    if (Math.abs(amount - quantity) > STEP_TOLERANCE * quantity) {
      refuse(`is not a multiple of the market's step (${market.precision?.amount ?? 'unknown'}); the venue would trade ${text}, not the approved size`);
    }
    const min = Math.max(market.limits?.amount?.min ?? 0, market.limits?.market?.min ?? 0);
    if (amount < min) refuse(`is below the market's minimum (${min})`);
    return amount;
  }

  #nearestTick(symbol: string, price: number): number {
    return Number(this.#exchange.priceToPrecision(symbol, price) ?? price);
  }

  #tick(symbol: string): number | undefined {
    return tickSizeOf(this.#market(symbol).precision?.price, this.#exchange.precisionMode);
  }

  #symbolOf(ref: OrderRef): string {
    const symbol = ref.symbol;
    // Warden always sends it. Without it the order cannot be looked up, so its state is unknown.
    if (symbol === undefined) throw new BrokerError(`${this.name} needs the symbol of order ${ref.clientOrderId} to look it up`, { retryable: true, code: 'symbol_required' });
    return symbol;
  }

  /** Cancels a working trigger order by client id; one the venue no longer knows is already gone. */
  async #cancelTrigger(ref: OrderRef & { symbol: string }): Promise<void> {
    try {
      await this.#exchange.cancelOrder(undefined, ref.symbol, { clientOrderId: ref.clientOrderId, trigger: true });
    } catch (e) {
      const failure = this.#classify(e);
      if (failure.kind === 'not_found') return;
      throw toBrokerError({ ...failure, kind: 'unknown' });
    }
  }

  /** A venue call whose failure is classified like any send's: refused, not sent, or unknown. */
  async #classified<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (e) {
      const failure = this.#classify(e);
      throw toBrokerError(failure.kind === 'rejected' || failure.kind === 'not_sent' ? failure : { ...failure, kind: 'unknown' });
    }
  }

  /**
   * A working trigger order by client id; null if none is working. Read from the open trigger
   * orders, not by id: an amend reuses a leg's id once its earlier order is cancelled, and a
   * look-up by id could answer with that cancelled one.
   */
  async #findTrigger(ref: OrderRef & { symbol: string }): Promise<CcxtOrder | null> {
    try {
      const open = await this.#exchange.fetchOpenOrders(ref.symbol, undefined, undefined, { trigger: true });
      return open.find((o) => o.clientOrderId === ref.clientOrderId) ?? null;
    } catch (e) {
      throw toBrokerError({ ...this.#classify(e), kind: 'unknown' });
    }
  }
}
