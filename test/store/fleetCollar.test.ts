/**
 * The price collar and tradability on a fleet: two engines sharing one PostgreSQL store (and so its
 * fleet ledger), each asking the venue for the quote and the market's state. The store adds
 * nothing to these two checks and must take nothing away: just inside fills, just outside is
 * refused with its code and nothing is sent, on either engine.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, freezeSnapshot, type ExecutionResult, type FrozenSnapshot, type Quote } from '../../src/index.js';
import { ScriptedBroker } from '../../src/testing/index.js';
import { rawSnapshot, silentLogger } from '../support/fixtures.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

/** A scripted venue on real time that quotes and says whether it trades; every order fills at once. */
class QuotingVenue extends ScriptedBroker {
  quote: Quote = { bid: 1.0999, ask: 1.1001 };
  tradable = true;
  constructor() {
    super({ latencyMs: 1, push: true });
    this.onAccepted((o) => setTimeout(() => this.fill(o.clientOrderId, o.quantity, 1.1), 2));
  }
  getQuote(): Promise<Quote> {
    return Promise.resolve(this.quote);
  }
  isTradable(): Promise<boolean> {
    return Promise.resolve(this.tradable);
  }
}

let n = 0;
/** A snapshot approved a minute ago, valid for an hour of real time. */
const order = (overrides: Record<string, unknown> = {}): FrozenSnapshot => {
  const now = Date.now();
  return freezeSnapshot(rawSnapshot({ advisoryId: `collar-${++n}`, createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 3_600_000).toISOString(), approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() }, ...overrides }));
};

const refused = (r: ExecutionResult, code: string, words: string) => {
  expect(r.status).toBe('rejected');
  expect(r.error?.code).toBe(code);
  expect(r.error?.message).toContain(words);
  expect(r.attempts).toEqual([]);
};

describe('price collar and tradability on a fleet', () => {
  it('each engine of the fleet fills just inside the collar and refuses just outside it; a closed market refuses on either', async () => {
    const limits = { symbols: { '*': { priceCollarPct: 0.01, maxPosition: 1_000 } } };
    // One account, two engines: the fleet's normal case (its ledger expects every engine's fills there).
    const venue = new QuotingVenue();
    const engines = await Promise.all(
      [0, 1].map(async (i) => createEngine({ broker: venue, journal: await db.open({ writer: `collar-${i}` }), logger: silentLogger(), limits })),
    );
    for (const [i, engine] of engines.entries()) {
      venue.quote = { bid: 1.0, ask: 1.111 }; // a buy pays the ask: exactly 1 % above 1.1
      const inside = await engine.execute(order());
      expect([inside.status, inside.reconciliation?.status, JSON.stringify(inside.reconciliation?.mismatches)], `engine ${i} at the collar`).toEqual(['filled', 'matched', '[]']);
      venue.quote = { bid: 1.0, ask: 1.1112 };
      refused(await engine.execute(order()), 'price_collar', 'priceCollarPct 0.01');
      venue.quote = { bid: 1.0999, ask: 1.1001 };
      venue.tradable = false;
      refused(await engine.execute(order()), 'not_tradable', 'EURUSD is not tradable now');
      venue.tradable = true;
      expect(venue.callsOf('submitOrder'), `engine ${i} sent only the order inside the collar`).toHaveLength(i + 1);
    }
    await Promise.all(engines.map((e) => e.close()));
  }, 60_000);
});
