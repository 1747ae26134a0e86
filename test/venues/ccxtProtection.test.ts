/** CcxtBroker's protective orders against the fake venue: late and overlapping requests, tick rounding. */
import { describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/index.js';
import { venuesClosedAfterEach } from './connect.js';

const BTC = 'BTC/USDT:USDT';
const protection = (clientOrderId: string, quantity: number, side: 'buy' | 'sell' = 'buy') => ({ clientOrderId, symbol: BTC, side, quantity, stopLoss: 96_030.1, takeProfit: 98_940.8 });

const venue = venuesClosedAfterEach();

type Fetch = (target: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Holds the next `method path` request before it leaves the client, until `release()`: a venue that is slow to answer. */
function holdNext(exchange: object, method: string, path: string): { arrived: Promise<void>; release: () => void; sent: () => number } {
  const http = exchange as { fetchImplementation: Fetch };
  const original = http.fetchImplementation;
  let release!: () => void;
  let arrive!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const arrived = new Promise<void>((r) => (arrive = r));
  let held = false;
  let sent = 0;
  http.fetchImplementation = async (target, init) => {
    sent++;
    if (!held && (init?.method ?? 'GET') === method && new URL(String(target)).pathname === path) {
      held = true;
      arrive();
      await released;
    }
    return original(target, init);
  };
  return { arrived, release, sent: () => sent };
}

describe('CcxtBroker protection: one request at a time per id', () => {
  it('an older request held past the call limit never replaces the newer, larger legs', async () => {
    const { fake, exchange, broker } = await venue();
    fake.script({ kind: 'rest' });
    await broker.submitOrder({ clientOrderId: 'wd-s', symbol: BTC, side: 'buy', quantity: 0.002, type: 'market' });
    fake.fill('wd-s', 0.001, 97_000);
    // The stop-loss for the first fill is slow; meanwhile the rest fills and Warden protects 0.002.
    const slow = holdNext(exchange, 'POST', '/fapi/v1/algoOrder');
    const older = broker.placeProtection(protection('wd-s-p', 0.001));
    const olderOutcome = older.then(() => null, (e: unknown) => e);
    await slow.arrived;
    fake.fill('wd-s', 0.001, 97_000);
    const sentBefore = slow.sent();
    const newer = broker.placeProtection(protection('wd-s-p', 0.002));
    await new Promise((resolve) => setImmediate(resolve));
    // If the newer call goes to the venue alongside the held one, it finishes first (as when Warden
    // has given up on the older call); the older request then lands on the venue.
    if (slow.sent() > sentBefore) await newer.catch(() => undefined);
    slow.release();
    expect(await newer).toMatchObject({ status: 'placed', quantity: 0.002 });
    const stopped = await olderOutcome;
    expect(fake.openAlgoOrders('BTCUSDT').map((a) => [a.clientAlgoId, a.quantity])).toEqual([
      ['wd-s-p-sl', 0.002],
      ['wd-s-p-tp', 0.002],
    ]);
    // The older call stopped before changing anything more: an unknown outcome, never a refusal.
    expect(stopped).toBeInstanceOf(BrokerError);
    expect(stopped).toMatchObject({ retryable: true, code: 'superseded' });
    // The same older request arriving again changes nothing and answers with what is held.
    const writes = fake.callsTo('POST', '/fapi/v1/algoOrder').length + fake.callsTo('DELETE', '/fapi/v1/algoOrder').length;
    expect(await broker.placeProtection(protection('wd-s-p', 0.001))).toMatchObject({ status: 'placed', quantity: 0.002 });
    expect(fake.callsTo('POST', '/fapi/v1/algoOrder').length + fake.callsTo('DELETE', '/fapi/v1/algoOrder').length).toBe(writes);
    expect(await broker.getPosition(BTC)).toMatchObject({ quantity: 0.002, stopLoss: 96_030.1, takeProfit: 98_940.8 });
  });
});

describe('CcxtBroker protection: levels on the tick', () => {
  it('rounds the stop-loss toward the position (never wider than approved), the take-profit to the nearest tick, and reports what the venue holds', async () => {
    const { fake, broker } = await venue();
    await broker.submitOrder({ clientOrderId: 'wd-r', symbol: BTC, side: 'buy', quantity: 0.002, type: 'market' });
    const long = await broker.placeProtection({ ...protection('wd-r-p', 0.002), stopLoss: 96_514.93999, takeProfit: 98_455.04 });
    expect(long).toMatchObject({ status: 'placed', stopLoss: 96_515, takeProfit: 98_455, tickSize: 0.1 });
    const ETH = 'ETH/USDT:USDT';
    await broker.submitOrder({ clientOrderId: 'wd-q', symbol: ETH, side: 'sell', quantity: 0.01, type: 'market' });
    const short = await broker.placeProtection({ clientOrderId: 'wd-q-p', symbol: ETH, side: 'sell', quantity: 0.01, stopLoss: 3_170.2999, takeProfit: 3_076.106 });
    expect(short).toMatchObject({ status: 'placed', stopLoss: 3_170.29, takeProfit: 3_076.11, tickSize: 0.01 });
    // A level already on the tick stays there, float noise or not.
    await broker.submitOrder({ clientOrderId: 'wd-n', symbol: BTC, side: 'buy', quantity: 0.002, type: 'market' });
    expect(await broker.placeProtection({ ...protection('wd-n-p', 0.002), stopLoss: 96_514.9 - 1e-10 })).toMatchObject({ stopLoss: 96_514.9 });
    expect(fake.openAlgoOrders('BTCUSDT').map((a) => [a.clientAlgoId, a.triggerPrice])).toEqual([
      ['wd-r-p-sl', 96_515],
      ['wd-r-p-tp', 98_455],
      ['wd-n-p-sl', 96_514.9],
      ['wd-n-p-tp', 98_940.8],
    ]);
    expect(fake.openAlgoOrders('ETHUSDT').map((a) => [a.clientAlgoId, a.triggerPrice])).toEqual([
      ['wd-q-p-sl', 3_170.29],
      ['wd-q-p-tp', 3_076.11],
    ]);
  });
});
