/**
 * A seeded fault soak through OandaBroker and the offline v20 venue: fills at drifting prices, 201
 * cancels, rejects, lost answers, 429s and 503s, lagging look-ups, orders left pending until the
 * deadline, dropped streams. After every request the venue checks that no open trade is without
 * its stop; after every execution, the journal invariants and one order per client id hold.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal } from '../../src/index.js';
import { OandaBroker } from '../../src/entries/adapters.js';
import { seededRandom } from '../../src/broker/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';
import { checkInvariants } from '../support/invariants.js';
import { drive, trackCalls } from './drive.js';

/**
 * Quiet, and still quiet after many turns of the event loop: under load the engine's loop budget
 * hands answers in over several turns, and virtual time must not move while one is still queued.
 */
async function patientQuiet(inFlight: () => Promise<void>): Promise<void> {
  await inFlight();
  for (let i = 0; i < 15; i++) await new Promise<void>((r) => setImmediate(r));
  await inFlight();
}
import { OandaVenue, VENUE_ACCOUNT, VENUE_TOKEN, type OandaOrderScript } from './oandaVenue.js';

const SYMBOLS = [
  { symbol: 'EURUSD', instrument: 'EUR_USD', price: 1.1, size: 10_000 },
  { symbol: 'XAUUSD', instrument: 'XAU_USD', price: 2400, size: 3 },
  { symbol: 'USDJPY', instrument: 'USD_JPY', price: 150, size: 5_000 },
];

describe('fault soak: engine × OandaBroker × offline v20 venue', () => {
  it('20 seeded executions: every fill stopped at the venue from the fill, never two orders, every result explained', async () => {
    const random = seededRandom(20261205);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const venue = await new OandaVenue().start();
    const statuses = new Map<string, number>();
    try {
      for (let i = 0; i < 20; i++) {
        venue.reset();
        const market = pick(SYMBOLS);
        const fillPrice = market.price * (1 + (random() - 0.5) * 0.004);
        const script: OandaOrderScript = pick<OandaOrderScript>([
          { kind: 'fill', price: fillPrice },
          { kind: 'fill', price: fillPrice },
          { kind: 'fill', price: fillPrice },
          { kind: 'lostAnswer' },
          { kind: 'cancel', reason: pick(['MARKET_HALTED', 'INSUFFICIENT_MARGIN', 'INSUFFICIENT_LIQUIDITY'] as const) },
          { kind: 'reject', reason: pick(['INSUFFICIENT_MARGIN', 'INSTRUMENT_NOT_TRADEABLE'] as const) },
          { kind: 'pending' },
        ]);
        venue.instruments.get(market.instrument)!.price = fillPrice;
        venue.script(script);
        venue.lookupLag = Math.floor(random() * 3);
        if (random() < 0.15) venue.failNext('POST', '/orders', pick(['429', '503'] as const));
        if (random() < 0.15) venue.failNext('GET', '/orders/', pick(['429', '503'] as const));
        if (random() < 0.15) venue.failNext('PUT', '/trades/', '503');
        if (random() < 0.1) venue.failNext('GET', '/positions/', '429');
        const oanda = new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, restUrl: venue.url, reconnectMs: 5 });
        const { broker, quiet: inFlight } = trackCalls(oanda);
        const quiet = () => patientQuiet(inFlight);
        const clock = new VirtualClock(T0);
        const journal = new MemoryJournal();
        const engine = createEngine({ broker, clock, journal, logger: silentLogger() });
        const side = random() < 0.5 ? 'buy' : 'sell';
        const s = snapshot({ advisoryId: `soak-${i}`, symbol: market.symbol, side, positionSize: market.size, referencePrice: market.price });
        if (random() < 0.2) setImmediate(() => venue.dropStreams());
        const result = await drive(clock, quiet, engine.execute(s)).catch((e: unknown) => {
          throw new Error(`soak-${i} (${market.symbol} ${side} ${JSON.stringify(script)}, lag ${venue.lookupLag}): ${String(e)}; last requests ${JSON.stringify(venue.requests.slice(-4).map((r) => `${r.method} ${r.path}`))}`);
        });
        await engine.close();
        oanda.close();
        statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
        checkInvariants({ result, snapshot: s, journal: await journal.records() });
        expect(venue.ordersWithClientId(result.clientOrderId ?? '').length, `soak-${i}`).toBeLessThanOrEqual(1);
        // A filled position is at the venue, protected, and for exactly the approved size.
        if (result.filledQuantity > 0) {
          const trade = venue.tradeOf(result.clientOrderId!)!;
          expect(Math.abs(trade.units), `soak-${i}`).toBe(s.positionSize);
          expect(trade.stopLoss, `soak-${i}`).not.toBeNull();
        }
        expect(venue.unprotected, `soak-${i}`).toEqual([]);
        expect(venue.schemaErrors, `soak-${i}`).toEqual([]);
      }
    } finally {
      venue.releaseHung();
      await venue.close();
    }
    // The soak reached the paths it is for.
    expect(statuses.get('filled') ?? 0).toBeGreaterThan(5);
    expect((statuses.get('failed') ?? 0) + (statuses.get('cancelled') ?? 0) + (statuses.get('failed_timeout') ?? 0)).toBeGreaterThan(3);
  }, 120_000);
});
