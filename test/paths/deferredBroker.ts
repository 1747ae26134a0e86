/**
 * A broker whose every call waits until the path driver settles it with exactly the answer
 * the path prescribes. Pushes go to subscribers on demand.
 */
import type { BrokerAdapter, OrderReport } from '../../src/index.js';

type Method = 'submitOrder' | 'cancelOrder' | 'getOrder' | 'getPosition' | 'placeProtection' | 'isTradable' | 'getQuote';

interface Pending {
  readonly method: Method;
  readonly args: unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class DeferredBroker implements BrokerAdapter {
  readonly name = 'deferred';
  constructor(readonly clientOrderIdDurability: 'durable' | 'openOrdersOnly' = 'durable') {}
  private readonly pending: Pending[] = [];
  private readonly listeners = new Set<(r: OrderReport) => void>();

  submitOrder = (req: unknown) => this.defer('submitOrder', req) as Promise<OrderReport>;
  cancelOrder = (ref: unknown) => this.defer('cancelOrder', ref) as Promise<OrderReport>;
  getOrder = (ref: unknown) => this.defer('getOrder', ref) as Promise<OrderReport | null>;
  getPosition = (symbol: string) => this.defer('getPosition', symbol) as never;
  placeProtection = (req: unknown) => this.defer('placeProtection', req) as never;
  // Pre-trade facts: every execution asks whether the venue trades; one with a collar asks for a quote.
  isTradable = (symbol: string) => this.defer('isTradable', symbol) as Promise<boolean>;
  getQuote = (symbol: string) => this.defer('getQuote', symbol) as Promise<{ bid: number; ask: number }>;

  subscribe(listener: (r: OrderReport) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  push(report: OrderReport): void {
    for (const l of [...this.listeners]) l(report);
  }

  /** How many calls of `method` wait for an answer. */
  waiting(method: Method): number {
    return this.pending.filter((p) => p.method === method).length;
  }

  /** Settles the most recent unanswered call of `method`. */
  settle(method: Method, outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): void {
    const index = this.pending.findLastIndex((p) => p.method === method);
    if (index < 0) throw new Error(`path expects a ${method} call, but none is waiting`);
    const [call] = this.pending.splice(index, 1);
    if (outcome.ok) call!.resolve(outcome.value);
    else call!.reject(outcome.error);
  }

  private defer(method: Method, args: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => this.pending.push({ method, args, resolve, reject }));
  }
}
