/**
 * A broker whose every answer a test chooses: acknowledgements, definitive and ambiguous
 * failures, lost responses, hung requests, "too late to cancel", stale and duplicated reports.
 * Orders, positions and protection live in a real {@link Venue}, so reconciliation is real.
 * Every call is recorded in `calls`.
 */
import { systemClock, type Clock } from '../domain/clock.js';
import type { OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from '../domain/schemas.js';
import { BrokerError } from '../broker/errors.js';
import type { BrokerAdapter, ClientOrderIdDurability } from '../broker/types.js';
import { Venue } from '../broker/venue.js';

/**
 * How the next `submitOrder` call behaves.
 *
 * @example
 * broker.script.submit.push({ kind: 'refuse', reason: 'insufficient margin' });
 */
export type SubmitStep =
  | { readonly kind: 'accept' }
  /** The venue accepts the order, but the answer is lost: the call throws `error`. */
  | { readonly kind: 'acceptThenFail'; readonly error?: unknown }
  /** The request never reaches the venue; the call throws `error`. */
  | { readonly kind: 'fail'; readonly error?: unknown }
  /** Definitive refusal: throws BrokerError(retryable: false). */
  | { readonly kind: 'refuse'; readonly reason?: string }
  /** Answers normally with an order in status `rejected`. */
  | { readonly kind: 'rejectedReport'; readonly reason?: string }
  /** Never answers; with `accept`, the venue holds the order anyway. */
  | { readonly kind: 'hang'; readonly accept?: boolean };

/**
 * How the next `cancelOrder` call behaves.
 *
 * @example
 * broker.script.cancel.push({ kind: 'tooLate', price: 1.1 }); // the order fills just before the cancel
 */
export type CancelStep =
  | { readonly kind: 'apply' }
  /** The order fills completely at `price` just before the cancel arrives. */
  | { readonly kind: 'tooLate'; readonly price: number }
  | { readonly kind: 'fail'; readonly error?: unknown }
  /** Cancels at the venue but the answer is lost. */
  | { readonly kind: 'applyThenFail'; readonly error?: unknown }
  /** Never answers (`apply`: the venue cancels it all the same). */
  | { readonly kind: 'hang'; readonly apply?: boolean };

/**
 * How the next `getOrder` call behaves.
 *
 * @example
 * broker.script.getOrder.push({ kind: 'notFound' }, { kind: 'real' });
 */
export type LookupStep =
  | { readonly kind: 'real' }
  | { readonly kind: 'notFound' }
  | { readonly kind: 'fail'; readonly error?: unknown }
  | { readonly kind: 'report'; readonly report: OrderReport }
  /** Never answers. */
  | { readonly kind: 'hang' };

/**
 * How the next `placeProtection` call behaves.
 *
 * @example
 * broker.script.protection.push({ kind: 'lose' }); // answers "placed", but the venue never holds it
 */
export type ProtectionStep =
  | { readonly kind: 'apply' }
  | { readonly kind: 'rejectedReport'; readonly reason?: string }
  | { readonly kind: 'refuse'; readonly reason?: string }
  | { readonly kind: 'fail'; readonly error?: unknown }
  /** Answers "placed" but the venue never holds it. */
  | { readonly kind: 'lose' }
  /** Never answers (`apply`: the venue places it all the same). */
  | { readonly kind: 'hang'; readonly apply?: boolean };

/**
 * How the next `getPosition` call behaves.
 *
 * @example
 * broker.script.position.push({ kind: 'fail', error: new Error('connection reset') });
 */
export type PositionStep =
  | { readonly kind: 'real' }
  | { readonly kind: 'fail'; readonly error?: unknown }
  | { readonly kind: 'report'; readonly report: PositionReport }
  /** Never answers. */
  | { readonly kind: 'hang' };

const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/**
 * One call the scripted broker received, recorded in `broker.calls`.
 *
 * @example
 * const submits = broker.calls.filter((c: ScriptedCall) => c.method === 'submitOrder').length;
 */
export interface ScriptedCall {
  readonly method: 'submitOrder' | 'cancelOrder' | 'getOrder' | 'getPosition' | 'placeProtection';
  readonly args: unknown;
  readonly at: number;
}

const unknownOutcome = () => new BrokerError('connection reset after sending', { retryable: true, code: 'network' });

/**
 * @example
 * const broker = new ScriptedBroker({ clock });
 * broker.script.submit.push({ kind: 'acceptThenFail' }); // ambiguous submit
 * broker.onAccepted((order) => clock.setTimeout(() => broker.fillRemaining(order.clientOrderId, 1.1), 100));
 */
export class ScriptedBroker implements BrokerAdapter {
  readonly name = 'scripted';
  /** As declared in the constructor (default `durable`), to test both kinds of venue. */
  readonly clientOrderIdDurability: ClientOrderIdDurability;
  readonly venue: Venue;
  readonly calls: ScriptedCall[] = [];
  /** Queues of behaviours, consumed one per call; an empty queue means the default (first kind). */
  readonly script = {
    submit: [] as SubmitStep[],
    cancel: [] as CancelStep[],
    getOrder: [] as LookupStep[],
    protection: [] as ProtectionStep[],
    position: [] as PositionStep[],
  };
  private readonly clock: Clock;
  private readonly latencyMs: number;
  private readonly acceptedListeners: ((order: OrderRequest) => void)[] = [];
  private subscribable: boolean;

  constructor(options: { clock?: Clock; latencyMs?: number; push?: boolean; clientOrderIdDurability?: ClientOrderIdDurability } = {}) {
    this.clientOrderIdDurability = options.clientOrderIdDurability ?? 'durable';
    this.clock = options.clock ?? systemClock;
    this.latencyMs = options.latencyMs ?? 10;
    this.subscribable = options.push ?? true;
    this.venue = new Venue(() => this.clock.now());
  }

  /** Called whenever the venue accepts a new order (not on idempotent resends). */
  onAccepted(listener: (order: OrderRequest) => void): void {
    this.acceptedListeners.push(listener);
  }

  fill(clientOrderId: string, quantity: number, price: number): OrderReport | null {
    return this.venue.fill(clientOrderId, quantity, price);
  }

  fillRemaining(clientOrderId: string, price: number): OrderReport | null {
    return this.venue.fillRemaining(clientOrderId, price);
  }

  /** Pushes a report to subscribers as given: duplicates, stale and out-of-order reports. */
  push(report: OrderReport): void {
    this.venue.push(report);
  }

  /** Calls of one method. */
  callsOf(method: ScriptedCall['method']): ScriptedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  async submitOrder(req: OrderRequest): Promise<OrderReport> {
    this.record('submitOrder', req);
    const step = this.script.submit.shift() ?? { kind: 'accept' };
    await this.travel();
    switch (step.kind) {
      case 'accept':
        return this.accept(req);
      case 'acceptThenFail':
        this.accept(req);
        throw step.error ?? unknownOutcome();
      case 'fail':
        throw step.error ?? unknownOutcome();
      case 'refuse':
        throw new BrokerError(step.reason ?? 'insufficient margin', { retryable: false, code: 'refused' });
      case 'rejectedReport':
        return this.venue.reject(req, step.reason ?? 'rejected by venue');
      case 'hang':
        if (step.accept) this.accept(req);
        return new Promise<OrderReport>(() => undefined);
    }
  }

  async cancelOrder(ref: OrderRef): Promise<OrderReport> {
    this.record('cancelOrder', ref);
    const step = this.script.cancel.shift() ?? { kind: 'apply' };
    await this.travel();
    switch (step.kind) {
      case 'apply':
        return this.venue.cancel(ref.clientOrderId);
      case 'tooLate':
        this.venue.fillRemaining(ref.clientOrderId, step.price);
        return this.venue.cancel(ref.clientOrderId);
      case 'fail':
        throw step.error ?? unknownOutcome();
      case 'applyThenFail':
        this.venue.cancel(ref.clientOrderId);
        throw step.error ?? unknownOutcome();
      case 'hang':
        if (step.apply) this.venue.cancel(ref.clientOrderId);
        return never();
    }
  }

  async getOrder(ref: OrderRef): Promise<OrderReport | null> {
    this.record('getOrder', ref);
    const step = this.script.getOrder.shift() ?? { kind: 'real' };
    await this.travel();
    switch (step.kind) {
      case 'real':
        return this.venue.get(ref.clientOrderId);
      case 'notFound':
        return null;
      case 'fail':
        throw step.error ?? unknownOutcome();
      case 'report':
        return step.report;
      case 'hang':
        return never();
    }
  }

  async getPosition(symbol: string): Promise<PositionReport> {
    this.record('getPosition', symbol);
    const step = this.script.position.shift() ?? { kind: 'real' };
    await this.travel();
    switch (step.kind) {
      case 'real':
        return this.venue.position(symbol);
      case 'fail':
        throw step.error ?? unknownOutcome();
      case 'report':
        return step.report;
      case 'hang':
        return never();
    }
  }

  async placeProtection(req: ProtectionRequest): Promise<ProtectionReport> {
    this.record('placeProtection', req);
    const step = this.script.protection.shift() ?? { kind: 'apply' };
    await this.travel();
    switch (step.kind) {
      case 'apply':
        return this.venue.protect(req);
      case 'rejectedReport':
        return { clientOrderId: req.clientOrderId, status: 'rejected', stopLoss: null, takeProfit: null, quantity: 0, reason: step.reason ?? 'rejected' };
      case 'refuse':
        throw new BrokerError(step.reason ?? 'protective order refused', { retryable: false });
      case 'fail':
        throw step.error ?? unknownOutcome();
      case 'lose':
        return { clientOrderId: req.clientOrderId, status: 'placed', stopLoss: req.stopLoss, takeProfit: req.takeProfit, quantity: req.quantity };
      case 'hang':
        if (step.apply) this.venue.protect(req);
        return never();
    }
  }

  subscribe(listener: (report: OrderReport) => void): () => void {
    if (!this.subscribable) return () => undefined;
    return this.venue.subscribe(listener);
  }

  private accept(req: OrderRequest): OrderReport {
    const isNew = this.venue.get(req.clientOrderId) === null;
    const report = this.venue.submit(req);
    if (isNew) for (const l of this.acceptedListeners) l(req);
    return this.venue.get(req.clientOrderId) ?? report;
  }

  private record(method: ScriptedCall['method'], args: unknown): void {
    this.calls.push({ method, args: structuredClone(args), at: this.clock.now() });
  }

  private travel(): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, this.latencyMs));
  }
}
