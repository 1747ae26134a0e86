/**
 * The adapter conformance kit (`warden/testing`) against every adapter Warden ships: PaperBroker,
 * HttpBroker over the paper service, CcxtBroker over the recorded Binance USDⓈ-M payloads, and
 * OandaBroker over the offline v20 venue.
 */
import { describe, expect, it } from 'vitest';
import { BrokerError, PaperBroker, type BrokerAdapter, type PaperMarket } from '../../src/index.js';
import { CcxtBroker, HttpBroker, OandaBroker, startPaperService, type PaperService } from '../../src/entries/adapters.js';
import { adapterConformance, registerAdapterConformance, type ConformanceVenue } from '../../src/testing/index.js';
import { proBinanceUsdmAt } from '../venues/connect.js';
import { FakeBinanceUsdm } from '../venues/fakeBinanceUsdm.js';
import { API_KEY, API_SECRET } from '../venues/connect.js';
import { OandaVenue, VENUE_ACCOUNT, VENUE_TOKEN } from '../venues/oandaVenue.js';

const market: PaperMarket = { price: 1.1, fillAfterMs: 0, slippageBps: 0 };
const markets = { EURUSD: market };

/**
 * The paper venue's hook for a resting order: its next order meets no liquidity. PaperBroker reads
 * its markets when an order comes, so the entry is swapped for that one order.
 */
const restNext = (broker: () => PaperBroker, live: Record<string, PaperMarket>) => () => {
  const b = broker();
  const submit = b.submitOrder.bind(b);
  live.EURUSD = { price: market.price, noLiquidity: true };
  b.submitOrder = async (req) => {
    b.submitOrder = submit;
    try {
      return await submit(req);
    } finally {
      live.EURUSD = market;
    }
  };
};

// PaperBroker: one in-process venue per check.
const paperMarkets: Record<string, PaperMarket> = { ...markets };
let paper = new PaperBroker({ latencyMs: [0, 0], markets: paperMarkets });
registerAdapterConformance({ describe, it }, 'PaperBroker', {
  makeBroker: () => paper,
  venue: {
    symbol: 'EURUSD',
    quantity: 1000,
    reset: () => {
      paper = new PaperBroker({ latencyMs: [0, 0], markets: paperMarkets });
    },
    netPosition: () => paper.venue.position('EURUSD').quantity,
    restNextOrder: restNext(() => paper, paperMarkets),
  },
});

// HttpBroker: the paper venue as a service on loopback, a new HttpBroker for each "process".
let service: PaperService | null = null;
const serviceMarkets: Record<string, PaperMarket> = { ...markets };
registerAdapterConformance({ describe, it }, 'HttpBroker', {
  makeBroker: () => new HttpBroker({ baseUrl: service!.url, timeoutMs: 2_000 }),
  venue: {
    symbol: 'EURUSD',
    quantity: 1000,
    reset: async () => {
      service = await startPaperService({ port: 0, latencyMs: [0, 0], markets: serviceMarkets });
    },
    release: () => service?.close(),
    netPosition: () => service!.broker.venue.position('EURUSD').quantity,
    restNextOrder: restNext(() => service!.broker, serviceMarkets),
  },
});

// The same service with its batch cancel (`POST /orders/cancel`), as the cluster's engines use it.
registerAdapterConformance({ describe, it }, 'HttpBroker with batch cancel', {
  makeBroker: () => new HttpBroker({ baseUrl: service!.url, timeoutMs: 2_000, cancelBatch: { path: '/orders/cancel', maxOrders: 2 } }),
  venue: {
    symbol: 'EURUSD',
    quantity: 1000,
    reset: async () => {
      service = await startPaperService({ port: 0, latencyMs: [0, 0], markets: serviceMarkets });
    },
    release: () => service?.close(),
    netPosition: () => service!.broker.venue.position('EURUSD').quantity,
    restNextOrder: restNext(() => service!.broker, serviceMarkets),
  },
});

// CcxtBroker: ccxt's real binanceusdm code against the fake venue's recorded payloads, with ccxt pro's stream.
let fake: FakeBinanceUsdm | null = null;
registerAdapterConformance({ describe, it }, 'CcxtBroker (Binance USDⓈ-M, recorded payloads)', {
  makeBroker: async () => new CcxtBroker({ exchange: await proBinanceUsdmAt(fake!.url) }),
  venue: {
    symbol: 'BTC/USDT:USDT',
    quantity: 0.002,
    reset: async () => {
      fake = await new FakeBinanceUsdm(API_KEY, API_SECRET).start();
    },
    release: () => fake?.close(),
    netPosition: () => fake!.positionAmount('BTCUSDT'),
    loseNextSubmitAnswer: () => void fake!.script({ kind: 'fill', then503: true }),
    restNextOrder: () => void fake!.script({ kind: 'rest' }),
    fillWorking: (id) => fake!.fill(id, 0.002, 97_000),
    listening: () => fake!.streamClients > 0,
  },
});

// OandaBroker: the offline v20 venue; every answer it gave is checked against the spec after each check.
let oanda: OandaVenue | null = null;
const brokers: OandaBroker[] = [];
const oandaVenue: ConformanceVenue = {
  symbol: 'EURUSD',
  quantity: 1000,
  reset: async () => {
    oanda = await new OandaVenue().start();
  },
  release: async () => {
    for (const b of brokers.splice(0)) b.close();
    oanda!.releaseHung();
    const errors = [...oanda!.schemaErrors];
    await oanda!.close();
    if (errors.length > 0) throw new Error(`the offline venue answered outside the v20 spec: ${errors.join('; ')}`);
  },
  netPosition: () => oanda!.netUnits('EUR_USD'),
  loseNextSubmitAnswer: () => void oanda!.script({ kind: 'lostAnswer' }),
  restNextOrder: () => void oanda!.script({ kind: 'pending' }),
  fillWorking: (id) => oanda!.fillPending(id),
  listening: () => oanda!.openStreams > 0,
  hangNextLookup: () => void oanda!.failNext('GET', '/orders/', 'hang'),
};
const makeOanda = (): BrokerAdapter => {
  const b = new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, restUrl: oanda!.url, requestLimitMs: 150, reconnectMs: 5 });
  brokers.push(b);
  return b;
};
registerAdapterConformance({ describe, it }, 'OandaBroker (offline v20 venue)', { makeBroker: makeOanda, venue: oandaVenue, callLimitMs: 150 });

describe('the conformance kit itself', () => {
  it('fails an adapter for each breach: a duplicate on resend, a refusal for a lost answer, a report for an unknown id, a cancel that hides a fill', async () => {
    let inner = new PaperBroker({ latencyMs: [0, 0], markets });
    let loseNext = false;
    const venueIds = new Map<string, string>();
    const sloppy: BrokerAdapter = {
      name: 'sloppy',
      clientOrderIdDurability: 'durable',
      submitOrder: async (req) => {
        const id = `${req.clientOrderId}-${venueIds.size}`; // a new venue order on every send
        venueIds.set(req.clientOrderId, id);
        const report = await inner.submitOrder({ ...req, clientOrderId: id });
        if (loseNext) {
          loseNext = false;
          throw new BrokerError('connection reset', { retryable: false }); // wrong: the order exists
        }
        return { ...report, clientOrderId: req.clientOrderId };
      },
      cancelOrder: async (ref) => ({ clientOrderId: ref.clientOrderId, brokerOrderId: null, status: 'cancelled', filledQuantity: 0, averageFillPrice: null }),
      getOrder: async (ref) => {
        const id = venueIds.get(ref.clientOrderId);
        const report = id === undefined ? null : await inner.getOrder({ clientOrderId: id });
        // wrong: an id never sent is answered as a pending order
        return report ? { ...report, clientOrderId: ref.clientOrderId } : { clientOrderId: ref.clientOrderId, brokerOrderId: null, status: 'pending', filledQuantity: 0, averageFillPrice: null };
      },
      getPosition: (symbol) => inner.getPosition(symbol),
      placeProtection: (r) => inner.placeProtection(r),
    };
    const checks = adapterConformance({
      patienceMs: 200,
      makeBroker: () => sloppy,
      venue: {
        symbol: 'EURUSD',
        quantity: 1000,
        reset: () => void (inner = new PaperBroker({ latencyMs: [0, 0], markets })),
        netPosition: () => inner.venue.position('EURUSD').quantity,
        loseNextSubmitAnswer: () => void (loseNext = true),
      },
    });
    const results: [string, string][] = [];
    for (const c of checks) results.push([c.name, await c.run().then(() => 'passed', (e: Error) => `${e.name} ${e.message}`)]);
    const outcome = { get: (start: string) => results.find(([name]) => name.startsWith(start))?.[1] };
    expect(outcome.get('idempotent by client id, as declared')).toMatch(/ConformanceError .*the resend answered order P-2, the first was P-1/);
    expect(outcome.get('unknown outcome')).toMatch(/ConformanceError .*definitive refusal/);
    expect(outcome.get('look-ups')).toMatch(/ConformanceError .*never sent was answered/);
    expect(outcome.get('cancel: a filled order')).toMatch(/ConformanceError .*answered cancelled/);
    // What it does right still passes.
    expect(outcome.get('submit')).toBe('passed');
    expect(outcome.get('protection')).toBe('passed');
  });
});
