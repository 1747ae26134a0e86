/**
 * The engine trading through OandaBroker with the offline v20 venue on loopback: the stop is at
 * the venue from the fill (`stopLossOnFill`, in the fill's own transaction batch), then rule 2's
 * exact levels replace it, and reconciliation reads the trade's orders.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, freezeSnapshot, MemoryJournal, type FrozenSnapshot } from '../../src/index.js';
import { OandaBroker } from '../../src/entries/adapters.js';
import { protectiveLevels } from '../../src/rules/protection.js';
import { VirtualClock } from '../../src/testing/index.js';
import { rawSnapshot, silentLogger, snapshot, T0 } from '../support/fixtures.js';
import { checkInvariants } from '../support/invariants.js';
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

async function start({ virtual = true, pollIntervalMs = 500 }: { virtual?: boolean; pollIntervalMs?: number } = {}) {
  const venue = await new OandaVenue().start();
  const oanda = new OandaBroker({ token: VENUE_TOKEN, accountId: VENUE_ACCOUNT, restUrl: venue.url, reconnectMs: 5 });
  const { broker, quiet: inFlight } = trackCalls(oanda);
  const quiet = () => patientQuiet(inFlight);
  const clock = new VirtualClock(T0);
  const journal = new MemoryJournal();
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
  return { venue, engine, run, check };
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
    expect(venue.tradeOf(result.clientOrderId!)).toMatchObject({ stopLoss: Number(levels.stopLoss.toFixed(3)), takeProfit: Number(levels.takeProfit.toFixed(3)) });
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
});
