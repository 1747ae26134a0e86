import { describe, expect, it } from 'vitest';
import { rules, type OrderReport } from '../../../src/index.js';
import { harness, snapshot } from '../../support/fixtures.js';
import { checkInvariants } from '../../support/invariants.js';

const { mergeOrderReport } = rules;
const r = (status: OrderReport['status'], filledQuantity: number, averageFillPrice: number | null = filledQuantity ? 1.1 : null): OrderReport => ({
  clientOrderId: 'c', brokerOrderId: 'b', status, filledQuantity, averageFillPrice,
});

describe('merging broker reports', () => {
  it('filled quantity never goes backwards', () => {
    expect(mergeOrderReport(r('partially_filled', 6), r('partially_filled', 4)).filledQuantity).toBe(6);
  });
  it('a stale "pending" after "filled" changes nothing', () => {
    expect(mergeOrderReport(r('filled', 10), r('pending', 0))).toEqual(r('filled', 10));
  });
  it('a fill reported after a cancel corrects it (the fill won the race)', () => {
    expect(mergeOrderReport(r('cancelled', 0), r('filled', 10)).status).toBe('filled');
    expect(mergeOrderReport(r('cancelled', 4), r('partially_filled', 4)).status).toBe('cancelled');
  });
  it('average price comes from the report with the most quantity', () => {
    expect(mergeOrderReport(r('partially_filled', 6, 1.2), r('partially_filled', 4, 1.0)).averageFillPrice).toBe(1.2);
    expect(mergeOrderReport(r('partially_filled', 4, 1.0), r('filled', 10, 1.15)).averageFillPrice).toBe(1.15);
  });
  it('a larger fill without a price keeps the smaller fill\'s price and says how much it covers, until a priced report covers more', () => {
    const stale = mergeOrderReport(r('partially_filled', 4, 1.0), r('filled', 10, null));
    expect(stale).toMatchObject({ filledQuantity: 10, averageFillPrice: 1.0, pricedQuantity: 4 });
    expect(rules.priceBehindFill(stale)).toBe(true);
    // A priced report of the same quantity covers more than the price held: it wins, and the view is whole again.
    const whole = mergeOrderReport(stale, r('filled', 10, 1.15));
    expect(whole).toEqual(r('filled', 10, 1.15));
    expect(rules.priceBehindFill(whole)).toBe(false);
    // A stale smaller report changes nothing.
    expect(mergeOrderReport(stale, r('partially_filled', 2, 0.9))).toEqual(stale);
    expect(rules.priceBehindFill(r('filled', 10, null))).toBe(true);
  });
  it('"pending" with a fill is partially filled', () => {
    expect(mergeOrderReport(null, r('pending', 3)).status).toBe('partially_filled');
  });
  it('duplicates are idempotent', () => {
    const once = mergeOrderReport(r('pending', 0), r('partially_filled', 5));
    expect(mergeOrderReport(once, r('partially_filled', 5))).toEqual(once);
  });
});

describe('duplicate, late and out-of-order reports in a live execution', () => {
  it('a fill pushed before the submit is acknowledged is kept', async () => {
    const h = harness({ latencyMs: 200 });
    const s = snapshot();
    // The venue fills immediately on acceptance; the push arrives before the submit answer.
    h.broker.onAccepted((o) => h.broker.fillRemaining(o.clientOrderId, 1.1));
    const result = await h.run(h.engine.execute(s));
    expect(result.status).toBe('filled');
    checkInvariants({ result, snapshot: s, journal: await h.engine.journal.records(), venue: h.broker.venue });
  });

  it('stale and duplicated pushes cannot undo a fill', async () => {
    const h = harness({ pollIntervalMs: 60_000 });
    const s = snapshot();
    h.broker.onAccepted((o) => {
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 10, 1.1), 100);
      h.clock.setTimeout(() => {
        h.broker.push({ clientOrderId: o.clientOrderId, brokerOrderId: 'P-1', status: 'pending', filledQuantity: 0, averageFillPrice: null });
        h.broker.push({ clientOrderId: o.clientOrderId, brokerOrderId: 'P-1', status: 'partially_filled', filledQuantity: 3, averageFillPrice: 1.0 });
      }, 101);
    });
    const result = await h.run(h.engine.execute(s));
    expect(result.status).toBe('filled');
    expect(result.fillPrice).toBe(1.1);
    expect(result.filledQuantity).toBe(10);
  });

  it('fills are found by polling when the broker has no push', async () => {
    const h = harness({ push: false, pollIntervalMs: 500 });
    const s = snapshot();
    h.fillOnAccept(1_200, 1.1);
    const result = await h.run(h.engine.execute(s));
    expect(result.status).toBe('filled');
    expect(h.broker.callsOf('getOrder').length).toBeGreaterThanOrEqual(3);
  });

  it('reports for other orders and unreadable reports are ignored, and the latter journaled', async () => {
    const h = harness({ pollIntervalMs: 60_000 });
    const s = snapshot();
    h.broker.onAccepted((o) => {
      h.clock.setTimeout(() => {
        h.broker.push({ clientOrderId: 'someone-else', brokerOrderId: 'X', status: 'filled', filledQuantity: 10, averageFillPrice: 9 });
        h.broker.push({ clientOrderId: o.clientOrderId, brokerOrderId: 'P-1', status: 'filled', filledQuantity: -5, averageFillPrice: 9 } as OrderReport);
      }, 50);
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 10, 1.1), 100);
    });
    const result = await h.run(h.engine.execute(s));
    expect(result.fillPrice).toBe(1.1);
    const unhandled = (await h.engine.journal.records()).filter((x) => x.kind === 'unhandled_event');
    expect(unhandled.map((x) => x.event)).toContain('REPORT_INVALID');
  });
});
