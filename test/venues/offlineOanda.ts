/**
 * An offline v20 venue and an OandaBroker on it, for a test that asks, closed after it; every answer
 * the venue gave must have matched OANDA's schema.
 */
import { afterEach, expect } from 'vitest';
import { OandaBroker } from '../../src/entries/adapters.js';
import { OandaVenue, VENUE_ACCOUNT, VENUE_TOKEN } from './oandaVenue.js';

export function useOfflineOanda(): () => Promise<{ venue: OandaVenue; broker: OandaBroker }> {
  let open: { venue: OandaVenue; broker: OandaBroker } | null = null;
  afterEach(async () => {
    if (!open) return;
    open.broker.close();
    expect(open.venue.schemaErrors).toEqual([]);
    await open.venue.close();
    open = null;
  });
  return async () => {
    const venue = await new OandaVenue().start();
    open = { venue, broker: new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, restUrl: venue.url, reconnectMs: 5 }) };
    return open;
  };
}
