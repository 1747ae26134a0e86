/**
 * Push updates from the venue: CcxtBroker listens to Binance's user data stream through ccxt pro's
 * `watchOrders` (a real ccxt, its real websocket client, the fake venue's websocket on loopback),
 * so a fill is known when it happens, not at the next poll.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal, type OrderReport } from '../../src/index.js';
import { CcxtBroker } from '../../src/entries/adapters.js';
import { silentLogger } from '../support/fixtures.js';
import { API_KEY, API_SECRET, proBinanceUsdmAt } from './connect.js';
import { FakeBinanceUsdm } from './fakeBinanceUsdm.js';

let fake: FakeBinanceUsdm;
afterEach(() => fake?.close());

/** Resolves with the first report `pick` accepts, or rejects after `ms` of real time. */
const nextReport = (seen: OrderReport[], pick: (r: OrderReport) => boolean, ms = 5_000) =>
  new Promise<OrderReport>((resolve, reject) => {
    const started = Date.now();
    const look = () => {
      const found = seen.find(pick);
      if (found) resolve(found);
      else if (Date.now() - started > ms) reject(new Error(`no such push within ${ms} ms; seen ${JSON.stringify(seen)}`));
      else setTimeout(look, 10);
    };
    look();
  });

describe('CcxtBroker push updates (ccxt pro watchOrders)', () => {
  it("pushes each change of a working order: accepted, filled, in Warden's terms", async () => {
    fake = await new FakeBinanceUsdm(API_KEY, API_SECRET).start();
    const broker = new CcxtBroker({ exchange: await proBinanceUsdmAt(fake.url) });
    const seen: OrderReport[] = [];
    const stop = broker.subscribe((r) => seen.push(r));
    const started = Date.now();
    while (fake.streamClients === 0 && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 10));
    expect(fake.streamClients).toBe(1);
    fake.script({ kind: 'rest' });
    await broker.submitOrder({ clientOrderId: 'wd-push-1', symbol: 'BTC/USDT:USDT', side: 'buy', quantity: 0.01, type: 'market' });
    expect((await nextReport(seen, (r) => r.clientOrderId === 'wd-push-1')).status).toBe('pending');
    fake.fill('wd-push-1', 0.01, 97_000);
    const filled = await nextReport(seen, (r) => r.clientOrderId === 'wd-push-1' && r.status === 'filled');
    expect(filled).toMatchObject({ filledQuantity: 0.01, averageFillPrice: 97_000 });
    stop();
  }, 20_000);

  it('an engine learns of the fill from the push, long before its next poll', async () => {
    fake = await new FakeBinanceUsdm(API_KEY, API_SECRET).start();
    const broker = new CcxtBroker({ exchange: await proBinanceUsdmAt(fake.url) });
    // Polling once an hour: only a push can finish this execution within the test.
    const engine = createEngine({ broker, journal: new MemoryJournal(), logger: silentLogger(), pollIntervalMs: 3_600_000 });
    fake.script({ kind: 'rest' });
    const now = Date.now();
    const running = engine.execute({
      advisoryId: 'push-1', symbol: 'BTC/USDT:USDT', side: 'buy', positionSize: 0.01, referencePrice: 97_000, slOffsetPct: -0.01, tpOffsetPct: 0.02,
      createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
      approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
    });
    const clientOrderId = await new Promise<string>((resolve) => {
      const look = () => {
        const order = fake.requests.find((r) => r.method === 'POST' && r.path === '/fapi/v1/order');
        if (order && fake.streamClients > 0) resolve(order.params.newClientOrderId!);
        else setTimeout(look, 10);
      };
      look();
    });
    await new Promise((r) => setTimeout(r, 100)); // the order is acknowledged and working
    fake.fill(clientOrderId, 0.01, 97_010);
    const result = await running;
    expect(result.status).toBe('filled');
    expect(result.fillPrice).toBe(97_010);
    expect(result.protectionPlaced).toBe(true);
    expect(fake.callsTo('GET', '/fapi/v1/order').length).toBeLessThanOrEqual(1); // the reconciliation's look-up, no poll
    await engine.close();
  }, 20_000);
});
