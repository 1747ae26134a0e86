/**
 * A protection an engine sends while it cannot record it, on a real PostgreSQL. Engine A's entry
 * order fills while A is cut off from the store: on one engine, protection would go out anyway (an
 * unprotected fill is worse). On a fleet, the engine that takes the execution over reads the
 * journal to know what was requested, and on a venue that forgets client order ids (here
 * `openOrdersOnly`) a protection it cannot see there is one it places again: two stops on one
 * position. So there, a protection whose request cannot be recorded is not sent; the taker
 * protects the fill, once.
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { clientOrderIdFor, createEngine, PaperBroker, type BrokerAdapter, type ExecutionResult, type TakeOver } from '../../src/index.js';
import { PostgresStore } from '../../src/store/postgres/PostgresStore.js';
import { useDatabase } from '../store/support/database.js';
import { clusterSnapshot } from '../../scripts/cluster/cluster.js';
import { silentLogger } from '../support/fixtures.js';

const db = useDatabase();

/** A loopback proxy to PostgreSQL whose connections the test can cut (and refuse while cut). */
async function cuttableProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    via: (url: string) => Object.assign(new URL(url), { port: String(port) }).toString(),
    cut: () => {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    heal: () => void (cut = false),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Call = { readonly engine: string; readonly method: string; readonly clientOrderId: string };

/** The shared venue as one engine sees it: it forgets client ids once an order is over; its entry order's answer can be held. */
function venueFor(paper: PaperBroker, engine: string, calls: Call[], holdSubmit?: (answer: Promise<unknown>) => Promise<unknown>): BrokerAdapter {
  const record = (method: string, clientOrderId: string) => calls.push({ engine, method, clientOrderId });
  return {
    name: 'paper',
    identity: 'paper',
    clientOrderIdDurability: 'openOrdersOnly',
    submitOrder: (req) => {
      record('submitOrder', req.clientOrderId);
      const answer = paper.submitOrder(req);
      return (holdSubmit ? holdSubmit(answer) : answer) as ReturnType<BrokerAdapter['submitOrder']>;
    },
    cancelOrder: (ref) => paper.cancelOrder(ref),
    getOrder: (ref) => paper.getOrder(ref),
    getPosition: (symbol) => paper.getPosition(symbol),
    placeProtection: (req) => {
      record('placeProtection', req.clientOrderId);
      return paper.placeProtection(req);
    },
    subscribe: (listener) => paper.subscribe(listener),
  };
}

describe('a protection that cannot be recorded, on a fleet and a venue that forgets client ids', () => {
  it('is not sent by the engine cut off from the store: the taker protects the fill once', async () => {
    const server = db.server();
    const proxy = await cuttableProxy(server.port);
    const paper = new PaperBroker({ seed: 9, latencyMs: [1, 2], markets: { EURUSD: { price: 1.1, fillAfterMs: 50 } } });
    const calls: Call[] = [];
    const storeA = await PostgresStore.connect(proxy.via(server.url), { writer: 'cut-a' });
    const storeB = await db.open({ writer: 'cut-b' });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // A's entry order reaches the venue; then A loses the store, and the order's answer comes late (its fill is pushed meanwhile).
    const a = createEngine({
      broker: venueFor(paper, 'a', calls, (answer) => answer.then(async (report) => (proxy.cut(), await released, report))),
      journal: storeA,
      logger: silentLogger(),
      leaseTtlMs: 1_000,
      pollIntervalMs: 100,
    });
    const takeOvers: TakeOver[] = [];
    const b = createEngine({ broker: venueFor(paper, 'b', calls), journal: storeB, logger: silentLogger(), leaseTtlMs: 1_000, pollIntervalMs: 100, onTakeOver: (t) => takeOvers.push(t) });
    await Promise.all([a.ready, b.ready]);
    const s = clusterSnapshot('cut-1', 'EURUSD', 1.1); // approved a moment ago on the real clock
    const running = a.execute(s);
    await vi.waitFor(() => expect(takeOvers).toHaveLength(1), { timeout: 20_000, interval: 50 });
    const taken: ExecutionResult = await takeOvers[0]!.result;
    release();
    const id = clientOrderIdFor(s);
    const protections = calls.filter((c) => c.method === 'placeProtection');
    expect(calls.filter((c) => c.method === 'submitOrder')).toEqual([{ engine: 'a', method: 'submitOrder', clientOrderId: id }]);
    expect(protections).toEqual([{ engine: 'b', method: 'placeProtection', clientOrderId: `${id}-p` }]);
    expect(taken).toMatchObject({ filledQuantity: s.positionSize, protectionPlaced: true });
    await Promise.race([running, new Promise((r) => setTimeout(r, 5_000))]);
    await Promise.all([a.close().catch(() => undefined), b.close()]);
    await storeA.close().catch(() => undefined);
    await proxy.close();
  }, 60_000);

  it('a short outage, over before the lease lapses: the protection waits for its record and goes out, once, from the engine that holds it', async () => {
    const server = db.server();
    const proxy = await cuttableProxy(server.port);
    // Its own symbol: the store's fleet ledger still counts the first test's position on EURUSD.
    const paper = new PaperBroker({ seed: 10, latencyMs: [1, 2], markets: { GBPUSD: { price: 1.27, fillAfterMs: 50 } } });
    const calls: Call[] = [];
    const storeA = await PostgresStore.connect(proxy.via(server.url), { writer: 'blip-a' });
    const storeB = await db.open({ writer: 'blip-b' });
    // The store goes away as the entry order is answered, for 4 s: longer than protection's own
    // retries (its attempts were spent in 1.5 s, the fill left unprotected), well inside a 10 s lease.
    const a = createEngine({
      broker: venueFor(paper, 'a', calls, (answer) => answer.then((report) => (proxy.cut(), setTimeout(() => proxy.heal(), 4_000), report))),
      journal: storeA,
      logger: silentLogger(),
      leaseTtlMs: 10_000,
      pollIntervalMs: 100,
    });
    const takeOvers: TakeOver[] = [];
    const b = createEngine({ broker: venueFor(paper, 'b', calls), journal: storeB, logger: silentLogger(), leaseTtlMs: 10_000, pollIntervalMs: 100, onTakeOver: (t) => takeOvers.push(t) });
    await Promise.all([a.ready, b.ready]);
    const s = clusterSnapshot('blip-1', 'GBPUSD', 1.27);
    const id = clientOrderIdFor(s);
    const result = await a.execute(s);
    expect(calls.filter((c) => c.method === 'placeProtection')).toEqual([{ engine: 'a', method: 'placeProtection', clientOrderId: `${id}-p` }]);
    expect(result, JSON.stringify(result.reconciliation?.mismatches)).toMatchObject({ status: 'filled', filledQuantity: s.positionSize, protectionPlaced: true, requiresManualResolution: false });
    expect(takeOvers).toHaveLength(0);
    await Promise.all([a.close(), b.close()]);
    await storeA.close().catch(() => undefined);
    await proxy.close();
  }, 60_000);
});
