/**
 * An in-memory trading venue: orders keyed by clientOrderId, net positions per symbol and
 * protective orders. PaperBroker and the scripted test broker both keep their books here, so
 * reconciliation against either is real.
 */
import type { OrderReport, PositionReport, ProtectionReport, ProtectionRequest } from '../domain/schemas.js';
import type { OrderRequest } from './types.js';
import { BrokerError } from './errors.js';
import { signedQuantity } from '../rules/protection.js';

interface VenueOrder {
  readonly clientOrderId: string;
  readonly brokerOrderId: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly quantity: number;
  filledQuantity: number;
  notional: number;
  status: OrderReport['status'];
  reason?: string;
}

interface VenuePosition {
  quantity: number;
  averagePrice: number | null;
}

interface ProtectiveOrder extends ProtectionRequest {
  readonly placedAt: number;
}

/**
 * Serializable state of a venue (for inspection and persistence).
 *
 * @example
 * const state: VenueState = venue.snapshot();
 * new Venue(Date.now).restore(state);
 */
export interface VenueState {
  readonly orders: readonly VenueOrder[];
  readonly positions: Readonly<Record<string, VenuePosition>>;
  readonly protections: readonly ProtectiveOrder[];
}

const EPS = 1e-12;

/**
 * The book of an in-memory venue: orders keyed by clientOrderId, net positions and protective orders.
 *
 * @example
 * const venue = new Venue(Date.now);
 * venue.submit({ clientOrderId: 'wd-1', symbol: 'EURUSD', side: 'buy', quantity: 1000, type: 'market' });
 * venue.fillRemaining('wd-1', 1.1);
 * venue.position('EURUSD').quantity; // 1000
 */
export class Venue {
  private readonly orders = new Map<string, VenueOrder>();
  private readonly positions = new Map<string, VenuePosition>();
  private readonly protections = new Map<string, ProtectiveOrder>();
  /** Protective orders per symbol, oldest first: position() needs the latest without scanning them all. */
  private readonly protectionsBySymbol = new Map<string, ProtectiveOrder[]>();
  private readonly listeners = new Set<(report: OrderReport) => void>();
  private sequence = 0;

  constructor(private readonly now: () => number) {}

  /** Idempotent on clientOrderId: a resend returns the order that already exists. */
  submit(req: OrderRequest): OrderReport {
    return this.open(req, 'pending');
  }

  /** Records an order the venue refused, so look-ups find it as rejected. */
  reject(req: OrderRequest, reason: string): OrderReport {
    return this.open(req, 'rejected', reason);
  }

  private open(req: OrderRequest, status: 'pending' | 'rejected', reason?: string): OrderReport {
    const existing = this.orders.get(req.clientOrderId);
    if (existing) return this.report(existing);
    const order: VenueOrder = {
      clientOrderId: req.clientOrderId,
      brokerOrderId: `P-${++this.sequence}`,
      symbol: req.symbol,
      side: req.side,
      quantity: req.quantity,
      filledQuantity: 0,
      notional: 0,
      status,
      ...(reason === undefined ? {} : { reason }),
    };
    this.orders.set(order.clientOrderId, order);
    return this.emit(order);
  }

  /** Fills up to `quantity` more at `price`; returns the report, or null if the order cannot fill. */
  fill(clientOrderId: string, quantity: number, price: number): OrderReport | null {
    const order = this.orders.get(clientOrderId);
    if (!order || (order.status !== 'pending' && order.status !== 'partially_filled')) return null;
    const qty = Math.min(quantity, order.quantity - order.filledQuantity);
    if (qty <= EPS) return null;
    order.filledQuantity += qty;
    order.notional += qty * price;
    order.status = order.quantity - order.filledQuantity <= EPS ? 'filled' : 'partially_filled';
    this.applyToPosition(order.symbol, signedQuantity(order.side, qty), price);
    return this.emit(order);
  }

  /** Fills whatever remains of the order. */
  fillRemaining(clientOrderId: string, price: number): OrderReport | null {
    const order = this.orders.get(clientOrderId);
    return order ? this.fill(clientOrderId, order.quantity - order.filledQuantity, price) : null;
  }

  /** Cancels the unfilled remainder. An unknown order is a definitive error; a finished one is returned as it is. */
  cancel(clientOrderId: string): OrderReport {
    const order = this.orders.get(clientOrderId);
    if (!order) throw new BrokerError(`unknown order ${clientOrderId}`, { retryable: false, code: 'unknown_order' });
    if (order.status === 'pending' || order.status === 'partially_filled') {
      order.status = 'cancelled';
      return this.emit(order);
    }
    return this.report(order);
  }

  get(clientOrderId: string): OrderReport | null {
    const order = this.orders.get(clientOrderId);
    return order ? this.report(order) : null;
  }

  /** The open order, if any, for scripted fills. */
  order(clientOrderId: string): { symbol: string; side: 'buy' | 'sell'; quantity: number; filledQuantity: number } | null {
    const o = this.orders.get(clientOrderId);
    return o ? { symbol: o.symbol, side: o.side, quantity: o.quantity, filledQuantity: o.filledQuantity } : null;
  }

  position(symbol: string): PositionReport {
    const p = this.positions.get(symbol);
    const quantity = p?.quantity ?? 0;
    // The most recent protective order on the open side carries the position's SL/TP.
    const protectiveSide = quantity > 0 ? 'buy' : 'sell';
    let latest: ProtectiveOrder | null = null;
    if (Math.abs(quantity) > EPS) {
      const list = this.protectionsBySymbol.get(symbol) ?? [];
      for (let i = list.length - 1; i >= 0 && !latest; i--) if (list[i]!.side === protectiveSide) latest = list[i]!;
    }
    return {
      symbol,
      quantity: Math.abs(quantity) <= EPS ? 0 : quantity,
      averagePrice: Math.abs(quantity) <= EPS ? null : (p?.averagePrice ?? null),
      stopLoss: latest?.stopLoss ?? null,
      takeProfit: latest?.takeProfit ?? null,
    };
  }

  /**
   * Places reduce-only SL/TP for an open position, one protective order per clientOrderId: the
   * same request again changes nothing; a request for more (a later fill) replaces what is held
   * under that id, in place, so a position never carries two stops of one execution. A request
   * for less than is held under the id is an older one arriving late, answered with what is held.
   */
  protect(req: ProtectionRequest): ProtectionReport {
    const existing = this.protections.get(req.clientOrderId);
    if (existing && (req.quantity < existing.quantity - EPS || sameProtection(existing, req))) return placed(existing);
    const p = this.positions.get(req.symbol);
    const held = p ? signedQuantity(req.side, p.quantity) : 0;
    if (held + EPS < req.quantity) {
      return { clientOrderId: req.clientOrderId, status: 'rejected', stopLoss: null, takeProfit: null, quantity: 0, reason: `no ${req.side} position of ${req.quantity} on ${req.symbol} to protect` };
    }
    if (existing) this.dropProtection(existing);
    const prot: ProtectiveOrder = { ...req, placedAt: this.now() };
    this.protections.set(req.clientOrderId, prot);
    const list = this.protectionsBySymbol.get(req.symbol) ?? [];
    list.push(prot);
    this.protectionsBySymbol.set(req.symbol, list);
    return placed(prot);
  }

  /** Protective orders held under `clientOrderId` (zero or one: an amend replaces). */
  protectionsOf(clientOrderId: string): readonly ProtectionRequest[] {
    const p = this.protections.get(clientOrderId);
    return p ? [{ clientOrderId: p.clientOrderId, symbol: p.symbol, side: p.side, quantity: p.quantity, stopLoss: p.stopLoss, takeProfit: p.takeProfit }] : [];
  }

  private dropProtection(prot: ProtectiveOrder): void {
    this.protections.delete(prot.clientOrderId);
    const list = this.protectionsBySymbol.get(prot.symbol);
    const i = list?.indexOf(prot) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  /** Sets a position directly, as a manual trade outside Warden would. */
  setPosition(symbol: string, quantity: number, averagePrice: number | null): void {
    this.positions.set(symbol, { quantity, averagePrice: quantity === 0 ? null : averagePrice });
  }

  subscribe(listener: (report: OrderReport) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Sends a report to subscribers as it is (tests use this for duplicated or stale reports). */
  push(report: OrderReport): void {
    for (const l of this.listeners) l(report); // a Set tolerates unsubscribes during iteration
  }

  snapshot(): VenueState {
    return {
      orders: [...this.orders.values()].map((o) => ({ ...o })),
      positions: Object.fromEntries([...this.positions].map(([k, v]) => [k, { ...v }])),
      protections: [...this.protections.values()].map((p) => ({ ...p })),
    };
  }

  restore(state: VenueState): void {
    this.orders.clear();
    this.positions.clear();
    this.protections.clear();
    this.protectionsBySymbol.clear();
    for (const o of state.orders) this.orders.set(o.clientOrderId, { ...o });
    for (const [k, v] of Object.entries(state.positions)) this.positions.set(k, { ...v });
    for (const p of state.protections) {
      const prot = { ...p };
      this.protections.set(p.clientOrderId, prot);
      this.protectionsBySymbol.set(p.symbol, [...(this.protectionsBySymbol.get(p.symbol) ?? []), prot]);
    }
    this.sequence = state.orders.length;
  }

  private applyToPosition(symbol: string, delta: number, price: number): void {
    const p = this.positions.get(symbol) ?? { quantity: 0, averagePrice: null };
    const next = p.quantity + delta;
    if (Math.abs(next) <= EPS) {
      this.positions.set(symbol, { quantity: 0, averagePrice: null });
      for (const prot of this.protectionsBySymbol.get(symbol) ?? []) this.protections.delete(prot.clientOrderId);
      this.protectionsBySymbol.delete(symbol);
    } else if (p.quantity === 0 || Math.sign(p.quantity) === Math.sign(delta)) {
      const avg = ((p.averagePrice ?? price) * Math.abs(p.quantity) + price * Math.abs(delta)) / (Math.abs(p.quantity) + Math.abs(delta));
      this.positions.set(symbol, { quantity: next, averagePrice: avg });
    } else if (Math.sign(next) === Math.sign(p.quantity)) {
      this.positions.set(symbol, { quantity: next, averagePrice: p.averagePrice }); // reduced
    } else {
      this.positions.set(symbol, { quantity: next, averagePrice: price }); // flipped
    }
  }

  private report(o: VenueOrder): OrderReport {
    return {
      clientOrderId: o.clientOrderId,
      brokerOrderId: o.brokerOrderId,
      status: o.status,
      filledQuantity: o.filledQuantity,
      averageFillPrice: o.filledQuantity > 0 ? o.notional / o.filledQuantity : null,
      ...(o.reason === undefined ? {} : { reason: o.reason }),
    };
  }

  private emit(o: VenueOrder): OrderReport {
    const r = this.report(o);
    this.push(r);
    return r;
  }
}

const sameProtection = (a: ProtectionRequest, b: ProtectionRequest): boolean =>
  a.symbol === b.symbol && a.side === b.side && a.quantity === b.quantity && a.stopLoss === b.stopLoss && a.takeProfit === b.takeProfit;

function placed(p: ProtectiveOrder): ProtectionReport {
  return { clientOrderId: p.clientOrderId, status: 'placed', stopLoss: p.stopLoss, takeProfit: p.takeProfit, quantity: p.quantity };
}
