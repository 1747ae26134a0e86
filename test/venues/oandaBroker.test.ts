/** OandaBroker on its own, against the offline v20 venue on loopback. */
import { afterEach, describe, expect, it } from 'vitest';
import { BrokerError, type OrderReport, type OrderRequest } from '../../src/index.js';
import { OandaBroker, type OandaBrokerOptions } from '../../src/entries/adapters.js';
import { fillPrice, StreamedOrders } from '../../src/broker/oanda/mapping.js';
import { OandaVenue, VENUE_ACCOUNT, VENUE_TOKEN } from './oandaVenue.js';

let opened: { venue: OandaVenue; brokers: OandaBroker[] }[] = [];
afterEach(async () => {
  for (const { venue, brokers } of opened) {
    for (const b of brokers) b.close();
    // Every answer the venue gave, and every streamed line, matched the v20 spec.
    expect(venue.schemaErrors).toEqual([]);
    await venue.close();
  }
  opened = [];
});

async function setup(options: Partial<OandaBrokerOptions> = {}) {
  const venue = await new OandaVenue().start();
  const brokers: OandaBroker[] = [];
  const make = (more: Partial<OandaBrokerOptions> = {}) => {
    const b = new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, restUrl: venue.url, reconnectMs: 5, ...options, ...more });
    brokers.push(b);
    return b;
  };
  opened.push({ venue, brokers });
  return { venue, broker: make(), make };
}

const order = (clientOrderId: string, overrides: Partial<OrderRequest> = {}): OrderRequest => ({ clientOrderId, symbol: 'EURUSD', side: 'buy', quantity: 1000, type: 'market', ...overrides });
const posts = (venue: OandaVenue) => venue.requests.filter((r) => r.method === 'POST');
const sentOrder = (venue: OandaVenue, i = 0) => (posts(venue)[i]?.body as { order: Record<string, unknown> }).order;

async function thrown(p: Promise<unknown>): Promise<BrokerError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e).toBeInstanceOf(BrokerError);
  return e as BrokerError;
}

/** Waits (on I/O, not on a timer of ours) until `ok` holds. */
async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !ok(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!ok()) throw new Error(`never happened: ${what}`);
}

describe('OandaBroker: orders', () => {
  it('a buy is a FOK market order with signed units, the client id on order and trade, and answers the fill', async () => {
    const { venue, broker } = await setup();
    const report = await broker.submitOrder(order('wd-a1'));
    expect(report).toMatchObject({ clientOrderId: 'wd-a1', status: 'filled', filledQuantity: 1000, averageFillPrice: 1.1 });
    expect(sentOrder(venue)).toMatchObject({ type: 'MARKET', instrument: 'EUR_USD', units: '1000', timeInForce: 'FOK', clientExtensions: { id: 'wd-a1' }, tradeClientExtensions: { id: 'wd-a1' } });
    expect(sentOrder(venue).stopLossOnFill).toBeUndefined();
    expect(venue.requests[0]!.path).toBe(`/v3/accounts/${VENUE_ACCOUNT}/instruments`);
  });

  it('a sell sends negative units; XAUUSD maps to XAU_USD and a configured name to its instrument', async () => {
    const { venue, broker } = await setup({ instruments: { US500: 'SPX500_USD' } });
    await broker.submitOrder(order('wd-s1', { side: 'sell', symbol: 'XAUUSD', quantity: 5 }));
    await broker.submitOrder(order('wd-s2', { symbol: 'US500', quantity: 2.5 }));
    expect(sentOrder(venue, 0)).toMatchObject({ instrument: 'XAU_USD', units: '-5' });
    expect(sentOrder(venue, 1)).toMatchObject({ instrument: 'SPX500_USD', units: '2.5' });
    expect(venue.netUnits('XAU_USD')).toBe(-5);
  });

  it('an unmapped symbol, a size off the unit step or below the minimum is refused before anything is sent', async () => {
    const { venue, broker } = await setup();
    expect((await thrown(broker.submitOrder(order('wd-x1', { symbol: 'BTC/USDT' })))).code).toBe('unknown_instrument');
    expect((await thrown(broker.submitOrder(order('wd-x2', { symbol: 'GBPUSD' })))).code).toBe('unknown_instrument'); // not tradeable on this account
    const offStep = await thrown(broker.submitOrder(order('wd-x3', { quantity: 1000.5 })));
    expect(offStep).toMatchObject({ retryable: false, code: 'InvalidQuantity' });
    expect(offStep.message).toContain('nothing was sent');
    expect((await thrown(broker.submitOrder(order('wd-x4', { symbol: 'US500', quantity: 0.05 }), ))).code).toBe('unknown_instrument');
    expect(posts(venue)).toHaveLength(0);
  });

  it('protectOnFill attaches stopLossOnFill.distance = |slOffsetPct| × reference, on the instrument precision; OANDA prices it from the fill', async () => {
    const { venue, broker } = await setup();
    venue.script({ kind: 'fill', price: 1.10213 });
    await broker.submitOrder(order('wd-p1', { protectOnFill: { slOffsetPct: -0.0051234, tpOffsetPct: 0.01, referencePrice: 1.1 } }));
    // 0.0056357… rounded down to the tick: never a wider stop than approved.
    expect(sentOrder(venue).stopLossOnFill).toEqual({ distance: '0.00563', timeInForce: 'GTC' });
    // The stop exists from the fill itself, on the losing side of the trade's own open price.
    expect(venue.tradeOf('wd-p1')).toMatchObject({ price: 1.10213, stopLoss: 1.0965, takeProfit: null });
  });

  it('a 201 that cancels (MARKET_HALTED, INSUFFICIENT_MARGIN) is a cancelled order with OANDA\'s reason', async () => {
    const { venue, broker } = await setup();
    venue.script({ kind: 'cancel', reason: 'MARKET_HALTED' }, { kind: 'cancel', reason: 'INSUFFICIENT_MARGIN' });
    expect(await broker.submitOrder(order('wd-c1'))).toMatchObject({ status: 'cancelled', filledQuantity: 0, reason: 'MARKET_HALTED' });
    expect(await broker.submitOrder(order('wd-c2'))).toMatchObject({ status: 'cancelled', reason: 'INSUFFICIENT_MARGIN' });
    // And the look-up tells the same, reason included.
    expect(await broker.getOrder({ clientOrderId: 'wd-c1' })).toMatchObject({ status: 'cancelled', filledQuantity: 0, reason: 'MARKET_HALTED' });
  });

  it('priceBound: with a collar, a fill beyond it is cancelled BOUNDS_VIOLATION', async () => {
    const { venue, broker } = await setup({ priceBoundPct: 0.001 });
    venue.instruments.get('EUR_USD')!.price = 1.1015; // 0.14 % above the reference
    const report = await broker.submitOrder(order('wd-b1', { protectOnFill: { slOffsetPct: -0.01, tpOffsetPct: 0.02, referencePrice: 1.1 } }));
    expect(sentOrder(venue).priceBound).toBe('1.10110');
    expect(report).toMatchObject({ status: 'cancelled', reason: 'BOUNDS_VIOLATION' });
    expect(venue.netUnits('EUR_USD')).toBe(0);
  });

  it('a 400 reject is definitive with its errorCode; the order is then known as rejected', async () => {
    const { venue, broker } = await setup();
    venue.script({ kind: 'reject', reason: 'INSUFFICIENT_MARGIN' });
    const e = await thrown(broker.submitOrder(order('wd-r1')));
    expect(e).toMatchObject({ retryable: false, code: 'INSUFFICIENT_MARGIN' });
    expect(await broker.getOrder({ clientOrderId: 'wd-r1' })).toMatchObject({ status: 'rejected' });
  });

  it('a 400 that v20 answers without a reject transaction is definitive too: the order is then known as rejected, never "not visible yet"', async () => {
    const { venue, broker } = await setup();
    venue.failNext('POST', '/orders', '400');
    const e = await thrown(broker.submitOrder(order('wd-r2')));
    expect(e).toMatchObject({ retryable: false, code: 'INVALID_PARAMETER' });
    // At once, inside the look-up grace: reconciliation's look-up must not read v20's NO_SUCH_ORDER as lag.
    expect(await broker.getOrder({ clientOrderId: 'wd-r2' })).toMatchObject({ status: 'rejected', filledQuantity: 0 });
  });

  it('a failure reading the instruments (read before any order) is not_sent: nothing left, so the engine may send within the window', async () => {
    const { venue, broker } = await setup();
    venue.failNext('GET', '/instruments', '503');
    const e = await thrown(broker.submitOrder(order('wd-i1')));
    expect(e).toMatchObject({ retryable: true, code: 'not_sent' });
    expect(e.message).toMatch(/reading the instruments failed first/);
    expect(posts(venue)).toHaveLength(0);
    // The next send reads them again and goes out.
    expect(await broker.submitOrder(order('wd-i1'))).toMatchObject({ status: 'filled' });
    expect(posts(venue)).toHaveLength(1);
  });

  it('an approved stop distance under one tick is refused before anything is sent: no stop could be placed as approved', async () => {
    const { venue, broker } = await setup({ instruments: { US500: 'SPX500_USD' } });
    // SPX500_USD's tick is 0.1; an offset of -0.00001 of 5,600 is 0.056.
    const tiny = order('wd-s1', { symbol: 'US500', quantity: 1, protectOnFill: { referencePrice: 5600, slOffsetPct: -0.00001, tpOffsetPct: 0.01 } });
    const e = await thrown(broker.submitOrder(tiny));
    expect(e).toMatchObject({ retryable: false, code: 'InvalidStopDistance' });
    expect(e.message).toMatch(/approved stop distance 0\.056 is under one tick of SPX500_USD \(0\.1\)/);
    expect(posts(venue)).toHaveLength(0);
    // One tick exactly is placed as approved.
    await broker.submitOrder(order('wd-s2', { symbol: 'US500', quantity: 1, protectOnFill: { referencePrice: 5600, slOffsetPct: -0.1 / 5600, tpOffsetPct: 0.01 } }));
    expect(sentOrder(venue).stopLossOnFill).toEqual({ distance: '0.1', timeInForce: 'GTC' });
  });

  it('429 and 503 are unknown outcomes; a cut connection after the venue acted too, and the look-up adopts the order', async () => {
    const { venue, broker } = await setup();
    venue.failNext('POST', '/orders', '429');
    expect(await thrown(broker.submitOrder(order('wd-u1')))).toMatchObject({ retryable: true, code: 'rate_limited' });
    venue.failNext('GET', '/orders/', '503');
    expect(await thrown(broker.getOrder({ clientOrderId: 'wd-u1' }))).toMatchObject({ retryable: true, code: 'http_503' });
    venue.script({ kind: 'lostAnswer' });
    expect(await thrown(broker.submitOrder(order('wd-u2')))).toMatchObject({ retryable: true, code: 'network' });
    expect(await broker.getOrder({ clientOrderId: 'wd-u2' })).toMatchObject({ status: 'filled', filledQuantity: 1000 });
  });

  it('every request has a time limit: a hung answer is an unknown outcome (timeout)', async () => {
    const { venue, make } = await setup();
    const broker = make({ requestLimitMs: 400 }); // room for a loaded machine's loopback; the hang outlasts it anyway
    await broker.getPosition('EURUSD'); // instruments loaded
    venue.failNext('POST', '/orders', 'hang');
    expect(await thrown(broker.submitOrder(order('wd-t1')))).toMatchObject({ retryable: true, code: 'timeout' });
    venue.releaseHung();
  });

  it('a refused connection is not_sent; the token never appears in an error', async () => {
    const { venue } = await setup();
    const closedUrl = venue.url;
    await venue.close(); // nothing listens there any more
    const broker = new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, restUrl: closedUrl });
    const e = await thrown(broker.submitOrder(order('wd-n1')));
    expect(e).toMatchObject({ retryable: true, code: 'not_sent' });
    expect(JSON.stringify({ m: e.message, b: broker })).not.toContain(VENUE_TOKEN);
  });

  it('a wrong token is a definitive refusal (401)', async () => {
    const { make } = await setup();
    const e = await thrown(make({ token: 'wrong' }).submitOrder(order('wd-w1')));
    // Instruments are read first: an unanswerable read is not a refusal of the order, and no order was sent.
    expect(e.retryable).toBe(true);
    expect(e.code).toBe('not_sent');
    expect(e.message).toMatch(/reading the instruments failed first.*401/);
  });
});

describe('OandaBroker: client ids are unique among PENDING orders only', () => {
  it('CLIENT_ORDER_ID_ALREADY_EXISTS while pending: the existing order is adopted, not refused, and no second order is made', async () => {
    const { venue, broker, make } = await setup();
    venue.script({ kind: 'pending' });
    expect(await broker.submitOrder(order('wd-d1'))).toMatchObject({ status: 'pending' });
    const other = make(); // a restarted process: it does not remember having sent wd-d1
    expect(await other.submitOrder(order('wd-d1'))).toMatchObject({ clientOrderId: 'wd-d1', status: 'pending' });
    expect(venue.ordersWithClientId('wd-d1')).toHaveLength(1);
    venue.fillPending('wd-d1');
    expect(await other.getOrder({ clientOrderId: 'wd-d1' })).toMatchObject({ status: 'filled', filledQuantity: 1000 });
  });

  it('after a fill the venue takes the id again: the adapter looks an id it sent up first and never sends it twice', async () => {
    const { venue, broker, make } = await setup();
    await broker.submitOrder(order('wd-d2'));
    expect(await broker.submitOrder(order('wd-d2'))).toMatchObject({ status: 'filled' });
    expect(venue.ordersWithClientId('wd-d2')).toHaveLength(1);
    // What the venue itself does with a resend from a process that forgot: a NEW order, which is why
    // OANDA is openOrdersOnly. While the first trade is open its client trade id stops it.
    expect(await make().submitOrder(order('wd-d2'))).toMatchObject({ status: 'cancelled', reason: 'CLIENT_TRADE_ID_ALREADY_EXISTS' });
    expect(venue.ordersWithClientId('wd-d2')).toHaveLength(2);
    expect(venue.netUnits('EUR_USD')).toBe(1000);
  });
});

describe('OandaBroker: look-ups', () => {
  it('NO_SUCH_ORDER right after the send is lag (unknown outcome), not absence; after the grace, and for an id never sent, it is null', async () => {
    let now = 1_000_000;
    const { venue, broker } = await setup({ now: () => now, lookupGraceMs: 2_000 });
    venue.lookupLag = 2;
    venue.script({ kind: 'lostAnswer' });
    await thrown(broker.submitOrder(order('wd-l1')));
    expect(await thrown(broker.getOrder({ clientOrderId: 'wd-l1' }))).toMatchObject({ retryable: true, code: 'lookup_lag' });
    expect(await thrown(broker.getOrder({ clientOrderId: 'wd-l1' }))).toMatchObject({ retryable: true, code: 'lookup_lag' });
    expect(await broker.getOrder({ clientOrderId: 'wd-l1' })).toMatchObject({ status: 'filled' });
    expect(await broker.getOrder({ clientOrderId: 'wd-never' })).toBeNull();
    venue.lookupLag = 1;
    await broker.submitOrder(order('wd-l2'));
    now += 2_001;
    expect(await broker.getOrder({ clientOrderId: 'wd-l2' })).toBeNull();
  });

  it('cancel: a pending order is cancelled; a filled one answers its fill; an unknown one is a definitive unknown_order', async () => {
    const { venue, broker } = await setup();
    venue.script({ kind: 'pending' });
    await broker.submitOrder(order('wd-k1'));
    expect(await broker.cancelOrder({ clientOrderId: 'wd-k1' })).toMatchObject({ status: 'cancelled', filledQuantity: 0, reason: 'CLIENT_REQUEST' });
    await broker.submitOrder(order('wd-k2'));
    expect(await broker.cancelOrder({ clientOrderId: 'wd-k2' })).toMatchObject({ status: 'filled', filledQuantity: 1000, averageFillPrice: 1.1 });
    expect(await thrown(broker.cancelOrder({ clientOrderId: 'wd-k3' }))).toMatchObject({ retryable: false, code: 'unknown_order' });
  });
});

describe('OandaBroker: protection and positions', () => {
  it('placeProtection sets rule 2\'s levels on the trade (replacing the stop from the fill), rounded to the tick, idempotently', async () => {
    const { venue, broker } = await setup();
    await broker.submitOrder(order('wd-pp1', { protectOnFill: { slOffsetPct: -0.01, tpOffsetPct: 0.02, referencePrice: 1.1 } }));
    expect(venue.tradeOf('wd-pp1')).toMatchObject({ stopLoss: 1.089, takeProfit: null });
    const req = { clientOrderId: 'wd-pp1-p', symbol: 'EURUSD', side: 'buy' as const, quantity: 1000, stopLoss: 1.0890000001, takeProfit: 1.122000004 };
    const placed = await broker.placeProtection(req);
    expect(placed).toEqual({ clientOrderId: 'wd-pp1-p', status: 'placed', stopLoss: 1.089, takeProfit: 1.122, quantity: 1000, tickSize: 1e-5 });
    const puts = () => venue.requests.filter((r) => r.method === 'PUT').length;
    expect(puts()).toBe(1);
    expect(await broker.placeProtection(req)).toEqual(placed);
    expect(puts()).toBe(1); // already held: nothing sent again
    expect(await broker.getPosition('EURUSD')).toEqual({ symbol: 'EURUSD', quantity: 1000, averagePrice: 1.1, stopLoss: 1.089, takeProfit: 1.122 });
  });

  it('a 200 whose new stop v20 cancelled as it made it is not "placed": a rejected report that says so, the stop not held', async () => {
    const { venue, broker } = await setup();
    await broker.submitOrder(order('wd-cc1'));
    venue.cancelNextStopOnCreate = true;
    const report = await broker.placeProtection({ clientOrderId: 'wd-cc1-p', symbol: 'EURUSD', side: 'buy', quantity: 1000, stopLoss: 1.09, takeProfit: 1.12 });
    expect(report).toMatchObject({ status: 'rejected', stopLoss: null, takeProfit: 1.12, quantity: 0 });
    expect(report.reason).toMatch(/answered 200, but the stop loss was cancelled as it was made \(MARKET_HALTED\)/);
    expect((await broker.getPosition('EURUSD')).stopLoss).toBeNull();
    expect(venue.schemaErrors).toEqual([]);
  });

  it('a short position is negative, with its own levels; flat is zero with none', async () => {
    const { broker } = await setup();
    expect(await broker.getPosition('USDJPY')).toEqual({ symbol: 'USDJPY', quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null });
    await broker.submitOrder(order('wd-sh', { symbol: 'USDJPY', side: 'sell', quantity: 300 }));
    await broker.placeProtection({ clientOrderId: 'wd-sh-p', symbol: 'USDJPY', side: 'sell', quantity: 300, stopLoss: 151.5, takeProfit: 147 });
    expect(await broker.getPosition('USDJPY')).toEqual({ symbol: 'USDJPY', quantity: -300, averagePrice: 150, stopLoss: 151.5, takeProfit: 147 });
  });

  it('protection for an order with no open trade, or of the other side, is a rejected report, not a throw', async () => {
    const { broker } = await setup();
    expect(await broker.placeProtection({ clientOrderId: 'wd-none-p', symbol: 'EURUSD', side: 'buy', quantity: 1, stopLoss: 1, takeProfit: 1.2 })).toMatchObject({ status: 'rejected', quantity: 0 });
    await broker.submitOrder(order('wd-side'));
    expect(await broker.placeProtection({ clientOrderId: 'wd-side-p', symbol: 'EURUSD', side: 'sell', quantity: 1000, stopLoss: 1.2, takeProfit: 1 })).toMatchObject({ status: 'rejected' });
  });
});

describe('OandaBroker: the transactions stream', () => {
  it('pushes a fill from the stream; after a dropped stream it reconnects and fills the gap from /transactions/sinceid', async () => {
    const { venue, broker } = await setup();
    const seen: OrderReport[] = [];
    const stop = broker.subscribe((r) => seen.push(r));
    await until(() => venue.openStreams === 1, 'stream open');
    venue.script({ kind: 'pending' }, { kind: 'pending' });
    await broker.submitOrder(order('wd-st1'));
    await broker.submitOrder(order('wd-st2'));
    venue.fillPending('wd-st1');
    await until(() => seen.some((r) => r.clientOrderId === 'wd-st1' && r.status === 'filled'), 'pushed fill');
    venue.dropStreams();
    venue.fillPending('wd-st2'); // while nobody listens
    await until(() => seen.some((r) => r.clientOrderId === 'wd-st2' && r.status === 'filled'), 'gap filled after reconnect');
    expect(venue.requests.some((r) => r.path.includes('/transactions/sinceid'))).toBe(true);
    expect(seen.filter((r) => r.clientOrderId === 'wd-st1')).toHaveLength(1); // nothing twice
    stop();
    await until(() => venue.openStreams === 0, 'stream closed when nobody listens');
  });

  it('IOC: a streamed fill of fewer units than ordered is partial, and the cancel of the rest reports what filled, never zero', async () => {
    const { venue, broker } = await setup({ timeInForce: 'IOC' });
    const seen: OrderReport[] = [];
    const stop = broker.subscribe((r) => seen.push(r));
    await until(() => venue.openStreams === 1, 'stream open');
    venue.script({ kind: 'pending' });
    expect(await broker.submitOrder(order('wd-ioc1'))).toMatchObject({ status: 'pending' });
    expect(sentOrder(venue)).toMatchObject({ timeInForce: 'IOC' });
    venue.fillPending('wd-ioc1', { units: 400, price: 1.10011 });
    await until(() => seen.some((r) => r.status === 'cancelled'), 'the rest cancelled');
    expect(seen.map((r) => ({ status: r.status, filledQuantity: r.filledQuantity, averageFillPrice: r.averageFillPrice }))).toEqual([
      { status: 'partially_filled', filledQuantity: 400, averageFillPrice: 1.10011 },
      { status: 'cancelled', filledQuantity: 400, averageFillPrice: 1.10011 },
    ]);
    // A look-up says the same: the order is over, with its fill.
    expect(await broker.getOrder({ clientOrderId: 'wd-ioc1' })).toMatchObject({ status: 'cancelled', filledQuantity: 400, averageFillPrice: 1.10011 });
    stop();
  });

  it('after a restart the stream never saw the create: a fill of unknown share is partial, never complete, until the look-up says', async () => {
    const { venue, broker, make } = await setup({ timeInForce: 'IOC' });
    venue.script({ kind: 'pending' });
    await broker.submitOrder(order('wd-rs1'));
    const restarted = make(); // a new process: it never sent wd-rs1 and its stream opens after the create
    const seen: OrderReport[] = [];
    const stop = restarted.subscribe((r) => seen.push(r));
    await until(() => venue.openStreams === 1, 'stream open');
    venue.fillPending('wd-rs1', { units: 400 });
    await until(() => seen.some((r) => r.status === 'cancelled'), 'the rest cancelled');
    expect(seen.map((r) => [r.status, r.filledQuantity])).toEqual([['partially_filled', 400], ['cancelled', 400]]);
    stop();
  });

  it('timeInForce is FOK or IOC, the only two v20 allows for a market order; anything else is refused at construction', () => {
    expect(() => new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, timeInForce: 'GTC' as never })).toThrow(/timeInForce must be 'FOK' or 'IOC'.*GTC/);
  });

  it('a heartbeat whose lastTransactionID is ahead reveals missed transactions, which are fetched', async () => {
    const { venue, broker } = await setup();
    const seen: OrderReport[] = [];
    broker.subscribe((r) => seen.push(r));
    await until(() => venue.openStreams === 1, 'stream open');
    venue.streamTransactions = false;
    venue.script({ kind: 'cancel', reason: 'MARKET_HALTED' });
    await broker.submitOrder(order('wd-hb1'));
    expect(seen).toHaveLength(0);
    venue.heartbeat();
    await until(() => seen.some((r) => r.clientOrderId === 'wd-hb1'), 'gap fill after heartbeat');
    expect(seen[0]).toMatchObject({ status: 'cancelled', reason: 'MARKET_HALTED' });
  });
});

describe('OandaBroker: the stream never ends an order for what happened to another request under its id', () => {
  const created = { id: '6', type: 'MARKET_ORDER', instrument: 'EUR_USD', units: '1000', clientExtensions: { id: 'wd-d1' } };
  const sent = () => 1_000;

  it('a MARKET_ORDER_REJECT for a second request (CLIENT_ORDER_ID_ALREADY_EXISTS) is not the pending order\'s end; the order\'s own fill still is a fill', () => {
    const streamed = new StreamedOrders(100);
    expect(streamed.report(created, sent)).toBeNull();
    expect(streamed.report({ id: '7', type: 'MARKET_ORDER_REJECT', rejectReason: 'CLIENT_ORDER_ID_ALREADY_EXISTS', clientExtensions: { id: 'wd-d1' } }, sent)).toBeNull();
    // Any other reason for a request under an id whose order exists is about that request too.
    expect(streamed.report({ id: '8', type: 'MARKET_ORDER_REJECT', rejectReason: 'INSUFFICIENT_MARGIN', clientExtensions: { id: 'wd-d1' } }, sent)).toBeNull();
    expect(streamed.report({ id: '9', type: 'ORDER_FILL', orderID: '6', clientOrderID: 'wd-d1', instrument: 'EUR_USD', units: '1000', price: '1.1' }, sent)).toMatchObject({ status: 'filled', filledQuantity: 1000 });
  });

  it('a reject for an id with no order is that order\'s refusal', () => {
    const streamed = new StreamedOrders(100);
    expect(streamed.report({ id: '7', type: 'MARKET_ORDER_REJECT', rejectReason: 'INSUFFICIENT_MARGIN', clientExtensions: { id: 'wd-d2' } }, sent)).toMatchObject({ clientOrderId: 'wd-d2', status: 'rejected', reason: 'INSUFFICIENT_MARGIN' });
  });

  it('an ORDER_CANCEL of another order under the id, or for a taken trade id, is not this order\'s; its own cancel is', () => {
    const streamed = new StreamedOrders(100);
    streamed.report(created, sent);
    expect(streamed.report({ id: '10', type: 'ORDER_CANCEL', orderID: '9', clientOrderID: 'wd-d1', reason: 'CLIENT_REQUEST' }, sent)).toBeNull();
    expect(streamed.report({ id: '11', type: 'ORDER_CANCEL', orderID: '6', clientOrderID: 'wd-d1', reason: 'CLIENT_TRADE_ID_ALREADY_EXISTS' }, sent)).toBeNull();
    expect(streamed.report({ id: '12', type: 'ORDER_CANCEL', orderID: '6', clientOrderID: 'wd-d1', reason: 'CLIENT_REQUEST' }, sent)).toMatchObject({ status: 'cancelled', brokerOrderId: '6' });
    // An order known from a look-up (created before this stream) is matched by the id the look-up read.
    const later = new StreamedOrders(100);
    later.noteOrdered('wd-d3', 1_000, '20');
    expect(later.report({ id: '22', type: 'ORDER_CANCEL', orderID: '21', clientOrderID: 'wd-d3', reason: 'CLIENT_REQUEST' }, sent)).toBeNull();
    expect(later.report({ id: '23', type: 'MARKET_ORDER_REJECT', rejectReason: 'INSUFFICIENT_MARGIN', clientExtensions: { id: 'wd-d3' } }, sent)).toBeNull();
  });
});

describe('OandaBroker: the dry run', () => {
  it('reads the account and the instruments and sends nothing', async () => {
    const { venue, broker } = await setup();
    const check = await broker.checkAccount(['EURUSD', 'XAUUSD']);
    expect(check).toMatchObject({ accountId: VENUE_ACCOUNT, currency: 'USD', hedgingEnabled: false, instruments: [{ symbol: 'EURUSD', instrument: 'EUR_USD', displayPrecision: 5 }, { symbol: 'XAUUSD', instrument: 'XAU_USD', displayPrecision: 3 }] });
    expect(venue.requests.every((r) => r.method === 'GET')).toBe(true);
  });
});

describe('OandaBroker: the price of a fill (rule 2: the average of what actually filled)', () => {
  const fill = { id: '9', type: 'ORDER_FILL' as const, orderID: '8', instrument: 'EUR_USD', price: '1.10050' };
  it('a fill that reduces an opposite trade and opens a new one: the average of every unit, from each part\'s own price', () => {
    // v20: the fill's `price` is deprecated; tradesClosed, tradeReduced and tradeOpened carry the price each unit went at.
    expect(fillPrice({ ...fill, units: '10', tradeReduced: { tradeID: '3', units: '-4', price: '1.10000' }, tradeOpened: { tradeID: '9', units: '6', price: '1.10050' } })).toBe(1.1003);
    expect(fillPrice({ ...fill, units: '-5', tradesClosed: [{ tradeID: '1', units: '2', price: '1.2' }, { tradeID: '2', units: '3', price: '1.1' }] })).toBe(1.14);
  });
  it('one part, or parts that do not account for every unit: the opened trade\'s price, else the fill\'s own', () => {
    expect(fillPrice({ ...fill, units: '10', tradeOpened: { tradeID: '9', units: '10', price: '1.10012' } })).toBe(1.10012);
    expect(fillPrice({ ...fill, units: '10', tradeReduced: { tradeID: '3', units: '-4' }, tradeOpened: { tradeID: '9', units: '6', price: '1.10050' } })).toBe(1.1005);
  });
});
