/**
 * A venue that pushes nothing is looked up fast while a fill is likely, then less and less often:
 * a fill in an order's first seconds is known within 100 ms; an order that works for minutes is
 * looked up at the engine's interval. A venue that pushes is polled at the interval throughout.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal, rules, type BrokerAdapter } from '../../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

describe('nextPollDelay', () => {
  it('is 50 ms at first, a thirtieth of the age later, and never above the ceiling', () => {
    expect(rules.nextPollDelay(0, 500)).toBe(50);
    expect(rules.nextPollDelay(1_500, 500)).toBe(50);
    expect(rules.nextPollDelay(6_000, 500)).toBe(200);
    expect(rules.nextPollDelay(600_000, 500)).toBe(500);
    expect(rules.nextPollDelay(10, 20)).toBe(20); // a ceiling below 50 ms wins
    expect(rules.nextPollDelay(10, 500, 500)).toBe(500); // a floor at the ceiling: a fixed interval
  });
});

/** The virtual time at which the engine first read a filled report, and the number of look-ups. */
async function fillSeen(push: boolean, fillAfterMs: number, minPollIntervalMs?: number) {
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock, latencyMs: 5, push });
  let filledAt = 0;
  broker.onAccepted((o) =>
    clock.setTimeout(() => {
      filledAt = clock.now();
      broker.fill(o.clientOrderId, o.quantity, 1.1);
    }, fillAfterMs),
  );
  const journal = new MemoryJournal(clock);
  // A poll-only venue is an adapter without `subscribe` (ScriptedBroker always has one).
  const adapter: BrokerAdapter = push
    ? broker
    : {
        name: 'poll-only',
        clientOrderIdDurability: 'durable',
        submitOrder: (r) => broker.submitOrder(r),
        cancelOrder: (r) => broker.cancelOrder(r),
        getOrder: (r) => broker.getOrder(r),
        getPosition: (s) => broker.getPosition(s),
        placeProtection: (r) => broker.placeProtection(r),
      };
  const engine = createEngine({ broker: adapter, clock, journal, logger: silentLogger(), ...(minPollIntervalMs !== undefined ? { minPollIntervalMs } : {}) });
  const result = await clock.run(engine.execute(snapshot()));
  expect(result.status).toBe('filled');
  const records = await journal.records();
  const seen = records.find((r) => r.kind === 'broker.response' && r.event === 'getOrder' && (r.payload as { status?: string }).status === 'filled');
  const pushed = records.find((r) => r.kind === 'transition' && r.event === 'ORDER_UPDATE' && r.to !== 'live.trading.working');
  const lookups = records.filter((r) => r.kind === 'broker.request' && r.event === 'getOrder').length;
  await engine.close();
  return { knownAfterMs: Date.parse((seen ?? pushed)!.at) - filledAt, lookups };
}

describe('adaptive polling', () => {
  it('poll-only venue: a fill in the first seconds is known within 100 ms', async () => {
    for (const after of [80, 700, 1_900, 2_950]) {
      const { knownAfterMs } = await fillSeen(false, after);
      expect(knownAfterMs, `fill ${after} ms after acceptance`).toBeLessThanOrEqual(100);
    }
  });

  it('poll-only venue: an order working for 25 s is looked up less and less often, not every 50 ms', async () => {
    const { lookups } = await fillSeen(false, 25_000);
    // 25 s at 50 ms would be 500 look-ups. Backing off: 30 in the first 1.5 s, about 70 while the
    // interval grows to 500 ms at 15 s, then 2 a second: about 120.
    expect(lookups).toBeGreaterThan(50);
    expect(lookups).toBeLessThan(150);
  });

  it('minPollIntervalMs at pollIntervalMs: a fixed interval, for venues with strict rate limits', async () => {
    const { knownAfterMs, lookups } = await fillSeen(false, 1_900, 500);
    expect(knownAfterMs).toBeGreaterThan(100);
    expect(lookups).toBeLessThanOrEqual(6);
  });

  it('a venue that pushes is polled at the interval only, and the push brings the fill at once', async () => {
    const { knownAfterMs, lookups } = await fillSeen(true, 1_900);
    expect(knownAfterMs).toBeLessThanOrEqual(10);
    expect(lookups).toBeLessThanOrEqual(6); // every 500 ms for under 2 s, plus reconciliation's one
  });
});
