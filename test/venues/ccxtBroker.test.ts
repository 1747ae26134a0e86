/** CcxtBroker on its own: failure classification, sizes, look-ups, protection, packaging. */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect, promisify } from 'node:util';
import ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import { BrokerError, type OrderRequest } from '../../src/index.js';
import { CcxtBroker, classifyCcxtError } from '../../src/entries/adapters.js';
import { API_KEY, API_SECRET, binanceUsdmAt, venuesClosedAfterEach } from './connect.js';

const BTC = 'BTC/USDT:USDT';
const order = (clientOrderId: string, quantity = 0.01, side: 'buy' | 'sell' = 'buy'): OrderRequest => ({ clientOrderId, symbol: BTC, side, quantity, type: 'market' });
const protection = (clientOrderId: string, quantity = 0.01) => ({ clientOrderId, symbol: BTC, side: 'buy' as const, quantity, stopLoss: 96_030.123, takeProfit: 98_940.77 });

const venue = venuesClosedAfterEach();

/** What a call threw, as Warden's statechart sees it. */
async function thrown(p: Promise<unknown>): Promise<BrokerError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(BrokerError);
  return e as BrokerError;
}

describe('classifying ccxt errors', () => {
  const binance = (code: number, msg: string) => `binanceusdm {"code":${code},"msg":"${msg}"}`;
  it.each([
    ['NetworkError', new ccxt.NetworkError('socket hang up'), 'unknown'],
    ['RequestTimeout', new ccxt.RequestTimeout(binance(-1007, 'Timeout waiting for response from backend server.')), 'unknown'],
    ['ExchangeNotAvailable', new ccxt.ExchangeNotAvailable('503 Service Unavailable'), 'unknown'],
    ['DDoSProtection', new ccxt.DDoSProtection('418 banned'), 'unknown'],
    ['RateLimitExceeded', new ccxt.RateLimitExceeded('429 Too Many Requests'), 'unknown'],
    ['BadResponse', new ccxt.BadResponse('unparseable'), 'unknown'],
    ['InsufficientFunds', new ccxt.InsufficientFunds(binance(-2019, 'Margin is insufficient.')), 'rejected'],
    ['InvalidOrder', new ccxt.InvalidOrder(binance(-4164, "Order's notional must be no smaller than 100")), 'rejected'],
    ['BadSymbol', new ccxt.BadSymbol('binanceusdm does not have market symbol XRP/USDT:USDT'), 'rejected'],
    ['AuthenticationError', new ccxt.AuthenticationError(binance(-1022, 'Signature for this request is not valid.')), 'rejected'],
    ['PermissionDenied', new ccxt.PermissionDenied(binance(-2015, 'Invalid API-key, IP, or permissions for action.')), 'rejected'],
    ['ExchangeError -2019 (ccxt\'s USD-M mapping)', new ccxt.ExchangeError(binance(-2019, 'Margin is insufficient.')), 'rejected'],
    ['ExchangeError, unknown code', new ccxt.ExchangeError(binance(-1, 'An unknown error occurred while processing the request.')), 'unknown'],
    ['InvalidOrder "Duplicate order sent." (-2010)', new ccxt.InvalidOrder(binance(-2010, 'Duplicate order sent.')), 'duplicate'],
    ['ExchangeError -4116 (USD-M)', new ccxt.ExchangeError(binance(-4116, 'ClientOrderId is duplicated.')), 'duplicate'],
    ['DuplicateOrderId', new ccxt.DuplicateOrderId('duplicate'), 'duplicate'],
    ['OrderNotFound', new ccxt.OrderNotFound(binance(-2013, 'Order does not exist.')), 'not_found'],
    ['TypeError (a bug, not a venue answer)', new TypeError('x is undefined'), 'unknown'],
    ['a thrown string', 'boom', 'unknown'],
  ])('%s → %s', (_name, error, kind) => {
    expect(classifyCcxtError(error).kind).toBe(kind);
  });

  it('a network error never counts as a refusal, whatever its text says', () => {
    expect(classifyCcxtError(new ccxt.RequestTimeout(binance(-2019, 'Margin is insufficient.'))).kind).toBe('unknown');
    expect(classifyCcxtError(new ccxt.NetworkError('Duplicate order sent.')).kind).toBe('unknown');
  });

  it('scrubs credentials and signatures out of messages', () => {
    const e = new ccxt.RequestTimeout(`binanceusdm POST https://fapi.binance.com/fapi/v1/order?timestamp=1&signature=abcdef0123 key=${API_KEY} secret ${API_SECRET}`);
    const { message } = classifyCcxtError(e, [API_KEY, API_SECRET]);
    expect(message).not.toContain(API_KEY);
    expect(message).not.toContain(API_SECRET);
    expect(message).not.toContain('abcdef0123');
    expect(message).toContain('signature=[redacted]');
  });
});

describe('CcxtBroker against the fake venue', () => {
  it('submits with Warden\'s client id, reads the fill, and answers a resend with the existing order', async () => {
    const { fake, broker } = await venue();
    const first = await broker.submitOrder(order('wd-a'));
    expect(first).toMatchObject({ clientOrderId: 'wd-a', status: 'filled', filledQuantity: 0.01, averageFillPrice: 97_000 });
    // Binance would accept the id again now that the order is no longer open: the adapter looks first.
    const again = await broker.submitOrder(order('wd-a'));
    expect(again).toEqual(first);
    expect(fake.callsTo('POST', '/fapi/v1/order')).toHaveLength(1);
    expect(fake.ordersFor('wd-a')).toHaveLength(1);
  });

  it('refuses sizes the venue cannot trade exactly, before sending anything', async () => {
    const { fake, broker } = await venue();
    expect((await thrown(broker.submitOrder(order('wd-b', 0.0004)))).message).toMatch(/rounds to zero/);
    expect((await thrown(broker.submitOrder(order('wd-b', 0.0125)))).message).toMatch(/not a multiple of the market's step \(0\.001\); the venue would trade 0\.012/);
    const bad = await thrown(broker.submitOrder({ ...order('wd-b'), symbol: 'XRP/USDT:USDT' }));
    expect(bad).toMatchObject({ retryable: false, code: 'BadSymbol' });
    expect(fake.callsTo('POST', '/fapi/v1/order')).toHaveLength(0);
    // Float noise is not a different size: 0.1 + 0.2 is sent as 0.3.
    await broker.submitOrder(order('wd-c', 0.1 + 0.2));
    expect(fake.callsTo('POST', '/fapi/v1/order')[0]!.params.quantity).toBe('0.3');
  });

  it('venue refusals are definitive, 503s are unknown outcomes (production error mapping: -2019 is InsufficientFunds)', async () => {
    const { fake, broker } = await venue();
    fake.script({ kind: 'reject', code: -2019, msg: 'Margin is insufficient.' });
    expect(await thrown(broker.submitOrder(order('wd-d')))).toMatchObject({ retryable: false, code: 'InsufficientFunds -2019' });
    fake.script({ kind: 'fill', then503: true });
    expect(await thrown(broker.submitOrder(order('wd-e')))).toMatchObject({ retryable: true, code: 'RequestTimeout -1007' });
    expect(fake.ordersFor('wd-e')[0]?.status).toBe('FILLED'); // it did exist: unknown was the right answer
  });

  it('a submit refused for rate (429, 418) was not processed: not_sent, so the same id may be sent again; a look-up keeps the old mapping', async () => {
    const { fake, broker } = await venue();
    fake.failNext('POST', '/fapi/v1/order', { status: 429, code: -1003, msg: 'Too many requests; current limit of IP is 2400 requests per minute.' });
    expect(await thrown(broker.submitOrder(order('wd-t')))).toMatchObject({ retryable: true, code: 'not_sent' });
    fake.failNext('POST', '/fapi/v1/order', { status: 418, code: -1003, msg: 'Way too many requests; IP banned until 1735689600000.' });
    expect(await thrown(broker.submitOrder(order('wd-t')))).toMatchObject({ retryable: true, code: 'not_sent' });
    expect(fake.ordersFor('wd-t')).toHaveLength(0);
    expect(await broker.submitOrder(order('wd-t'))).toMatchObject({ status: 'filled', filledQuantity: 0.01 });
    expect(fake.ordersFor('wd-t')).toHaveLength(1);
    fake.failNext('GET', '/fapi/v1/order', { status: 429, code: -1003, msg: 'Too many requests.' });
    expect(await thrown(broker.getOrder({ clientOrderId: 'wd-t', symbol: BTC }))).toMatchObject({ retryable: true, code: expect.not.stringMatching(/not_sent/) });
  });

  it('a request signed with the wrong secret is refused by the venue and is definitive', async () => {
    const { fake } = await venue();
    const broker = new CcxtBroker({ exchange: binanceUsdmAt(fake.url, { apiKey: API_KEY, secret: 'not-the-secret' }) });
    expect(await thrown(broker.submitOrder(order('wd-f')))).toMatchObject({ retryable: false, code: 'AuthenticationError -1022' });
    expect(fake.ordersFor('wd-f')).toHaveLength(0);
  });

  it('cancel: a working order is cancelled; "unknown order" after a fill is looked up, not assumed', async () => {
    const { fake, broker } = await venue();
    fake.script({ kind: 'rest' });
    await broker.submitOrder(order('wd-g'));
    expect(await broker.cancelOrder({ clientOrderId: 'wd-g', symbol: BTC })).toMatchObject({ status: 'cancelled', filledQuantity: 0 });
    await broker.submitOrder(order('wd-h'));
    expect(await broker.cancelOrder({ clientOrderId: 'wd-h', symbol: BTC })).toMatchObject({ status: 'filled', filledQuantity: 0.01 });
    expect(await thrown(broker.cancelOrder({ clientOrderId: 'wd-never', symbol: BTC }))).toMatchObject({ retryable: false, code: 'unknown_order' });
    expect(fake.callsTo('DELETE', '/fapi/v1/order')).toHaveLength(3);
  });

  it('look-ups that lag: an order this adapter sent or saw acknowledged is never reported absent within lookupGraceMs', async () => {
    const { fake } = await venue();
    let now = 1_000_000;
    const broker = new CcxtBroker({ exchange: binanceUsdmAt(fake.url), lookupGraceMs: 2_000, now: () => now });
    const lagging = { status: 400, code: -2013, msg: 'Order does not exist.' };
    fake.script({ kind: 'rest' });
    expect(await broker.submitOrder(order('wd-l'))).toMatchObject({ status: 'pending', filledQuantity: 0 });
    now += 5_000;
    expect(await broker.getOrder({ clientOrderId: 'wd-l', symbol: BTC })).toMatchObject({ status: 'pending' }); // acknowledged again
    now += 1_000;
    // It fills as the cancel arrives (-2011), and the venue's look-ups lag behind the fill (-2013).
    fake.beforeNext('DELETE', '/fapi/v1/order', () => fake.fill('wd-l', 0.01, 97_000));
    fake.failNext('GET', '/fapi/v1/order', lagging).failNext('GET', '/fapi/v1/order', lagging);
    expect(await thrown(broker.cancelOrder({ clientOrderId: 'wd-l', symbol: BTC }))).toMatchObject({ retryable: true, code: 'lookup_lag' });
    expect(await thrown(broker.getOrder({ clientOrderId: 'wd-l', symbol: BTC }))).toMatchObject({ retryable: true, code: 'lookup_lag' });
    expect(await broker.getOrder({ clientOrderId: 'wd-l', symbol: BTC })).toMatchObject({ status: 'filled', filledQuantity: 0.01 });
    // Past the grace, "no such order" is believed; an id never seen is absent at once.
    now += 2_000;
    fake.failNext('GET', '/fapi/v1/order', lagging);
    expect(await broker.getOrder({ clientOrderId: 'wd-l', symbol: BTC })).toBeNull();
    expect(await broker.getOrder({ clientOrderId: 'wd-never', symbol: BTC })).toBeNull();
  });

  it('look-ups: an unknown order is null; a failed look-up is an unknown outcome, never "absent"', async () => {
    const { fake, broker } = await venue();
    expect(await broker.getOrder({ clientOrderId: 'wd-none', symbol: BTC })).toBeNull();
    fake.failNext('GET', '/fapi/v1/order', { status: 503, code: -1001, msg: 'Internal error; unable to process your request. Please try again.' });
    expect(await thrown(broker.getOrder({ clientOrderId: 'wd-none', symbol: BTC }))).toMatchObject({ retryable: true });
    // Without a symbol the venue cannot be asked, so the answer is unknown too.
    expect(await thrown(broker.getOrder({ clientOrderId: 'wd-unseen' }))).toMatchObject({ retryable: true, code: 'symbol_required' });
  });

  it('protection: reduce-only stop (on the tick toward the position) and take-profit, idempotent on retry, read back as the position\'s SL/TP', async () => {
    const { fake, broker } = await venue();
    await broker.submitOrder(order('wd-i'));
    const placed = await broker.placeProtection(protection('wd-i-p'));
    expect(placed).toEqual({ clientOrderId: 'wd-i-p', status: 'placed', stopLoss: 96_030.2, takeProfit: 98_940.8, quantity: 0.01, tickSize: 0.1 });
    // A retry after a lost answer finds both legs by their ids: no second pair.
    expect(await broker.placeProtection(protection('wd-i-p'))).toEqual(placed);
    expect(fake.openAlgoOrders('BTCUSDT')).toHaveLength(2);
    // After a restart (a new adapter, nothing remembered) the venue's duplicate answer says the same.
    const restarted = new CcxtBroker({ exchange: binanceUsdmAt(fake.url) });
    expect(await restarted.placeProtection(protection('wd-i-p'))).toEqual(placed);
    expect(fake.callsTo('POST', '/fapi/v1/algoOrder')).toHaveLength(4); // two placed, two answered -4116
    expect(fake.openAlgoOrders('BTCUSDT')).toHaveLength(2);
    expect(await broker.getPosition(BTC)).toEqual({ symbol: BTC, quantity: 0.01, averagePrice: 97_000, stopLoss: 96_030.2, takeProfit: 98_940.8 });
  });

  it('protection amended for a later fill replaces both legs under the same ids: never a second stop', async () => {
    const { fake, broker } = await venue();
    fake.script({ kind: 'rest' });
    await broker.submitOrder(order('wd-m'));
    fake.fill('wd-m', 0.004, 97_000);
    const first = await broker.placeProtection(protection('wd-m-p', 0.004));
    expect(first).toMatchObject({ status: 'placed', quantity: 0.004 });
    fake.fill('wd-m', 0.006, 97_100);
    const amended = { ...protection('wd-m-p', 0.01), stopLoss: 96_100.2, takeProfit: 99_000.4 };
    expect(await broker.placeProtection(amended)).toEqual({ clientOrderId: 'wd-m-p', status: 'placed', stopLoss: 96_100.2, takeProfit: 99_000.4, quantity: 0.01, tickSize: 0.1 });
    // Cancel-and-place by client id: the earlier legs are cancelled, the new ones carry the same ids.
    expect(fake.callsTo('DELETE', '/fapi/v1/algoOrder').map((r) => r.params.clientAlgoId)).toEqual(['wd-m-p-sl', 'wd-m-p-tp']);
    expect(fake.openAlgoOrders('BTCUSDT').map((a) => [a.clientAlgoId, a.quantity, a.triggerPrice])).toEqual([
      ['wd-m-p-sl', 0.01, 96_100.2],
      ['wd-m-p-tp', 0.01, 99_000.4],
    ]);
    // The same amend again (a retry after a lost answer) changes nothing; so does a restarted adapter's.
    expect(await broker.placeProtection(amended)).toMatchObject({ status: 'placed', quantity: 0.01 });
    const restarted = new CcxtBroker({ exchange: binanceUsdmAt(fake.url) });
    expect(await restarted.placeProtection(amended)).toMatchObject({ status: 'placed', quantity: 0.01 });
    expect(fake.callsTo('DELETE', '/fapi/v1/algoOrder')).toHaveLength(2);
    expect(fake.openAlgoOrders('BTCUSDT')).toHaveLength(2);
    expect(await broker.getPosition(BTC)).toMatchObject({ quantity: 0.01, stopLoss: 96_100.2, takeProfit: 99_000.4 });
  });

  it('protection refused by the venue is reported as rejected, with the reason', async () => {
    const { broker } = await venue();
    // No position: Binance refuses reduce-only orders (-2022).
    const report = await broker.placeProtection(protection('wd-j-p'));
    expect(report).toMatchObject({ status: 'rejected', stopLoss: null, takeProfit: null, quantity: 0 });
    expect(report.reason).toMatch(/stop-loss refused: .*-2022.*take-profit refused/);
  });

  it('positions: short is negative, flat is zero with no levels', async () => {
    const { broker } = await venue();
    expect(await broker.getPosition(BTC)).toEqual({ symbol: BTC, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null });
    await broker.submitOrder(order('wd-k', 0.02, 'sell'));
    expect(await broker.getPosition(BTC)).toMatchObject({ quantity: -0.02, averagePrice: 97_000 });
  });

  it('never shows its credentials when printed or serialised', async () => {
    const { broker } = await venue();
    for (const text of [inspect(broker, { depth: 10 }), JSON.stringify(broker), String(broker)]) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(API_SECRET);
    }
  });
});

describe('CcxtBroker trades contract markets only', () => {
  it('a spot market is refused before anything is sent: two reduce-only legs there would be two sells of the holding', async () => {
    // ccxt's own binance (spot) with its markets set, so nothing needs the network.
    const exchange = new ccxt.binance({ apiKey: API_KEY, secret: API_SECRET });
    exchange.setMarkets([
      { id: 'BTCUSDT', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', baseId: 'BTC', quoteId: 'USDT', type: 'spot', spot: true, margin: false, swap: false, future: false, option: false, contract: false, active: true, precision: { amount: 0.00001, price: 0.01 }, limits: { amount: { min: 0.00001 } } } as never,
    ]);
    const sent: string[] = [];
    (exchange as unknown as { fetchImplementation: typeof fetch }).fetchImplementation = (target) => {
      sent.push(String(target));
      return Promise.reject(new TypeError('no network in this test'));
    };
    const broker = new CcxtBroker({ exchange });
    const refused = await thrown(broker.submitOrder({ clientOrderId: 'spot-1', symbol: 'BTC/USDT', side: 'buy', quantity: 0.01, type: 'market' }));
    expect(refused).toMatchObject({ retryable: false, code: 'BadSymbol' });
    expect(refused.message).toMatch(/'BTC\/USDT' is a spot market; Warden trades contract \(futures, swap\) markets only/);
    const protectionRefused = await thrown(broker.placeProtection({ clientOrderId: 'spot-1-p', symbol: 'BTC/USDT', side: 'buy', quantity: 0.01, stopLoss: 96_000, takeProfit: 99_000 }));
    expect(protectionRefused.code).toBe('BadSymbol');
    expect(sent).toEqual([]);
  });
});

describe('packaging: ccxt is an optional peer dependency', () => {
  const node = (args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', '--import', './test/venues/withoutCcxt.mjs', ...args], { timeout: 60_000 });

  it('CcxtBroker.create builds the named exchange, and refuses an unknown one', async () => {
    const broker = await CcxtBroker.create({ exchange: 'binanceusdm', apiKey: API_KEY, secret: API_SECRET, sandbox: true });
    expect(broker.name).toBe('ccxt:binanceusdm');
    await expect(CcxtBroker.create({ exchange: 'nosuchvenue', apiKey: 'k', secret: 's' })).rejects.toThrow("ccxt has no exchange called 'nosuchvenue'");
  });

  it('without ccxt installed, the library loads and npm start runs; the adapter says what to install', async () => {
    const journal = join(mkdtempSync(join(tmpdir(), 'warden-noccxt-')), 'demo.sqlite');
    const demo = await node(['src/cli/demo.ts', '--journal', journal]);
    expect(demo.stdout).toMatch(/hash chain verified/);
    const script = "import('./src/entries/adapters.ts').then((w) => w.CcxtBroker.create({ exchange: 'binanceusdm', apiKey: 'k', secret: 's' })).then(() => console.log('loaded'), (e) => console.log(e.message))";
    const { stdout } = await node(['--input-type=module', '-e', script]);
    // (the root entry loads without ccxt too: the demo above imports it)
    expect(stdout).toContain("CcxtBroker needs the optional peer dependency 'ccxt', which is not installed. Install it next to Warden: npm install ccxt@4.5.84");
  }, 60_000);
});
