/**
 * The fault soak through OandaBroker and the offline v20 venue: seeded executions with fills at
 * drifting prices, IOC partial fills (at once, or of an order left pending), 201 cancels, rejects,
 * lost answers, 429s and 503s, lagging look-ups, orders left pending until the deadline, dropped
 * streams and kill switches. After every request the venue checks that no open trade is without
 * its stop; after every execution, the journal invariants, protection keeping up with the fills,
 * and one order per client id. Used by `npm test` (fixed seed) and `npm run soak -- --venue oanda`.
 */
import { expect } from 'vitest';
import { createEngine, MemoryJournal, type ExecutionStage } from '../../src/index.js';
import { OandaBroker } from '../../src/entries/adapters.js';
import { seededRandom } from '../../src/broker/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';
import { checkInvariants, checkProtectionKeepsUp } from '../support/invariants.js';
import { drive, trackCalls } from './drive.js';
import { OandaVenue, VENUE_ACCOUNT, VENUE_TOKEN, type OandaOrderScript } from './oandaVenue.js';

/**
 * Quiet, and still quiet after many turns of the event loop: under load the engine's loop budget
 * hands answers in over several turns, and virtual time must not move while one is still queued.
 */
async function patientQuiet(inFlight: () => Promise<void>): Promise<void> {
  await inFlight();
  for (let i = 0; i < 15; i++) await new Promise<void>((r) => setImmediate(r));
  await inFlight();
}

const SYMBOLS = [
  { symbol: 'EURUSD', instrument: 'EUR_USD', price: 1.1, size: 10_000 },
  { symbol: 'XAUUSD', instrument: 'XAU_USD', price: 2400, size: 3 },
  { symbol: 'USDJPY', instrument: 'USD_JPY', price: 150, size: 5_000 },
];

/** What a soak reached: executions per final status, and how many ended with part of the order filled. */
export interface OandaSoakReport {
  readonly statuses: ReadonlyMap<ExecutionStage, number>;
  readonly partial: number;
}

/** Runs `runs` seeded executions, one venue for all (reset between them); throws on the first violated invariant. */
export async function runOandaSoak(options: { seed: number; runs: number; onRun?: () => void }): Promise<OandaSoakReport> {
  const random = seededRandom(options.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const venue = await new OandaVenue().start();
  const statuses = new Map<ExecutionStage, number>();
  let partial = 0;
  try {
    for (let i = 0; i < options.runs; i++) {
      venue.reset();
      const market = pick(SYMBOLS);
      const timeInForce = random() < 0.5 ? 'IOC' : 'FOK';
      const fillPrice = market.price * (1 + (random() - 0.5) * 0.004);
      const part = Math.max(1, Math.floor(market.size * pick([0.25, 0.5, 0.75])));
      const script: OandaOrderScript = pick<OandaOrderScript>([
        { kind: 'fill', price: fillPrice },
        { kind: 'fill', price: fillPrice },
        { kind: 'partial', units: part, price: fillPrice },
        { kind: 'lostAnswer' },
        { kind: 'cancel', reason: pick(['MARKET_HALTED', 'INSUFFICIENT_MARGIN', 'INSUFFICIENT_LIQUIDITY'] as const) },
        { kind: 'reject', reason: pick(['INSUFFICIENT_MARGIN', 'INSTRUMENT_NOT_TRADEABLE'] as const) },
        { kind: 'pending' },
        { kind: 'pending' },
      ]);
      venue.instruments.get(market.instrument)!.price = fillPrice;
      venue.script(script);
      venue.lookupLag = Math.floor(random() * 3);
      if (random() < 0.15) venue.failNext('POST', '/orders', pick(['429', '503'] as const));
      if (random() < 0.15) venue.failNext('GET', '/orders/', pick(['429', '503'] as const));
      if (random() < 0.15) venue.failNext('PUT', '/trades/', '503');
      if (random() < 0.1) venue.failNext('GET', '/positions/', '429');
      const oanda = new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, restUrl: venue.url, reconnectMs: 5, timeInForce });
      const { broker, quiet: inFlight } = trackCalls(oanda);
      const clock = new VirtualClock(T0);
      const journal = new MemoryJournal(clock);
      const engine = createEngine({ broker, clock, journal, logger: silentLogger(), pollIntervalMs: pick([1_000, 3_000]) });
      const side = random() < 0.5 ? 'buy' : 'sell';
      const s = snapshot({ advisoryId: `soak-${i}`, symbol: market.symbol, side, positionSize: market.size, referencePrice: market.price });
      const id = `wd-${s.hash.slice(0, 24)}`;
      // An order left pending fills later, whole or (IOC) in part, or never; a kill switch may come first.
      if (script.kind === 'pending' && random() < 0.7) {
        const units = timeInForce === 'IOC' && random() < 0.6 ? part : undefined;
        clock.setTimeout(() => venue.ordersWithClientId(id).some((o) => o.state === 'PENDING') && venue.fillPending(id, units === undefined ? {} : { units }), 200 + Math.floor(random() * 35_000));
      }
      if (random() < 0.2) clock.setTimeout(() => engine.killSwitch.set(pick(['warning', 'active'] as const), { symbol: market.symbol, reason: 'soak', operator: 'soak' }), Math.floor(random() * 40_000));
      if (random() < 0.2) setImmediate(() => venue.dropStreams());
      const what = `soak-${i} (seed ${options.seed}, ${market.symbol} ${side} ${timeInForce} ${JSON.stringify(script)}, lag ${venue.lookupLag})`;
      const result = await drive(clock, () => patientQuiet(inFlight), engine.execute(s)).catch((e: unknown) => {
        throw new Error(`${what}: ${String(e)}; last requests ${JSON.stringify(venue.requests.slice(-4).map((r) => `${r.method} ${r.path}`))}`);
      });
      await engine.close();
      oanda.close();
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      const records = await journal.records();
      checkInvariants({ result, snapshot: s, journal: records });
      checkProtectionKeepsUp({ journal: records });
      expect(venue.ordersWithClientId(result.clientOrderId ?? '').length, what).toBeLessThanOrEqual(1);
      // A filled position is at the venue, protected, and for exactly what filled.
      if (result.filledQuantity > 0) {
        const trade = venue.tradeOf(result.clientOrderId!);
        expect(trade && Math.abs(trade.units), what).toBe(result.filledQuantity);
        expect(trade?.stopLoss, what).not.toBeNull();
        if (result.filledQuantity < s.positionSize) partial++;
      }
      expect(venue.unprotected, what).toEqual([]);
      expect(venue.schemaErrors, what).toEqual([]);
      options.onRun?.();
    }
  } finally {
    venue.releaseHung();
    await venue.close();
  }
  return { statuses, partial };
}
