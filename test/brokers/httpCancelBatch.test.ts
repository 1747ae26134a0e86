/**
 * The paper service's batch cancel (`POST /orders/cancel`) and HttpBroker's `cancelBatch`: a kill
 * switch cancels an engine's working orders with one request, split by `maxOrders`; what a failed
 * request covered is an unknown outcome, never "cancelled".
 */
import { createServer, get, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerError, createEngine } from '../../src/index.js';
import { HttpBroker, startPaperService, type PaperService } from '../../src/entries/adapters.js';
import { silentLogger, snapshot } from '../support/fixtures.js';

const markets = { EURUSD: { price: 1.1, noLiquidity: true } };
const order = (id: string) => ({ clientOrderId: id, symbol: 'EURUSD', side: 'buy' as const, quantity: 2, type: 'market' as const });

let service: PaperService | null = null;
afterEach(async () => {
  await service?.close();
  service = null;
});

/** The service, with every batch cancel request's order ids recorded as it arrives. */
async function recordedService(): Promise<{ service: PaperService; batches: string[][]; singles: string[] }> {
  const s = await startPaperService({ port: 0, latencyMs: [0, 0], markets });
  const batches: string[][] = [];
  const singles: string[] = [];
  const batch = s.broker.cancelOrders.bind(s.broker);
  s.broker.cancelOrders = (refs) => {
    batches.push(refs.map((r) => r.clientOrderId));
    return batch(refs);
  };
  const single = s.broker.cancelOrder.bind(s.broker);
  s.broker.cancelOrder = (ref) => {
    singles.push(ref.clientOrderId);
    return single(ref);
  };
  service = s;
  return { service: s, batches, singles };
}

/** A raw POST to the service; its status and parsed body. */
async function post(url: string, body: string): Promise<{ status: number; body: { code?: string; error?: string } }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, body: (await res.json()) as { code?: string; error?: string } };
}

describe('the paper service\'s batch cancel', () => {
  it('cancels every order it knows in one request and leaves out the ones it does not', async () => {
    const { service: s } = await recordedService();
    const client = new HttpBroker({ baseUrl: s.url });
    await client.submitOrder(order('b-1'));
    await client.submitOrder(order('b-2'));
    const res = await post(`${s.url}/orders/cancel`, JSON.stringify({ orders: ['b-1', 'nobody', 'b-2'] }));
    expect(res.status).toBe(200);
    expect((res.body as unknown as { clientOrderId: string; status: string }[]).map((r) => [r.clientOrderId, r.status])).toEqual([
      ['b-1', 'cancelled'],
      ['b-2', 'cancelled'],
    ]);
  });

  it('pushes the reports of one batch to each event stream in one write', async () => {
    const { service: s } = await recordedService();
    const client = new HttpBroker({ baseUrl: s.url });
    for (const id of ['p-1', 'p-2', 'p-3', 'p-4']) await client.submitOrder(order(id));
    const chunks: string[] = [];
    const reader = await new Promise<IncomingMessage>((resolve) => get(`${s.url}/events`, resolve));
    reader.setEncoding('utf8');
    reader.on('data', (c: string) => chunks.push(c));
    for (let i = 0; i < 100 && s.eventStreams() === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await post(`${s.url}/orders/cancel`, JSON.stringify({ orders: ['p-1', 'p-2', 'p-3', 'p-4'] }));
    for (let i = 0; i < 100 && chunks.join('').split('\n').filter(Boolean).length < 4; i++) await new Promise((r) => setTimeout(r, 5));
    reader.destroy();
    const lines = chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { clientOrderId: string; status: string });
    expect(lines.map((l) => [l.clientOrderId, l.status])).toEqual(['p-1', 'p-2', 'p-3', 'p-4'].map((id) => [id, 'cancelled']));
    expect(chunks).toHaveLength(1);
  });

  it('refuses a body it cannot read with a 400 that says why, and cancels nothing', async () => {
    const { service: s } = await recordedService();
    const client = new HttpBroker({ baseUrl: s.url });
    await client.submitOrder(order('k-1'));
    const cases: [string, RegExp][] = [
      ['{"orders":[]}', /orders: .*>=1 items/],
      ['{"orders":"k-1"}', /orders: .*array/i],
      [JSON.stringify({ orders: Array.from({ length: 1_001 }, (_, i) => `o-${i}`) }), /orders: .*1000/],
      ['{"orders":["k-1"],"all":true}', /unrecognized key/i],
      ['not json', /not JSON/],
    ];
    for (const [body, why] of cases) {
      const res = await post(`${s.url}/orders/cancel`, body);
      expect(res.status, body.slice(0, 40)).toBe(400);
      expect(res.body.error, body.slice(0, 40)).toMatch(why);
    }
    expect((await client.getOrder({ clientOrderId: 'k-1' }))?.status).toBe('pending');
  });
});

describe('HttpBroker with cancelBatch', () => {
  it('has cancelOrders only when asked, and refuses settings it cannot use', () => {
    expect(new HttpBroker({ baseUrl: 'http://127.0.0.1:1' }).cancelOrders).toBeUndefined();
    expect(typeof new HttpBroker({ baseUrl: 'http://127.0.0.1:1', cancelBatch: '/orders/cancel' }).cancelOrders).toBe('function');
    expect(() => new HttpBroker({ baseUrl: 'http://127.0.0.1:1', cancelBatch: { path: '/orders/cancel', maxOrders: 0 } })).toThrow(/maxOrders must be a whole number ≥ 1, got 0/);
    expect(() => new HttpBroker({ baseUrl: 'http://127.0.0.1:1', cancelBatch: { path: '/orders/cancel', maxOrders: 2.5 } })).toThrow(/maxOrders/);
    expect(() => new HttpBroker({ baseUrl: 'http://127.0.0.1:1', cancelBatch: 'orders/cancel' })).toThrow(/must start with '\/'/);
  });

  it('splits the orders into requests of maxOrders, sent at once', async () => {
    const { service: s, batches } = await recordedService();
    const client = new HttpBroker({ baseUrl: s.url, cancelBatch: { path: '/orders/cancel', maxOrders: 2 } });
    const ids = ['s-1', 's-2', 's-3', 's-4', 's-5'];
    for (const id of ids) await client.submitOrder(order(id));
    const answer = await client.cancelOrders!(ids.map((clientOrderId) => ({ clientOrderId })));
    expect(batches.map((b) => b.length).sort()).toEqual([1, 2, 2]);
    expect(batches.flat().sort()).toEqual(ids);
    expect(answer.map((r) => [r.clientOrderId, r.status]).sort()).toEqual(ids.map((id) => [id, 'cancelled']));
  });

  it('leaves out the orders of a request that failed (an unknown outcome), and fails only when every request failed', async () => {
    // A venue whose batch cancel fails (503) for any request naming an order whose id ends in -x.
    const seen: string[][] = [];
    const venue = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => {
        const ids = (JSON.parse(text) as { orders: string[] }).orders;
        seen.push(ids);
        if (ids.some((id) => id.endsWith('-x'))) {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end('{"error":"busy"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ids.map((clientOrderId) => ({ clientOrderId, brokerOrderId: `B-${clientOrderId}`, status: 'cancelled', filledQuantity: 0, averageFillPrice: null }))));
      });
    });
    await new Promise<void>((r) => venue.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(venue.address() as { port: number }).port}`;
      const client = new HttpBroker({ baseUrl: url, cancelBatch: { path: '/batch', maxOrders: 2 } });
      const answer = await client.cancelOrders!([{ clientOrderId: 'a-1' }, { clientOrderId: 'a-2' }, { clientOrderId: 'b-x' }, { clientOrderId: 'b-2' }]);
      expect(seen).toHaveLength(2);
      expect(answer.map((r) => r.clientOrderId)).toEqual(['a-1', 'a-2']);
      const failed = await client.cancelOrders!([{ clientOrderId: 'c-x' }, { clientOrderId: 'c-2' }]).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(BrokerError);
      expect(failed).toMatchObject({ retryable: true, code: 'http_503' });
    } finally {
      await new Promise((r) => venue.close(() => r(undefined)));
    }
  });

  it('the kill switch cancels an engine\'s working orders with one request, and every execution hears its cancel', async () => {
    const { service: s, batches, singles } = await recordedService();
    const broker = new HttpBroker({ baseUrl: s.url, cancelBatch: '/orders/cancel' });
    let answered = 0;
    const submit = broker.submitOrder.bind(broker);
    broker.submitOrder = async (req) => {
      const report = await submit(req);
      answered++;
      return report;
    };
    const engine = createEngine({ broker, logger: silentLogger(), pollIntervalMs: 20 });
    const now = Date.now();
    const runs = Array.from({ length: 5 }, (_, i) =>
      engine.execute(snapshot({ advisoryId: `ks-${i}`, createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 60_000).toISOString(), approval: { approvedBy: 'a', approvedAt: new Date(now - 30_000).toISOString() } })),
    );
    // Every order works, and every execution has its submit answer (else it cancels its order itself once the answer is in).
    for (let i = 0; i < 200 && answered < 5; i++) await new Promise((r) => setTimeout(r, 10));
    expect(answered).toBe(5);
    await new Promise((r) => setTimeout(r, 50));
    engine.killSwitch.set('active', { reason: 'batch test', operator: 'test' });
    const results = await Promise.all(runs);
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('cancelled'));
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(5);
    expect(singles).toEqual([]);
    await engine.close();
  });
});
