/**
 * Never a second order on Binance. Binance keeps `newClientOrderId` unique among *open* orders
 * only, and answers 503 "execution status unknown" for orders it may have taken. A market order
 * that filled behind such a 503 is no longer open, so resending its id would open a second
 * position: Warden never resends an unconfirmed order there — it looks up and listens until the
 * deadline, and flags what it still cannot see.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerError, createEngine, type BrokerAdapter } from '../../src/index.js';
import { classifyCcxtError } from '../../src/broker/ccxt/errors.js';
import { ScriptedBroker } from '../../src/testing/index.js';
import { harness, silentLogger, snapshot } from '../support/fixtures.js';
import { venueEngine } from './connect.js';

let opened: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of opened) await close();
  opened = [];
});

const btc = () => snapshot({ symbol: 'BTC/USDT:USDT', positionSize: 0.01, referencePrice: 97_000 });
const lagging = { status: 400, code: -2013, msg: 'Order does not exist.' };

describe('no second order after an ambiguous 503 (issue: double market order)', () => {
  it('a market order filled behind a 503 and invisible to look-ups for a second: one order, found, protected', async () => {
    const v = await venueEngine();
    opened.push(v.close);
    v.fake.script({ kind: 'fill', then503: true });
    // The filled order stays invisible to GET /fapi/v1/order for the first look-ups (about a second).
    for (let i = 0; i < 4; i++) v.fake.failNext('GET', '/fapi/v1/order', lagging);
    const s = btc();
    const result = await v.run(v.engine.execute(s));
    expect(v.fake.callsTo('POST', '/fapi/v1/order')).toHaveLength(1); // before: a resend at ~265 ms, a second order
    expect(v.fake.ordersFor(result.clientOrderId!)).toHaveLength(1);
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 0.01, protectionPlaced: true, requiresManualResolution: false });
    await v.check(result, s);
  });

  it('the order never becomes visible: still one send, and a human is asked at the deadline', async () => {
    const v = await venueEngine();
    opened.push(v.close);
    v.fake.script({ kind: 'fill', then503: true });
    for (let i = 0; i < 400; i++) v.fake.failNext('GET', '/fapi/v1/order', lagging);
    const result = await v.run(v.engine.execute(btc()));
    expect(v.fake.callsTo('POST', '/fapi/v1/order')).toHaveLength(1);
    expect(result.requiresManualResolution).toBe(true);
  });
});

describe('a failure that proves nothing was sent may be resent on any venue', () => {
  it('ccxt: a NetworkError from a refused connection is not_sent; a reset one is unknown', async () => {
    const ccxt = (await import('ccxt')).default;
    expect(classifyCcxtError(new ccxt.NetworkError('binanceusdm POST https://fapi.binance.com/fapi/v1/order connect ECONNREFUSED 127.0.0.1:443')).kind).toBe('not_sent');
    expect(classifyCcxtError(new ccxt.NetworkError('binanceusdm POST https://fapi.binance.com/fapi/v1/order read ECONNRESET')).kind).toBe('unknown');
    expect(classifyCcxtError(new ccxt.RequestTimeout('binanceusdm POST https://fapi.binance.com/fapi/v1/order timed out')).kind).toBe('unknown');
  });

  it('ccxt: -1021 (timestamp outside recvWindow, raised as InvalidNonce) is definitive, as docs/brokers.md says', async () => {
    const ccxt = (await import('ccxt')).default;
    const e = new ccxt.InvalidNonce('binanceusdm {"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}');
    expect(classifyCcxtError(e).kind).toBe('rejected');
  });

  it('engine: on an open-orders-only venue, not_sent is resent with the same id; an ambiguous failure never is', async () => {
    for (const [error, sends] of [
      [new BrokerError('connect ECONNREFUSED', { retryable: true, code: 'not_sent' }), 2],
      [new BrokerError('socket hang up', { retryable: true, code: 'network' }), 1],
    ] as const) {
      const h = harness();
      const broker = new ScriptedBroker({ clock: h.clock, latencyMs: 10, clientOrderIdDurability: 'openOrdersOnly' });
      broker.script.submit.push({ kind: 'fail', error });
      broker.onAccepted((o) => h.clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 100));
      const engine = createEngine({ broker: broker as BrokerAdapter, clock: h.clock, logger: silentLogger() });
      const result = await h.run(engine.execute(snapshot()));
      const ids = broker.callsOf('submitOrder').map((c) => (c.args as { clientOrderId: string }).clientOrderId);
      expect(ids, error.message).toHaveLength(sends);
      expect(new Set(ids).size).toBe(1);
      if (sends === 2) expect(result.status).toBe('filled');
      else expect(result.requiresManualResolution).toBe(true);
    }
  });
});

describe('hedge-mode accounts are never read as flat', () => {
  it('LONG and SHORT rows for one symbol: reconciliation says why it cannot read them, and flags', async () => {
    const v = await venueEngine();
    opened.push(v.close);
    v.fake.hedgeMode = true;
    const result = await v.run(v.engine.execute(btc()));
    expect(result.status).toBe('filled');
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.status).toBe('unavailable');
    expect(JSON.stringify(result.reconciliation?.mismatches)).toMatch(/hedge \(dual-side\) position mode/);
  });
});
