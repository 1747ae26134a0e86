/**
 * CcxtBroker's order stream, with one subscription serving every execution of an engine: it must
 * not end for good over one failure. Markets that cannot be loaded are tried again like a dropped
 * stream, and a listener that throws or an order it cannot read do not end it. (A stub exchange:
 * the real ccxt and the fake venue's websocket are in push.test.ts.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CcxtBroker, type CcxtExchange } from '../../src/entries/adapters.js';
import type { OrderReport } from '../../src/index.js';

afterEach(() => vi.useRealTimers());

function stubExchange(marketFailures: number) {
  const batches: unknown[][] = [];
  let wake: (() => void) | null = null;
  let loads = 0;
  const exchange = {
    id: 'stub',
    has: { watchOrders: true },
    loadMarkets: async () => {
      loads++;
      if (loads <= marketFailures) throw Object.assign(new Error('exchange unavailable'), { name: 'ExchangeNotAvailable' });
      return {};
    },
    watchOrders: async () => {
      while (batches.length === 0) await new Promise<void>((r) => (wake = r));
      return batches.shift();
    },
    close: async () => undefined,
  } as unknown as CcxtExchange;
  const push = (...orders: unknown[]) => {
    batches.push(orders);
    wake?.();
  };
  return { exchange, push, loads: () => loads };
}

const order = (clientOrderId: string, filled: number) => ({ id: `X-${clientOrderId}`, clientOrderId, status: filled > 0 ? 'closed' : 'open', filled, average: filled > 0 ? 100 : undefined });

describe('CcxtBroker order stream recovery', () => {
  it('markets that fail to load are tried again, backing off, and the stream starts once they load', async () => {
    vi.useFakeTimers();
    const venue = stubExchange(2);
    const broker = new CcxtBroker({ exchange: venue.exchange });
    const seen: OrderReport[] = [];
    broker.subscribe((r) => seen.push(r));
    await vi.advanceTimersByTimeAsync(0);
    expect(venue.loads()).toBe(1);
    await vi.advanceTimersByTimeAsync(500); // first retry
    expect(venue.loads()).toBe(2);
    await vi.advanceTimersByTimeAsync(1_000); // backed off to 1 s; loads now
    expect(venue.loads()).toBe(3);
    venue.push(order('a', 1));
    await vi.advanceTimersByTimeAsync(0);
    expect(seen.map((r) => [r.clientOrderId, r.status])).toEqual([['a', 'filled']]);
  });

  it('a listener that throws, or an order it cannot read, does not end the stream for the others', async () => {
    const venue = stubExchange(0);
    const broker = new CcxtBroker({ exchange: venue.exchange });
    const seen: string[] = [];
    broker.subscribe(() => {
      throw new Error('one execution failed');
    });
    broker.subscribe((r) => seen.push(r.clientOrderId));
    const settle = () => new Promise((r) => setTimeout(r, 0));
    await settle();
    venue.push(order('a', 0), { clientOrderId: 'b', get status(): string { throw new Error('hostile'); } }, order('c', 1));
    await settle();
    venue.push(order('d', 1));
    await settle();
    expect(seen).toEqual(['a', 'c', 'd']);
  });
});
