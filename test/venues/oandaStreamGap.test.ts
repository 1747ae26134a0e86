/**
 * The transactions stream's ids. v20 numbers an account's transactions one after another, and the
 * stream carries every one of them. docs/brokers.md: "The gap is filled from
 * `GET /transactions/sinceid` before anything newer is taken, and transactions are taken once, in id
 * order." A transaction that arrives with an id past the next one is such a gap, heartbeat or not.
 */
import { describe, expect, it } from 'vitest';
import type { OrderReport, OrderRequest } from '../../src/index.js';
import { useOfflineOanda } from './offlineOanda.js';

const offlineOanda = useOfflineOanda();

const order = (clientOrderId: string): OrderRequest => ({ clientOrderId, symbol: 'EURUSD', side: 'buy', quantity: 1000, type: 'market' });

/** Waits (on I/O, not on a timer of ours) until `ok` holds. */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!ok()) throw new Error(`never happened: ${what}`);
}

describe('OandaBroker: a stream that skipped transactions', () => {
  it('a transaction past the next id first fetches the ones skipped: the earlier fill is pushed, before the later one', async () => {
    const { venue, broker } = await offlineOanda();
    const seen: OrderReport[] = [];
    broker.subscribe((r) => seen.push(r));
    await until(() => venue.openStreams === 1, 'stream open');
    venue.streamTransactions = false; // the lines of the first order are lost on the way
    await broker.submitOrder(order('wd-gap1'));
    venue.streamTransactions = true;
    await broker.submitOrder(order('wd-gap2'));
    await until(() => seen.some((r) => r.clientOrderId === 'wd-gap2'), 'the second fill pushed');
    venue.heartbeat(); // its lastTransactionID is the last one taken in: it reveals nothing more
    await until(() => seen.some((r) => r.clientOrderId === 'wd-gap1'), 'the skipped fill pushed').catch(() => undefined);
    expect(seen.map((r) => r.clientOrderId)).toEqual(['wd-gap1', 'wd-gap2']);
  });
});
