/**
 * A kill switch's burst of cancels over HTTP (the paper service's adapter, what every engine of a
 * fleet uses in the cluster harness): the cancels go out at once, each on a connection of its own
 * (none waits for another's answer), and the connections are kept for the next burst, so a burst
 * pays no connection set-up once the adapter has talked to the venue.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpBroker } from '../../src/broker/httpBroker.js';

const BURST = 10;

/** A venue that answers no cancel until the whole burst has arrived: a client that sends one at a time never gets an answer. */
async function burstVenue() {
  let held: { req: IncomingMessage; res: ServerResponse }[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    held.push({ req, res });
    if (held.length < BURST) return;
    for (const h of held) {
      const id = decodeURIComponent(/^\/orders\/([^/]+)\/cancel$/.exec(h.req.url ?? '')?.[1] ?? '');
      h.res.writeHead(200, { 'content-type': 'application/json' });
      h.res.end(JSON.stringify({ clientOrderId: id, brokerOrderId: `b-${id}`, status: 'cancelled', filledQuantity: 0, averageFillPrice: null }));
    }
    held = [];
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let venue: Awaited<ReturnType<typeof burstVenue>> | null = null;
afterEach(async () => {
  await venue?.close();
  venue = null;
});

describe('a burst of cancels to an HTTP venue', () => {
  it('goes out at once, on connections kept for the next burst', async () => {
    venue = await burstVenue();
    const broker = new HttpBroker({ baseUrl: venue.url, timeoutMs: 2_000 });
    const burst = (round: number) => Promise.all(Array.from({ length: BURST }, (_, i) => broker.cancelOrder({ clientOrderId: `wd-${round}-${i}` })));

    const first = await burst(1);
    expect(first.map((r) => r.clientOrderId)).toEqual(Array.from({ length: BURST }, (_, i) => `wd-1-${i}`));
    expect(first.every((r) => r.status === 'cancelled')).toBe(true);
    expect(venue.connections()).toBe(BURST);

    const second = await burst(2);
    expect(second.map((r) => r.clientOrderId)).toEqual(Array.from({ length: BURST }, (_, i) => `wd-2-${i}`));
    expect(venue.connections()).toBe(BURST); // not one new connection
  });
});
