/**
 * Rule 2 as fills land: a partial fill is protected within one protection round trip of being
 * known, on every venue, and each later fill amends that protection (quantity and levels from the
 * new average) under the same protective id — never a second stop, never a wait for the deadline.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, PaperBroker, PROTECTION_RETRY_DELAY_MS, type JournalRecord } from '../../../src/index.js';
import { Venue } from '../../../src/broker/venue.js';
import { HttpBroker, startPaperService } from '../../../src/entries/adapters.js';
import { protectiveLevels } from '../../../src/rules/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { checkInvariants, checkProtectionKeepsUp } from '../../support/invariants.js';
import { harness, silentLogger, snapshot, T0 } from '../../support/fixtures.js';

const LATENCY = 10;
const ms = (r: JournalRecord) => Date.parse(r.at);
const protectionRequests = (records: readonly JournalRecord[]) => records.filter((r) => r.kind === 'broker.request' && r.event === 'placeProtection');
const quantities = (records: readonly JournalRecord[]) => protectionRequests(records).map((r) => (r.payload as { quantity: number }).quantity);
/** The first record in which a fill is known to the execution. */
const firstFillKnown = (records: readonly JournalRecord[]) => records.find((r) => r.kind === 'transition' && (r.payload as { filledQuantity: number }).filledQuantity > 0)!;

describe('protect each fill as it lands (ScriptedBroker)', () => {
  it('500 of 1,000 filled at 1 s: protection for 500 is requested at once, not at the deadline, and not again', async () => {
    const h = harness({ latencyMs: LATENCY });
    const s = snapshot({ positionSize: 1_000 });
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 500, 1.1), 1_000));
    const result = await h.finish(s);
    const calls = h.broker.callsOf('placeProtection');
    // The fill lands at the venue at 1 s after acceptance (T0 + one submit trip) and is pushed at once.
    expect(calls[0]!.at - (T0 + LATENCY + 1_000)).toBeLessThanOrEqual(LATENCY);
    expect(calls[0]!.args).toMatchObject({ quantity: 500, ...protectiveLevels('buy', 1.1, s.slOffsetPct, s.tpOffsetPct) });
    expect(result).toMatchObject({ status: 'partially_filled', filledQuantity: 500, protectionPlaced: true, requiresManualResolution: false });
    // Already protected for the final quantity at its average: the deadline adds no second request.
    expect(calls).toHaveLength(1);
    expect(h.broker.venue.get(result.clientOrderId!)?.status).toBe('cancelled');
    checkProtectionKeepsUp({ journal: await h.engine.journal.records() });
  });

  it('a second fill amends the protection: quantity and levels from the new average, one protective order at the venue', async () => {
    const h = harness({ latencyMs: LATENCY });
    const s = snapshot({ positionSize: 1_000 });
    h.broker.onAccepted((o) => {
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 300, 1.1), 1_000);
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 200, 1.2), 3_000);
    });
    let heldAtTwoSeconds: unknown = null;
    h.clock.setTimeout(() => (heldAtTwoSeconds = h.broker.venue.protectionsOf(`wd-${s.hash.slice(0, 24)}-p`)), 2_000);
    const result = await h.finish(s);
    const average = (300 * 1.1 + 200 * 1.2) / 500;
    expect(heldAtTwoSeconds).toEqual([expect.objectContaining({ quantity: 300, ...protectiveLevels('buy', 1.1, s.slOffsetPct, s.tpOffsetPct) })]);
    const calls = h.broker.callsOf('placeProtection').map((c) => c.args);
    expect(calls).toEqual([
      expect.objectContaining({ quantity: 300, ...protectiveLevels('buy', 1.1, s.slOffsetPct, s.tpOffsetPct) }),
      expect.objectContaining({ quantity: 500, ...protectiveLevels('buy', average, s.slOffsetPct, s.tpOffsetPct) }),
    ]);
    expect(new Set(calls.map((c) => (c as { clientOrderId: string }).clientOrderId)).size).toBe(1);
    // Replaced, not stacked: the venue holds one protective order for the whole filled quantity.
    expect(h.broker.venue.protectionsOf(`${result.clientOrderId}-p`)).toEqual([expect.objectContaining({ quantity: 500, stopLoss: result.stopLoss, takeProfit: result.takeProfit })]);
    expect(h.broker.venue.position('EURUSD')).toMatchObject({ quantity: 500, stopLoss: result.stopLoss, takeProfit: result.takeProfit });
    expect(result).toMatchObject({ status: 'partially_filled', filledQuantity: 500, protectionPlaced: true, requiresManualResolution: false });
    expect(result.fillPrice).toBeCloseTo(average, 12);
    expect(result.reconciliation?.status).toBe('matched');
    checkProtectionKeepsUp({ journal: await h.engine.journal.records() });
  });

  it('a fill that lands while a protection request is out is covered by an amend sent the moment that answer arrives', async () => {
    const h = harness({ latencyMs: 100 });
    const s = snapshot({ positionSize: 1_000 });
    h.broker.onAccepted((o) => {
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 300, 1.1), 1_000);
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 200, 1.1), 1_050); // while protection for 300 is out
    });
    const result = await h.finish(s);
    const records = await h.engine.journal.records();
    expect(quantities(records)).toEqual([300, 500]);
    const [first, second] = protectionRequests(records);
    const firstAnswer = records.find((r) => r.kind === 'broker.response' && r.event === 'placeProtection')!;
    expect(firstAnswer.sequence).toBeGreaterThan(first!.sequence);
    // One request out at a time; the next follows its answer without any wait.
    expect(second!.sequence).toBeGreaterThan(firstAnswer.sequence);
    expect(ms(second!)).toBe(ms(firstAnswer));
    expect(result).toMatchObject({ status: 'partially_filled', filledQuantity: 500, protectionPlaced: true, requiresManualResolution: false });
    expect(h.broker.venue.protectionsOf(`${result.clientOrderId}-p`)).toEqual([expect.objectContaining({ quantity: 500 })]);
    checkProtectionKeepsUp({ journal: records });
  });

  it('an order that fills completely while a protection request is out: the final round sends its request the moment that answer is in', async () => {
    const h = harness({ latencyMs: 100 });
    const s = snapshot({ positionSize: 1_000 });
    h.broker.onAccepted((o) => {
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 300, 1.1), 1_000);
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 700, 1.2), 1_050);
    });
    const result = await h.finish(s);
    const records = await h.engine.journal.records();
    expect(quantities(records)).toEqual([300, 1_000]);
    // Never two requests for one protective id out at once (they could land in either order), and no wait beyond that answer.
    const [, final] = protectionRequests(records);
    const firstAnswer = records.find((r) => r.kind === 'broker.response' && r.event === 'placeProtection')!;
    expect(final!.sequence).toBeGreaterThan(firstAnswer.sequence);
    expect(ms(final!)).toBe(ms(firstAnswer));
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 1_000, protectionPlaced: true, requiresManualResolution: false });
    expect(h.broker.venue.protectionsOf(`${result.clientOrderId}-p`)).toEqual([expect.objectContaining({ quantity: 1_000, stopLoss: result.stopLoss })]);
    checkProtectionKeepsUp({ journal: records });
  });

  it('an unknown protection outcome while the order works is tried again after PROTECTION_RETRY_DELAY_MS, same id', async () => {
    const h = harness({ latencyMs: LATENCY });
    const s = snapshot({ positionSize: 1_000 });
    h.broker.script.protection.push({ kind: 'fail' });
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 500, 1.1), 1_000));
    const result = await h.finish(s);
    const records = await h.engine.journal.records();
    expect(quantities(records)).toEqual([500, 500]);
    const failure = records.find((r) => r.kind === 'broker.error' && r.event === 'placeProtection')!;
    expect(ms(protectionRequests(records)[1]!) - ms(failure)).toBe(PROTECTION_RETRY_DELAY_MS);
    expect(ms(protectionRequests(records)[1]!)).toBeLessThan(T0 + 2_000); // long before the deadline
    expect(result).toMatchObject({ status: 'partially_filled', protectionPlaced: true, requiresManualResolution: false, error: null });
    checkProtectionKeepsUp({ journal: records });
  });

  it('a protection refused while the order works is placed again when the order ends; refused again, it is flagged', async () => {
    for (const refusals of [1, 2]) {
      const h = harness({ latencyMs: LATENCY });
      const s = snapshot({ positionSize: 1_000 });
      for (let i = 0; i < refusals; i++) h.broker.script.protection.push({ kind: 'refuse', reason: 'stop too close' });
      h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 500, 1.1), 1_000));
      const result = await h.finish(s);
      const records = await h.engine.journal.records();
      expect(quantities(records)).toEqual([500, 500]);
      expect(ms(protectionRequests(records)[1]!)).toBeGreaterThan(T0 + 30_000); // the final round, after the deadline
      if (refusals === 1) expect(result).toMatchObject({ protectionPlaced: true, requiresManualResolution: false });
      else {
        expect(result).toMatchObject({ protectionPlaced: false, requiresManualResolution: true });
        expect(result.reconciliation?.mismatches.map((m) => m.field)).toContain('protection');
      }
      checkProtectionKeepsUp({ journal: records });
    }
  });

  it('rule 3 AFTER: a fill that lands while an active kill switch cancels the order is still protected at once', async () => {
    const h = harness({ latencyMs: LATENCY });
    const s = snapshot({ positionSize: 1_000 });
    h.broker.onAccepted((o) => {
      h.clock.setTimeout(() => h.engine.killSwitch.set('active', { symbol: 'EURUSD', reason: 'news', operator: 'ops' }), 995);
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 400, 1.1), 1_000); // before the cancel reaches the venue
    });
    const result = await h.finish(s);
    const records = await h.engine.journal.records();
    const cancelAnswer = records.find((r) => r.kind === 'broker.response' && r.event === 'cancelOrder')!;
    expect(protectionRequests(records)[0]!.sequence).toBeLessThan(cancelAnswer.sequence); // while still cancelling
    expect(result).toMatchObject({ status: 'partially_filled', filledQuantity: 400, protectionPlaced: true, killSwitch: { state: 'active', phase: 'during' } });
    expect(h.broker.venue.position('EURUSD')).toMatchObject({ quantity: 400, stopLoss: result.stopLoss });
    checkProtectionKeepsUp({ journal: records });
  });

  it('rule 6 judges the final protection at the venue: an amend the venue lost leaves its stale levels, which are flagged', async () => {
    const h = harness({ latencyMs: LATENCY });
    const s = snapshot({ positionSize: 1_000 });
    h.broker.script.protection.push({ kind: 'apply' }, { kind: 'lose' });
    h.broker.onAccepted((o) => {
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 300, 1.1), 1_000);
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 200, 1.2), 3_000);
    });
    const result = await h.finish(s);
    expect(h.broker.venue.protectionsOf(`${result.clientOrderId}-p`)).toEqual([expect.objectContaining({ quantity: 300 })]);
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.mismatches.map((m) => m.field)).toEqual(expect.arrayContaining(['position.stopLoss', 'position.takeProfit']));
  });
});

describe('the in-memory venue: one protective order per protective id', () => {
  it('the same request changes nothing, a later fill\'s replaces it in place, an older one arriving late is answered with what is held', () => {
    const venue = new Venue(() => T0);
    venue.submit({ clientOrderId: 'wd-v', symbol: 'EURUSD', side: 'buy', quantity: 1_000, type: 'market' });
    venue.fill('wd-v', 300, 1.1);
    const first = { clientOrderId: 'wd-v-p', symbol: 'EURUSD', side: 'buy' as const, quantity: 300, stopLoss: 1.089, takeProfit: 1.122 };
    expect(venue.protect(first)).toMatchObject({ status: 'placed', quantity: 300 });
    expect(venue.protect(first)).toMatchObject({ status: 'placed', quantity: 300 });
    venue.fill('wd-v', 200, 1.2);
    const amend = { ...first, quantity: 500, stopLoss: 1.1286, takeProfit: 1.1628 };
    expect(venue.protect(amend)).toMatchObject({ status: 'placed', quantity: 500, stopLoss: 1.1286 });
    expect(venue.protect(first)).toMatchObject({ status: 'placed', quantity: 500, stopLoss: 1.1286 }); // stale: not a downgrade
    expect(venue.protectionsOf('wd-v-p')).toEqual([amend]);
    expect(venue.position('EURUSD')).toMatchObject({ quantity: 500, stopLoss: 1.1286, takeProfit: 1.1628 });
    // An amend for more than the position holds is refused, and what was held stays.
    expect(venue.protect({ ...amend, quantity: 900 })).toMatchObject({ status: 'rejected', quantity: 0 });
    expect(venue.protectionsOf('wd-v-p')).toEqual([amend]);
  });
});

describe('protect each fill as it lands, on every venue', () => {
  it('PaperBroker: a partial fill at 1 s is protected when it is known, not at the deadline', async () => {
    const clock = new VirtualClock(T0);
    const broker = new PaperBroker({ clock, seed: 3, latencyMs: [5, 5], markets: { EURUSD: { price: 1.1, fillSteps: [{ afterMs: 1_000, fraction: 0.5 }], slippageBps: 0 } } });
    const engine = createEngine({ broker, clock, logger: silentLogger() });
    const s = snapshot({ positionSize: 1_000 });
    const result = await clock.run(engine.execute(s));
    const records = await engine.journal.records();
    checkInvariants({ result, snapshot: s, journal: records, venue: broker.venue });
    checkProtectionKeepsUp({ journal: records });
    expect(result).toMatchObject({ status: 'partially_filled', filledQuantity: 500, protectionPlaced: true, requiresManualResolution: false });
    const known = firstFillKnown(records);
    expect(ms(known) - T0).toBeLessThanOrEqual(1_000 + 2 * 5); // pushed as it lands (after one trip each way)
    expect(ms(protectionRequests(records)[0]!)).toBe(ms(known));
    expect(quantities(records)).toEqual([500]);
    await engine.close();
  });

  it('HttpBroker (paper service): the first fill is protected in the same step that learns it, then amended', async () => {
    const service = await startPaperService({ port: 0, latencyMs: [1, 1], markets: { EURUSD: { price: 1.1, fillSteps: [{ afterMs: 30, fraction: 0.5 }, { afterMs: 600, fraction: 0.5 }], slippageBps: 0 } } });
    try {
      const engine = createEngine({ broker: new HttpBroker({ baseUrl: service.url }), logger: silentLogger(), pollIntervalMs: 20 });
      const now = Date.now();
      const s = snapshot({ createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 60_000).toISOString(), approval: { approvedBy: 'a', approvedAt: new Date(now - 30_000).toISOString() } });
      const result = await engine.execute(s);
      const records = await engine.journal.records();
      expect(result).toMatchObject({ status: 'filled', filledQuantity: 10, protectionPlaced: true, requiresManualResolution: false });
      expect(result.reconciliation?.status).toBe('matched');
      expect(quantities(records)).toEqual([5, 10]);
      // Nothing awaited between learning the first fill and asking for its protection: only that step's transitions.
      const from = records.indexOf(firstFillKnown(records));
      const to = records.indexOf(protectionRequests(records)[0]!);
      expect(records.slice(from, to).every((r) => r.kind === 'transition')).toBe(true);
      // …and it was asked for before the second half filled, not at the end.
      const fullKnown = records.findIndex((r) => r.kind === 'transition' && (r.payload as { filledQuantity: number }).filledQuantity === 10);
      expect(to).toBeLessThan(fullKnown);
      await engine.close();
    } finally {
      await service.close();
    }
  });
});
