/**
 * The engine trading through OandaBroker with the offline v20 venue on loopback: the stop is at
 * the venue from the fill (`stopLossOnFill`, in the fill's own transaction batch), then rule 2's
 * exact levels replace it, and reconciliation reads the trade's orders.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, freezeSnapshot, MemoryJournal, type FrozenSnapshot } from '../../src/index.js';
import { OandaBroker, type OandaBrokerOptions } from '../../src/entries/adapters.js';
import { protectiveLevels } from '../../src/rules/protection.js';
import { VirtualClock } from '../../src/testing/index.js';
import { rawSnapshot, silentLogger, snapshot, T0 } from '../support/fixtures.js';
import { checkInvariants, checkProtectionKeepsUp } from '../support/invariants.js';
import { drive, trackCalls } from './drive.js';

/**
 * Quiet, and still quiet after many turns of the event loop: under load the engine's loop budget
 * hands answers in over several turns, and virtual time must not move while one is still queued.
 */
async function patientQuiet(inFlight: () => Promise<void>): Promise<void> {
  await inFlight();
  for (let i = 0; i < 15; i++) await new Promise<void>((r) => setImmediate(r));
  await inFlight();
}
import { OandaVenue, VENUE_ACCOUNT, VENUE_TOKEN } from './oandaVenue.js';

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers) await close();
  closers = [];
});

async function start({ virtual = true, pollIntervalMs = 500, options = {} }: { virtual?: boolean; pollIntervalMs?: number; options?: Partial<OandaBrokerOptions> } = {}) {
  const venue = await new OandaVenue().start();
  const oanda = new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, restUrl: venue.url, reconnectMs: 5, ...options });
  const { broker, quiet: inFlight } = trackCalls(oanda);
  const quiet = () => patientQuiet(inFlight);
  const clock = new VirtualClock(T0);
  const journal = new MemoryJournal(virtual ? clock : undefined);
  const engine = createEngine({ broker, journal, logger: silentLogger(), pollIntervalMs, ...(virtual ? { clock } : {}) });
  const run = <T>(p: Promise<T>) => (virtual ? drive(clock, quiet, p) : p);
  const check = async (s: FrozenSnapshot, result: Awaited<ReturnType<typeof engine.execute>>) => {
    checkInvariants({ result, snapshot: s, journal: await journal.records() });
    expect(venue.ordersWithClientId(result.clientOrderId ?? '').length).toBeLessThanOrEqual(1);
    expect(venue.schemaErrors).toEqual([]);
    expect(venue.unprotected).toEqual([]); // no open trade was ever without a stop once a request was done
  };
  closers.push(async () => {
    await engine.close();
    oanda.close();
    await venue.close();
  });
  return { venue, engine, journal, clock, run, check };
}

/** The venue's transactions of one batch (a request's transactions share its batchID). */
const batchOf = async (venue: OandaVenue, clientOrderId: string) => {
  const res = await fetch(`${venue.url}/v3/accounts/${VENUE_ACCOUNT}/transactions/sinceid?id=1`, { headers: { authorization: `Bearer ${VENUE_TOKEN}` } });
  const { transactions } = (await res.json()) as { transactions: { id: string; type: string; batchID: string; clientOrderID?: string; reason?: string; price?: string }[] };
  const fill = transactions.find((t) => t.type === 'ORDER_FILL' && t.clientOrderID === clientOrderId)!;
  return transactions.filter((t) => t.batchID === fill.batchID).map((t) => ({ type: t.type, reason: t.reason }));
};

const eurusd = (overrides: Record<string, unknown> = {}) => snapshot({ positionSize: 10_000, referencePrice: 1.1, ...overrides });

describe('engine × OandaBroker × offline v20 venue', () => {
  it('clean long: filled, stopped at the venue from the fill, then rule 2\'s levels from the actual fill, reconciled matched', async () => {
    const { venue, engine, run, check } = await start();
    venue.script({ kind: 'fill', price: 1.10034 });
    const s = eurusd();
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 10_000, fillPrice: 1.10034, requiresManualResolution: false });
    expect(result.reconciliation?.status).toBe('matched');
    // The entry carried the stop: OANDA created it in the fill's own batch (reason ON_FILL).
    const entry = (venue.requests.find((r) => r.method === 'POST')!.body as { order: { stopLossOnFill?: unknown } }).order;
    expect(entry.stopLossOnFill).toEqual({ distance: '0.01100', timeInForce: 'GTC' });
    expect(await batchOf(venue, result.clientOrderId!)).toEqual(expect.arrayContaining([{ type: 'ORDER_FILL', reason: 'MARKET_ORDER' }, { type: 'STOP_LOSS_ORDER', reason: 'ON_FILL' }]));
    // Then exactly rule 2's levels from the actual average fill, at the venue.
    const levels = protectiveLevels('buy', 1.10034, s.slOffsetPct, s.tpOffsetPct);
    const trade = venue.tradeOf(result.clientOrderId!)!;
    expect(trade.stopLoss).toBeCloseTo(levels.stopLoss, 5);
    expect(trade.takeProfit).toBeCloseTo(levels.takeProfit, 5);
    expect(trade.units).toBe(10_000);
    await check(s, result);
  });

  it('short gold: negative units, the stop above the fill at once, levels from the fill, reconciled matched', async () => {
    const { venue, engine, run, check } = await start();
    venue.script({ kind: 'fill', price: 2401.257 });
    const s = snapshot({ symbol: 'XAUUSD', side: 'sell', positionSize: 3, referencePrice: 2400 });
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 3, fillPrice: 2401.257 });
    expect(result.reconciliation?.status).toBe('matched');
    expect(venue.netUnits('XAU_USD')).toBe(-3);
    const levels = protectiveLevels('sell', 2401.257, s.slOffsetPct, s.tpOffsetPct);
    // The stop on the tick toward the fill (a short's down: never wider than approved); the target on the nearest.
    expect(venue.tradeOf(result.clientOrderId!)).toMatchObject({ stopLoss: Math.floor(levels.stopLoss * 1_000 + 1e-6) / 1_000, takeProfit: Number(levels.takeProfit.toFixed(3)) });
    await check(s, result);
  });

  it('an answer lost after OANDA filled, and a look-up that lags: the order is adopted, never sent twice', async () => {
    const { venue, engine, run, check } = await start();
    venue.lookupLag = 2;
    venue.script({ kind: 'lostAnswer' });
    const s = eurusd();
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 10_000 });
    expect(result.reconciliation?.status).toBe('matched');
    expect(venue.ordersWithClientId(result.clientOrderId!)).toHaveLength(1);
    expect(venue.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    await check(s, result);
  });

  it('a 201 that cancels (MARKET_HALTED): nothing filled, nothing held, no stop needed', async () => {
    const { venue, engine, run, check } = await start();
    venue.script({ kind: 'cancel', reason: 'MARKET_HALTED' });
    const s = eurusd();
    const result = await run(engine.execute(s));
    expect(result.filledQuantity).toBe(0);
    expect(['failed', 'cancelled']).toContain(result.status);
    expect(venue.netUnits('EUR_USD')).toBe(0);
    await check(s, result);
  });

  it('a 400 reject (INSUFFICIENT_MARGIN) is a definitive failure: broker_rejected', async () => {
    const { venue, engine, run, check } = await start();
    venue.script({ kind: 'reject', reason: 'INSUFFICIENT_MARGIN' });
    const s = eurusd();
    const result = await run(engine.execute(s));
    expect(result).toMatchObject({ status: 'failed', filledQuantity: 0, error: { code: 'broker_rejected' } });
    await check(s, result);
  });

  it('a fill pushed by the transactions stream finishes the execution without waiting for a poll', async () => {
    const { venue, engine, check } = await start({ virtual: false, pollIntervalMs: 3_600_000 });
    venue.script({ kind: 'pending' });
    // On the real clock: the snapshot's times are relative to now.
    const at = (ms: number) => new Date(Date.now() + ms).toISOString();
    const s = freezeSnapshot(rawSnapshot({ positionSize: 10_000, createdAt: at(-120_000), expiresAt: at(3_600_000), approval: { approvedBy: 'alice', approvedAt: at(-60_000) } }));
    const execution = engine.execute(s);
    const sent = () => venue.requests.find((r) => r.method === 'POST')?.body as { order: { clientExtensions: { id: string } } } | undefined;
    for (let i = 0; i < 400 && !(sent() && venue.openStreams > 0); i++) await new Promise((r) => setTimeout(r, 5));
    venue.fillPending(sent()!.order.clientExtensions.id);
    const result = await execution;
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 10_000 });
    expect(result.reconciliation?.status).toBe('matched');
    expect(result.durationMs).toBeLessThan(3_600_000);
    await check(s, result);
  });

  it('IOC, a partial fill at 1 s: stopped at the venue in the fill\'s own batch, rule 2\'s levels for the 500 units within one protection round trip, not at the deadline', async () => {
    const { venue, engine, journal, clock, run, check } = await start({ options: { timeInForce: 'IOC' } });
    venue.script({ kind: 'pending' });
    const s = eurusd({ positionSize: 1_000 });
    const id = `wd-${s.hash.slice(0, 24)}`;
    // At 1 s OANDA finds liquidity for 500 of the 1,000 units: ORDER_FILL for 500, the rest ORDER_CANCEL.
    clock.setTimeout(() => venue.fillPending(id, { units: 500, price: 1.10021 }), 1_000);
    const result = await run(engine.execute(s));
    const levels = protectiveLevels('buy', 1.10021, s.slOffsetPct, s.tpOffsetPct);
    expect(result).toMatchObject({ status: 'partially_filled', filledQuantity: 500, fillPrice: 1.10021, protectionPlaced: true, requiresManualResolution: false });
    expect(result.reconciliation?.status).toBe('matched');
    expect((venue.requests.find((r) => r.method === 'POST')!.body as { order: { timeInForce: string } }).order.timeInForce).toBe('IOC');
    expect(await batchOf(venue, id)).toEqual([{ type: 'ORDER_FILL', reason: 'MARKET_ORDER' }, { type: 'STOP_LOSS_ORDER', reason: 'ON_FILL' }, { type: 'ORDER_CANCEL', reason: 'INSUFFICIENT_LIQUIDITY' }]);
    // The trade holds rule 2's exact levels from its own fill, for its 500 units; the rest was never waited for.
    expect(venue.tradeOf(id)).toMatchObject({ units: 500, stopLoss: Number(levels.stopLoss.toFixed(5)), takeProfit: Number(levels.takeProfit.toFixed(5)) });
    expect(result.durationMs).toBeLessThan(2_000);
    const records = await journal.records();
    const known = records.find((r) => r.kind === 'transition' && (r.payload as { filledQuantity: number }).filledQuantity > 0)!;
    const protections = records.filter((r) => r.kind === 'broker.request' && r.event === 'placeProtection');
    expect(Date.parse(known.at) - T0).toBeLessThanOrEqual(1_000 + 500); // pushed, or at the latest the next poll
    expect(Date.parse(protections[0]!.at)).toBe(Date.parse(known.at)); // asked for the moment the fill is known
    expect(protections[0]!.payload).toMatchObject({ quantity: 500, ...levels });
    const answered = records.find((r) => r.kind === 'broker.response' && r.event === 'placeProtection')!;
    expect(answered.payload).toMatchObject({ status: 'placed', quantity: 500 });
    expect(Date.parse(answered.at)).toBe(Date.parse(known.at)); // one round trip (zero virtual time on loopback)
    checkProtectionKeepsUp({ journal: records });
    await check(s, result);
  });

  it('IOC with liquidity for part of the units at once: one 201 carries the fill and the cancel; FOK is cancelled whole', async () => {
    for (const timeInForce of ['IOC', 'FOK'] as const) {
      const { venue, engine, journal, run, check } = await start({ options: { timeInForce } });
      venue.script({ kind: 'partial', units: 400, price: 1.09987 });
      const s = eurusd({ advisoryId: `adv-partial-${timeInForce}`, positionSize: 1_000 });
      const result = await run(engine.execute(s));
      if (timeInForce === 'IOC') {
        expect(result).toMatchObject({ status: 'partially_filled', filledQuantity: 400, fillPrice: 1.09987, protectionPlaced: true, requiresManualResolution: false });
        // The 201's answer is the finished order: what filled, the rest cancelled; nothing left to wait for.
        const answer = (await journal.records()).find((r) => r.kind === 'broker.response' && r.event === 'submitOrder')!;
        expect(answer.payload).toMatchObject({ status: 'cancelled', filledQuantity: 400, averageFillPrice: 1.09987, reason: 'INSUFFICIENT_LIQUIDITY' });
        expect(venue.tradeOf(result.clientOrderId!)).toMatchObject({ units: 400, stopLoss: Math.ceil(protectiveLevels('buy', 1.09987, s.slOffsetPct, s.tpOffsetPct).stopLoss * 1e5 - 1e-6) / 1e5 });
      } else {
        expect(result).toMatchObject({ filledQuantity: 0, protectionPlaced: false });
        expect(venue.netUnits('EUR_USD')).toBe(0);
      }
      expect(result.reconciliation?.status).toBe('matched');
      await check(s, result);
    }
  });
});
