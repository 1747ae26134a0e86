/**
 * The paper service's `GET /events` and HttpBroker's `events` option, over loopback: fills,
 * partial fills and cancels are pushed; the stream comes back after the service restarts; the
 * last unsubscribe closes it; a reader that falls behind is dropped; an engine on the pushing
 * adapter takes a fill in before its first backstop poll is due. The venue's fills run on a
 * VirtualClock, so nothing here waits for a fill delay; waits are bounded loops on a condition.
 */
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type BrokerAdapter, type Clock, type OrderReport } from '../../src/index.js';
import { HttpBroker, startPaperService, type PaperService } from '../../src/entries/adapters.js';
import { VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

/** The venue's clock: virtual for its fills, while its zero-latency "network" answers at once. */
const venueClock = (clock: VirtualClock): Clock => ({
  now: () => clock.now(),
  setTimeout: (fn, ms) => (ms <= 0 ? setImmediate(fn) : clock.setTimeout(fn, ms)),
  clearTimeout: (handle) => (typeof handle === 'object' && handle !== null && 'hasRef' in handle ? clearImmediate(handle as NodeJS.Immediate) : clock.clearTimeout(handle)),
});

const markets = {
  EURUSD: { price: 1.1, fillSteps: [{ afterMs: 1_000, fraction: 0.5 }, { afterMs: 2_000, fraction: 0.5 }], slippageBps: 0 },
  GBPUSD: { price: 1.3, noLiquidity: true },
};
const order = (id: string, symbol = 'EURUSD') => ({ clientOrderId: id, symbol, side: 'buy' as const, quantity: 2, type: 'market' as const });

/** Waits until `condition` holds: a bounded loop over short pauses (the condition is a socket event's effect), never a timeout of the code under test. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`never: ${what}`);
}

const services: PaperService[] = [];
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
});
async function service(options: Parameters<typeof startPaperService>[0]): Promise<PaperService> {
  const s = await startPaperService(options);
  services.push(s);
  return s;
}

describe('GET /events and HttpBroker({ events })', () => {
  it('pushes every change of an order: accepted, filled in part, filled, and a cancel', async () => {
    const clock = new VirtualClock(T0);
    const paper = await service({ port: 0, clock: venueClock(clock), latencyMs: [0, 0], markets });
    const broker = new HttpBroker({ baseUrl: paper.url, events: '/events' });
    const pushed: OrderReport[] = [];
    const stop = broker.subscribe!((r) => pushed.push(r));
    try {
      await until(() => paper.eventStreams() === 1 && broker.eventStats()!.open, 'the stream is open');
      await broker.submitOrder(order('ev-1'));
      await until(() => pushed.length === 1, 'the accepted order is pushed');
      await clock.advance(1_000);
      await until(() => pushed.length === 2, 'the partial fill is pushed');
      await clock.advance(1_000);
      await until(() => pushed.length === 3, 'the fill is pushed');
      await broker.submitOrder(order('ev-2', 'GBPUSD'));
      await broker.cancelOrder({ clientOrderId: 'ev-2' });
      await until(() => pushed.length === 5, 'the cancel is pushed');
      expect(pushed.map((r) => [r.clientOrderId, r.status, r.filledQuantity])).toEqual([
        ['ev-1', 'pending', 0],
        ['ev-1', 'partially_filled', 1],
        ['ev-1', 'filled', 2],
        ['ev-2', 'pending', 0],
        ['ev-2', 'cancelled', 0],
      ]);
      expect(pushed[2]).toEqual(await broker.getOrder({ clientOrderId: 'ev-1' })); // the push is the venue's report
      expect(broker.eventStats()).toMatchObject({ connects: 1, reports: 5, unreadable: 0 });
    } finally {
      stop();
    }
  });

  it('comes back after the service restarts on its state file, and pushes again', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'warden-events-')), 'paper.json');
    const first = await startPaperService({ port: 0, latencyMs: [0, 0], markets, stateFile });
    const port = Number(new URL(first.url).port);
    const broker = new HttpBroker({ baseUrl: first.url, events: { path: '/events', reconnectMs: 10, maxReconnectMs: 40 } });
    const pushed: OrderReport[] = [];
    const stop = broker.subscribe!((r) => pushed.push(r));
    try {
      await until(() => first.eventStreams() === 1, 'the stream is open');
      await broker.submitOrder(order('rs-1', 'GBPUSD'));
      await until(() => pushed.length === 1, 'the accepted order is pushed');
      await first.close();
      await until(() => !broker.eventStats()!.open, 'the stream ended with the service');
      const second = await service({ port, latencyMs: [0, 0], markets, stateFile });
      await until(() => second.eventStreams() === 1, 'the stream is open again');
      await broker.cancelOrder({ clientOrderId: 'rs-1' }); // an order of the first life, from the state file
      await until(() => pushed.length === 2, 'the cancel is pushed on the new stream');
      expect(pushed.map((r) => [r.clientOrderId, r.status])).toEqual([['rs-1', 'pending'], ['rs-1', 'cancelled']]);
      expect(broker.eventStats()).toMatchObject({ connects: 2, open: true });
    } finally {
      stop();
    }
  });

  it('one connection for every listener; the last unsubscribe closes it, and nothing more is delivered', async () => {
    const paper = await service({ port: 0, latencyMs: [0, 0], markets });
    const broker = new HttpBroker({ baseUrl: paper.url, events: '/events' });
    const a: OrderReport[] = [];
    const b: OrderReport[] = [];
    const stopA = broker.subscribe!((r) => a.push(r));
    const stopB = broker.subscribe!((r) => b.push(r));
    await until(() => paper.eventStreams() === 1, 'the stream is open');
    stopA();
    await broker.submitOrder(order('un-1', 'GBPUSD'));
    await until(() => b.length === 1, 'the remaining listener hears the push');
    expect(paper.eventStreams()).toBe(1);
    expect(a).toEqual([]);
    stopB();
    await until(() => paper.eventStreams() === 0, 'the service sees the stream closed');
    await broker.cancelOrder({ clientOrderId: 'un-1' });
    await broker.getOrder({ clientOrderId: 'un-1' }); // a round trip after the cancel's push would have gone out
    expect(b).toHaveLength(1);
    expect(broker.eventStats()).toMatchObject({ connects: 1, open: false });
  });

  it('without the option the adapter has no subscribe, and the engine polls', () => {
    const broker = new HttpBroker({ baseUrl: 'http://127.0.0.1:1' });
    expect('subscribe' in broker).toBe(false);
    expect(broker.eventStats()).toBeNull();
    expect(() => new HttpBroker({ baseUrl: 'http://127.0.0.1:1', events: 'events' })).toThrow(/events.path must start with "\/"/);
    expect(() => new HttpBroker({ baseUrl: 'http://127.0.0.1:1', events: { path: '/events', reconnectMs: 0 } })).toThrow(/events.reconnectMs must be a positive number/);
  });

  it('skips and counts an unreadable line; a connect that never answers is abandoned and retried', async () => {
    let connections = 0;
    const report = { clientOrderId: 'x-1', brokerOrderId: 'B-1', status: 'filled', filledQuantity: 1, averageFillPrice: 1.1 };
    const fake = createServer((_req, res) => {
      connections++;
      if (connections === 1) return; // never answers
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`{ not json\n\n42\n${JSON.stringify(report)}\n`);
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
    const broker = new HttpBroker({ baseUrl: url, events: { path: '/events', connectTimeoutMs: 20, reconnectMs: 5 } });
    const pushed: unknown[] = [];
    const stop = broker.subscribe!((r) => pushed.push(r));
    try {
      await until(() => pushed.length === 1, 'the readable report is delivered');
      expect(connections).toBe(2);
      expect(pushed).toEqual([report]);
      expect(broker.eventStats()).toMatchObject({ connects: 1, reports: 1, unreadable: 2 }); // the blank line is a heartbeat
    } finally {
      stop();
      fake.closeAllConnections();
      await new Promise((r) => fake.close(r));
    }
  });

  it('drops a reader that falls behind instead of buffering for it without bound', async () => {
    const paper = await service({ port: 0, latencyMs: [0, 0], markets, eventBufferBytes: 16 * 1024 });
    const { port } = new URL(paper.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write('GET /events HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n');
    socket.pause(); // reads nothing
    socket.on('error', () => undefined);
    try {
      await until(() => paper.eventStreams() === 1, 'the stream is open');
      const report: OrderReport = { clientOrderId: 'slow-1', brokerOrderId: 'P-1', status: 'pending', filledQuantity: 0, averageFillPrice: null };
      let sent = 0;
      // Kernel buffers take some megabytes first; past them the service's own buffer grows to the bound.
      while (paper.eventStreams() === 1 && sent < 400_000) {
        for (let i = 0; i < 2_000; i++) paper.broker.venue.push(report);
        sent += 2_000;
        await new Promise((r) => setImmediate(r));
      }
      await until(() => paper.eventStreams() === 0, 'the slow reader is dropped');
      expect(sent).toBeLessThan(400_000);
    } finally {
      socket.destroy();
    }
  });

  it('an engine on the pushing adapter takes a fill in by push, before its first backstop poll is due', async () => {
    const clock = new VirtualClock(T0);
    const paper = await service({ port: 0, clock: venueClock(clock), latencyMs: [0, 0], markets: { EURUSD: { price: 1.1, fillAfterMs: 200, slippageBps: 0 } } });
    const http = new HttpBroker({ baseUrl: paper.url, events: '/events' });
    const getOrders: string[] = [];
    const broker: BrokerAdapter = new Proxy(http, {
      get: (target, key) => {
        if (key === 'getOrder') return (ref: { clientOrderId: string }) => (getOrders.push(ref.clientOrderId), target.getOrder(ref));
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const POLL_MS = 1_000;
    const engine = createEngine({ broker, clock, logger: silentLogger(), pollIntervalMs: POLL_MS });
    try {
      let done = false;
      const result = engine.execute(snapshot()).finally(() => (done = true));
      // Virtual time stands still until the order works at the venue and the engine listens.
      await until(() => paper.eventStreams() === 1 && paper.broker.venue.snapshot().orders.length === 1, 'the order works and the engine listens');
      const [working] = paper.broker.venue.snapshot().orders;
      await clock.advance(200); // the venue fills it
      expect(paper.broker.venue.get(working!.clientOrderId)?.status).toBe('filled');
      await until(() => done, 'the execution finishes');
      expect(clock.now() - T0).toBeLessThan(POLL_MS);
      expect(await result).toMatchObject({ status: 'filled', filledQuantity: 10, protectionPlaced: true, requiresManualResolution: false });
      expect(getOrders).toEqual([working!.clientOrderId]); // reconciliation's one look-up, no poll
      expect(http.eventStats()!.reports).toBeGreaterThanOrEqual(1);
    } finally {
      await engine.close();
    }
  });
});
