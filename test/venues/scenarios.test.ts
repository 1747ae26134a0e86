/**
 * The engine against Binance USDⓈ-M futures, through ccxt's real code: requests are built,
 * signed, sent over loopback HTTP to a fake venue, and parsed by ccxt exactly as in production.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { protectiveLevels } from '../../src/rules/protection.js';
import { snapshot, T0 } from '../support/fixtures.js';
import { checkProtectionKeepsUp } from '../support/invariants.js';
import { API_KEY, API_SECRET, venueEngine } from './connect.js';
import type { FakeBinanceUsdm } from './fakeBinanceUsdm.js';

const BTC = 'BTC/USDT:USDT';
const ETH = 'ETH/USDT:USDT';

const btc = (overrides: Record<string, unknown> = {}) =>
  snapshot({ symbol: BTC, positionSize: 0.01, referencePrice: 97_000, ...overrides });

let opened: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of opened) await close();
  opened = [];
});
const start = async () => {
  const v = await venueEngine();
  opened.push(v.close);
  return v;
};

/** The quantities of the protective legs working at the venue. */
const workingQuantities = (fake: FakeBinanceUsdm) => fake.openAlgoOrders('BTCUSDT').map((a) => a.quantity);

/** The SL and TP working at the venue for `symbol`, as the venue holds them. */
const workingProtection = (fake: FakeBinanceUsdm, symbol: string) =>
  Object.fromEntries(fake.openAlgoOrders(symbol).map((a) => [a.orderType, { side: a.side, quantity: a.quantity, triggerPrice: a.triggerPrice, reduceOnly: a.reduceOnly }]));

describe('venue scenarios through ccxt (Binance USDⓈ-M, loopback)', () => {
  it('clean fill, long: filled at the venue price, SL/TP from that fill as reduce-only orders, reconciliation matched', async () => {
    const { fake, engine, run, check } = await start();
    const s = btc();
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 0.01, fillPrice: 97_000, protectionPlaced: true, requiresManualResolution: false });
    expect(result.reconciliation?.status).toBe('matched');
    const levels = protectiveLevels('buy', 97_000, s.slOffsetPct, s.tpOffsetPct);
    expect(result).toMatchObject(levels);
    expect(workingProtection(fake, 'BTCUSDT')).toEqual({
      STOP_MARKET: { side: 'SELL', quantity: 0.01, triggerPrice: 96_030, reduceOnly: true },
      TAKE_PROFIT_MARKET: { side: 'SELL', quantity: 0.01, triggerPrice: 98_940, reduceOnly: true },
    });
    // Warden's id went out on the wire; the protective legs carry their own deterministic ids.
    const post = fake.callsTo('POST', '/fapi/v1/order');
    expect(post.map((r) => r.params.newClientOrderId)).toEqual([result.clientOrderId]);
    expect(fake.callsTo('POST', '/fapi/v1/algoOrder').map((r) => r.params.clientAlgoId)).toEqual([`${result.clientOrderId}-p-sl`, `${result.clientOrderId}-p-tp`]);
    await check(result, s);
  });

  it('clean fill, short on a 0.01 tick: levels rounded by the venue still reconcile as matched', async () => {
    const { fake, engine, run, check } = await start();
    const s = snapshot({ symbol: ETH, side: 'sell', positionSize: 0.5, referencePrice: 3_120 });
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 0.5, fillPrice: 3_123.45, protectionPlaced: true, requiresManualResolution: false });
    expect(result.reconciliation?.status).toBe('matched');
    expect(fake.positionAmount('ETHUSDT')).toBe(-0.5);
    // 3123.45 × 1.01 = 3154.6845 and × 0.98 = 3060.981: the venue holds them on its 0.01 tick (the
    // stop differs by 1.4e-6 relative, beyond reconciliation's exact tolerance without the tick).
    expect(workingProtection(fake, 'ETHUSDT')).toEqual({
      STOP_MARKET: { side: 'BUY', quantity: 0.5, triggerPrice: 3_154.68, reduceOnly: true },
      TAKE_PROFIT_MARKET: { side: 'BUY', quantity: 0.5, triggerPrice: 3_060.98, reduceOnly: true },
    });
    await check(result, s);
  });

  it('kill switch during: the working order is cancelled at the venue by client id, nothing is protected', async () => {
    const { fake, clock, engine, run, check } = await start();
    fake.script({ kind: 'rest' });
    const s = btc();
    clock.setTimeout(() => engine.killSwitch.set('active', { reason: 'desk halt', operator: 'ops' }), 2_000);
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'cancelled', filledQuantity: 0, protectionPlaced: false });
    expect(fake.ordersFor(result.clientOrderId!)[0]?.status).toBe('CANCELED');
    expect(fake.callsTo('DELETE', '/fapi/v1/order').map((r) => r.params.origClientOrderId)).toEqual([result.clientOrderId]);
    expect(fake.callsTo('POST', '/fapi/v1/algoOrder')).toHaveLength(0);
    await check(result, s);
  });

  it('timeout with a late fill: the fill wins the race with the cancel, is adopted and protected', async () => {
    const { fake, engine, run, check } = await start();
    fake.script({ kind: 'rest' });
    const s = btc();
    // The cancel at the deadline arrives just after the venue filled the order: Binance answers -2011.
    fake.beforeNext('DELETE', '/fapi/v1/order', () => fake.fill(fake.requests[1]!.params.newClientOrderId!, 0.01, 97_100));
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'executed_full_late', filledQuantity: 0.01, fillPrice: 97_100, protectionPlaced: true, requiresManualResolution: false });
    expect(result.reconciliation?.status).toBe('matched');
    expect(result.stopLoss).toBe(protectiveLevels('buy', 97_100, s.slOffsetPct, s.tpOffsetPct).stopLoss);
    await check(result, s);
  });

  it('partial fill at the deadline: the rest is cancelled, the filled part is a position and is protected', async () => {
    const { fake, engine, run, check } = await start();
    fake.script({ kind: 'fill', quantity: 0.004, price: 96_990 });
    const s = btc();
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'partially_filled', filledQuantity: 0.004, fillPrice: 96_990, protectionPlaced: true, requiresManualResolution: false });
    expect(fake.ordersFor(result.clientOrderId!)[0]).toMatchObject({ status: 'CANCELED', executedQty: 0.004 });
    expect(fake.positionAmount('BTCUSDT')).toBe(0.004);
    expect(Object.values(workingProtection(fake, 'BTCUSDT')).map((p) => p.quantity)).toEqual([0.004, 0.004]);
    expect(result.reconciliation?.status).toBe('matched');
    await check(result, s);
  });

  it('a partial fill at 1 s is protected when it is seen, and a second fill amends the same two legs', async () => {
    const { fake, clock, engine, journal, run, check } = await start();
    fake.script({ kind: 'rest' });
    const s = btc();
    const id = `wd-${s.hash.slice(0, 24)}`;
    let atTwoSeconds: unknown[] = [];
    clock.setTimeout(() => fake.fill(id, 0.004, 96_990), 1_000);
    clock.setTimeout(() => (atTwoSeconds = workingQuantities(fake)), 2_000);
    clock.setTimeout(() => fake.fill(id, 0.006, 97_010), 5_000);
    const result = await run(engine.execute(s));
    const average = (0.004 * 96_990 + 0.006 * 97_010) / 0.01;
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 0.01, protectionPlaced: true, requiresManualResolution: false });
    expect(result.fillPrice).toBeCloseTo(average, 6);
    // Protected for 0.004 long before the deadline, then amended in place: never two stops.
    expect(atTwoSeconds).toEqual([0.004, 0.004]);
    expect(workingQuantities(fake)).toEqual([0.01, 0.01]);
    const records = await journal.records();
    const firstFillSeen = records.find((r) => r.kind === 'transition' && (r.payload as { filledQuantity: number }).filledQuantity > 0)!;
    const firstProtection = records.find((r) => r.kind === 'broker.request' && r.event === 'placeProtection')!;
    expect(Date.parse(firstProtection.at)).toBe(Date.parse(firstFillSeen.at)); // sent the moment the fill is known
    expect(Date.parse(firstFillSeen.at) - T0).toBeLessThanOrEqual(1_000 + 500); // known within one poll of landing
    expect(records.filter((r) => r.kind === 'broker.request' && r.event === 'placeProtection').map((r) => (r.payload as { quantity: number }).quantity)).toEqual([0.004, 0.01]);
    expect(result.reconciliation?.status).toBe('matched');
    checkProtectionKeepsUp({ journal: records });
    await check(result, s);
  });

  it('ambiguous submit (503 after the venue accepted and filled): looked up, adopted, never sent twice', async () => {
    const { fake, engine, run, check } = await start();
    fake.script({ kind: 'fill', then503: true });
    const s = btc();
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 0.01, protectionPlaced: true, requiresManualResolution: false });
    expect(fake.callsTo('POST', '/fapi/v1/order')).toHaveLength(1);
    expect(fake.callsTo('GET', '/fapi/v1/order').length).toBeGreaterThanOrEqual(1);
    expect(fake.ordersFor(result.clientOrderId!)).toHaveLength(1);
    await check(result, s);
  });

  it('503 before the venue accepted: never resent on Binance (ids are unique among open orders only); looked up until the deadline, then flagged', async () => {
    const { fake, engine, run, check } = await start();
    fake.failNext('POST', '/fapi/v1/order', { status: 503, code: -1007, msg: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.' });
    const s = btc();
    const result = await run(engine.execute(s));
    // A resend with the same id would be a second order if the first had filled in the meantime.
    expect(fake.callsTo('POST', '/fapi/v1/order')).toHaveLength(1);
    expect(fake.callsTo('GET', '/fapi/v1/order').length).toBeGreaterThan(2);
    expect(result).toMatchObject({ status: 'failed_timeout', filledQuantity: 0, requiresManualResolution: true });
    expect(result.reconciliation?.mismatches.map((m) => m.field)).toContain('order.outcome');
    expect(fake.ordersFor(result.clientOrderId!)).toHaveLength(0);
    await check(result, s);
  });

  it('an order accepted behind a 503 and slow to show: looked up until it appears, adopted, never resent', async () => {
    const { fake, clock, engine, run, check } = await start();
    fake.script({ kind: 'rest', then503: true });
    // The venue is slow to show the order: two look-ups miss it. Before, Warden resent here.
    const lagging = { status: 400, code: -2013, msg: 'Order does not exist.' };
    fake.failNext('GET', '/fapi/v1/order', lagging).failNext('GET', '/fapi/v1/order', lagging);
    const s = btc();
    clock.setTimeout(() => fake.fill(fake.callsTo('POST', '/fapi/v1/order')[0]!.params.newClientOrderId!, 0.01, 97_050), 5_000);
    const result = await run(engine.execute(s));
    expect(fake.callsTo('POST', '/fapi/v1/order')).toHaveLength(1);
    expect(fake.ordersFor(result.clientOrderId!)).toHaveLength(1);
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 0.01, fillPrice: 97_050, protectionPlaced: true, requiresManualResolution: false });
    await check(result, s);
  });

  it('a definitive refusal (margin insufficient, ccxt: ExchangeError -2019) fails at once, with no retry', async () => {
    const { fake, engine, run, check } = await start();
    fake.script({ kind: 'reject', code: -2019, msg: 'Margin is insufficient.' });
    const s = btc();
    const result = await run(engine.execute(s));
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/-2019.*Margin is insufficient/);
    expect(fake.callsTo('POST', '/fapi/v1/order')).toHaveLength(1);
    await check(result, s);
  });

  it('a size off the venue step is refused before anything is sent', async () => {
    const { fake, engine, run, check } = await start();
    const s = btc({ positionSize: 0.0125 });
    const result = await run(engine.execute(s));
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(/not a multiple of the market's step \(0\.001\)/);
    expect(fake.callsTo('POST', '/fapi/v1/order')).toHaveLength(0);
    await check(result, s);
  });

  it('reconciliation mismatch: a trade outside Warden moves the position; it is flagged, halted, never fixed', async () => {
    const { fake, engine, run, check } = await start();
    fake.beforeNext('GET', '/fapi/v3/positionRisk', () => fake.externalTrade('BTCUSDT', 0.02, 97_000));
    const s = btc();
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'filled', requiresManualResolution: true });
    expect(result.reconciliation?.mismatches).toEqual([expect.objectContaining({ field: 'position.quantity', expected: 0.01, actual: expect.closeTo(0.03, 9) })]);
    expect(engine.killSwitch.state(BTC)).toBe('warning');
    // Nothing was placed or cancelled to "fix" it.
    const after = fake.requests.slice(fake.requests.findIndex((r) => r.path === '/fapi/v3/positionRisk'));
    expect(after.filter((r) => r.method !== 'GET')).toEqual([]);
    await check(result, s);
  });

  it('credentials never reach the logs, the journal or the result', async () => {
    const { fake, engine, journal, lines, run } = await start();
    fake.failNext('POST', '/fapi/v1/order', { status: 503, code: -1007, msg: 'execution status unknown' });
    const result = await run(engine.execute(btc()));
    expect(result.status).toBe('failed_timeout'); // never resent on Binance; flagged for a human
    // The key did go out, as a header, on every signed request.
    expect(fake.requests.filter((r) => r.path !== '/fapi/v1/exchangeInfo').every((r) => r.headers['x-mbx-apikey'] === API_KEY)).toBe(true);
    const everything = JSON.stringify([lines, await journal.records(), result]);
    expect(lines.length).toBeGreaterThan(0);
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain(API_SECRET);
  });
});
