/**
 * PaperBroker: the embedded default broker. Deterministic for a given seed and clock:
 * network latency, fill delay, partial fills, rejections and slippage are drawn from a seeded
 * generator, and every timer goes through the injected clock, so a simulated clock replays
 * the same run exactly.
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../domain/clock.js';
import type { OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from '../domain/schemas.js';
import { BrokerError } from './errors.js';
import type { BrokerAdapter } from './types.js';
import { Venue, type VenueState } from './venue.js';

/**
 * Everything a paper venue needs to come back after a restart: its book and the fills still due.
 *
 * @example
 * const saved: PaperBrokerState = broker.state();
 * new PaperBroker({ seed: 7, markets: { EURUSD: { price: 1.1 } } }).restore(saved);
 */
export interface PaperBrokerState {
  readonly venue: VenueState;
  readonly pendingFills: readonly { readonly clientOrderId: string; readonly dueAt: number; readonly quantity: number; readonly side: 'buy' | 'sell'; readonly symbol: string }[];
}

/**
 * How one symbol trades on the paper venue.
 *
 * @example
 * const thin: PaperMarket = { price: 1.1, fillSteps: [{ afterMs: 100, fraction: 0.5 }, { afterMs: 400, fraction: 0.5 }], slippageBps: 5 };
 * const broker = new PaperBroker({ markets: { EURUSD: thin } });
 */
export interface PaperMarket {
  /** Mid price. */
  readonly price: number;
  /** Delay from acceptance to the complete fill (ms). Default 150. */
  readonly fillAfterMs?: number;
  /** Fill in steps instead: each fills `fraction` of the order `afterMs` after acceptance. */
  readonly fillSteps?: readonly { readonly afterMs: number; readonly fraction: number }[];
  /** Never fills (no liquidity). */
  readonly noLiquidity?: boolean;
  /** Refuse every order on this symbol with this reason. */
  readonly rejectWith?: string;
  /** Maximum adverse slippage in basis points; the actual value is drawn per fill. Default 2. */
  readonly slippageBps?: number;
  /** What happens to protective orders: placed (default), refused, or acknowledged but lost. */
  readonly protection?: 'place' | 'reject' | 'lose';
}

/**
 * How a {@link PaperBroker} simulates its venue: seed, clock, latency, refusals, markets and positions already open.
 *
 * @example
 * const options: PaperBrokerOptions = { seed: 7, latencyMs: [1, 5], rejectProbability: 0.1, markets: { EURUSD: { price: 1.1 } } };
 * const broker = new PaperBroker(options);
 */
export interface PaperBrokerOptions {
  readonly seed?: number;
  readonly clock?: Clock;
  /** One-way latency range in ms, drawn per request. Default [5, 25]. */
  readonly latencyMs?: readonly [number, number];
  /** Probability that any order is refused. Default 0. */
  readonly rejectProbability?: number;
  readonly markets?: Readonly<Record<string, PaperMarket>>;
  /** Positions that exist before Warden trades (opened by hand, elsewhere). */
  readonly initialPositions?: Readonly<Record<string, { quantity: number; averagePrice: number }>>;
}

/**
 * mulberry32: small, fast, good enough to make simulated runs reproducible.
 *
 * @example
 * const random = seededRandom(42);
 * random(); // 0.6011037519201636, on every run
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * @example
 * const broker = new PaperBroker({ seed: 7, markets: { EURUSD: { price: 1.1, fillAfterMs: 200 } } });
 * const engine = createEngine({ broker });
 */
export class PaperBroker implements BrokerAdapter {
  readonly name = 'paper';
  /** An in-process venue lives and dies with its process: no other instance knows its orders. */
  readonly identity = `paper:in-process:${randomUUID().slice(0, 8)}`;
  /** Client order ids are unique for the venue's lifetime: a resend can never make a second order. */
  readonly clientOrderIdDurability = 'durable' as const;
  readonly venue: Venue;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly latency: readonly [number, number];
  private readonly markets: Readonly<Record<string, PaperMarket>>;
  private readonly rejectProbability: number;
  private readonly pendingFills = new Map<number, PaperBrokerState['pendingFills'][number] & { timer: unknown }>();
  private nextFill = 1;
  /** Called after every change of state (for persistence). */
  onChange: (() => void) | null = null;

  constructor(options: PaperBrokerOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.random = seededRandom(options.seed ?? 1);
    this.latency = options.latencyMs ?? [5, 25];
    this.markets = options.markets ?? {};
    this.rejectProbability = options.rejectProbability ?? 0;
    this.venue = new Venue(() => this.clock.now());
    for (const [symbol, p] of Object.entries(options.initialPositions ?? {})) this.venue.setPosition(symbol, p.quantity, p.averagePrice);
  }

  async submitOrder(req: OrderRequest): Promise<OrderReport> {
    await this.travel();
    const market = this.market(req.symbol);
    if (this.venue.get(req.clientOrderId)) return this.venue.submit(req); // idempotent resend
    if (market.rejectWith || this.random() < this.rejectProbability) {
      const rejected = this.venue.reject(req, market.rejectWith ?? 'rejected by paper venue');
      this.onChange?.();
      return rejected;
    }
    const report = this.venue.submit(req);
    this.scheduleFills(req, market);
    await this.travel();
    return this.venue.get(req.clientOrderId) ?? report;
  }

  async cancelOrder(ref: OrderRef): Promise<OrderReport> {
    await this.travel();
    const report = this.venue.cancel(ref.clientOrderId);
    this.onChange?.();
    await this.travel();
    return report;
  }

  /**
   * The batch cancel of a venue that has one: one round trip for every order. An order the venue
   * does not know is left out of the answer (for Warden, an unknown outcome: it looks the order up).
   */
  async cancelOrders(refs: readonly OrderRef[]): Promise<OrderReport[]> {
    await this.travel();
    const reports: OrderReport[] = [];
    for (const ref of refs) {
      try {
        reports.push(this.venue.cancel(ref.clientOrderId));
      } catch {
        // unknown here: left out
      }
    }
    this.onChange?.();
    await this.travel();
    return reports;
  }

  async getOrder(ref: OrderRef): Promise<OrderReport | null> {
    await this.travel();
    return this.venue.get(ref.clientOrderId);
  }

  async getPosition(symbol: string): Promise<PositionReport> {
    await this.travel();
    return this.venue.position(symbol);
  }

  async placeProtection(req: ProtectionRequest): Promise<ProtectionReport> {
    await this.travel();
    const mode = this.market(req.symbol).protection ?? 'place';
    if (mode === 'reject') return { clientOrderId: req.clientOrderId, status: 'rejected', stopLoss: null, takeProfit: null, quantity: 0, reason: 'protective orders refused by paper venue' };
    if (mode === 'lose') return { clientOrderId: req.clientOrderId, status: 'placed', stopLoss: req.stopLoss, takeProfit: req.takeProfit, quantity: req.quantity };
    const placed = this.venue.protect(req);
    this.onChange?.();
    return placed;
  }

  subscribe(listener: (report: OrderReport) => void): () => void {
    return this.venue.subscribe(listener);
  }

  /** The market's price as bid and ask (the paper venue has no spread), for pre-trade price collars. */
  async getQuote(symbol: string): Promise<{ bid: number; ask: number }> {
    await this.travel();
    const { price } = this.market(symbol);
    return { bid: price, ask: price };
  }

  private market(symbol: string): PaperMarket {
    const market = this.markets[symbol];
    if (!market) throw new BrokerError(`paper venue does not list ${symbol}`, { retryable: false, code: 'bad_symbol' });
    return market;
  }

  private travel(): Promise<void> {
    const [min, max] = this.latency;
    const ms = Math.round(min + this.random() * (max - min));
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  private fillPrice(side: 'buy' | 'sell', market: PaperMarket): number {
    const bps = (market.slippageBps ?? 2) * this.random();
    const factor = side === 'buy' ? 1 + bps / 10_000 : 1 - bps / 10_000;
    return Number((market.price * factor).toPrecision(10));
  }

  private scheduleFills(req: OrderRequest, market: PaperMarket): void {
    // The accepted order is a change even where nothing will fill it: it is persisted either way.
    const steps = market.noLiquidity ? [] : (market.fillSteps ?? [{ afterMs: market.fillAfterMs ?? 150, fraction: 1 }]);
    for (const step of steps) {
      this.schedule({ clientOrderId: req.clientOrderId, dueAt: this.clock.now() + step.afterMs, quantity: req.quantity * step.fraction, side: req.side, symbol: req.symbol });
    }
    this.onChange?.();
  }

  private schedule(fill: PaperBrokerState['pendingFills'][number]): void {
    const id = this.nextFill++;
    const timer = this.clock.setTimeout(() => {
      this.pendingFills.delete(id);
      const market = this.markets[fill.symbol];
      if (market) this.venue.fill(fill.clientOrderId, fill.quantity, this.fillPrice(fill.side, market));
      this.onChange?.();
    }, Math.max(0, fill.dueAt - this.clock.now()));
    this.pendingFills.set(id, { ...fill, timer });
  }

  /** The book and the fills still due, to persist. */
  state(): PaperBrokerState {
    return { venue: this.venue.snapshot(), pendingFills: [...this.pendingFills.values()].map(({ timer: _timer, ...f }) => f) };
  }

  /** Restores a persisted state; fills that fell due while the venue was down happen at once. */
  restore(state: PaperBrokerState): void {
    for (const f of this.pendingFills.values()) this.clock.clearTimeout(f.timer);
    this.pendingFills.clear();
    this.venue.restore(state.venue);
    for (const f of state.pendingFills) this.schedule(f);
  }
}
