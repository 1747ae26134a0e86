/**
 * Random venue faults through ccxt: lost answers before and after acceptance, look-ups that lag
 * or fail, cancels that fail or lose the race with a fill, protection and reconciliation
 * failures, fills at random times, a kill switch at a random time. Whatever happens, the venue
 * must end with at most one order of at most the approved size, and every filled quantity
 * protected at the venue or flagged for a human.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { protectiveLevels } from '../../src/rules/protection.js';
import { snapshot } from '../support/fixtures.js';
import { venueEngine } from './connect.js';
import type { Fault, OrderScript } from './fakeBinanceUsdm.js';

const SIZE = 0.01;
const unavailable: Fault = { status: 503, code: -1007, msg: 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.' };
const lagging: Fault = { status: 400, code: -2013, msg: 'Order does not exist.' };
const internal: Fault = { status: 500, code: -1001, msg: 'Internal error; unable to process your request. Please try again.' };

const scriptArb: fc.Arbitrary<OrderScript> = fc.oneof(
  fc.record({ kind: fc.constant('fill' as const), quantity: fc.constantFrom(0.01, 0.004, 0.009), then503: fc.boolean() }),
  fc.record({ kind: fc.constant('rest' as const), then503: fc.boolean() }),
  fc.constant({ kind: 'reject' as const, code: -2019, msg: 'Margin is insufficient.' }),
);
const faultArb = fc.record({
  method: fc.constantFrom('POST', 'GET', 'DELETE'),
  path: fc.constantFrom('/fapi/v1/order', '/fapi/v1/algoOrder', '/fapi/v3/positionRisk', '/fapi/v1/openAlgoOrders'),
  fault: fc.constantFrom(unavailable, lagging, internal),
});
const caseArb = fc.record({
  script: scriptArb,
  faults: fc.array(faultArb, { maxLength: 5 }),
  /** A later fill of whatever is still working, at this virtual time (ms after start). */
  fillAt: fc.option(fc.integer({ min: 100, max: 40_000 })),
  killAt: fc.option(fc.integer({ min: 0, max: 35_000 })),
  fillRacesCancel: fc.boolean(),
});

describe('random venue faults through ccxt (fixed seed)', () => {
  it('the venue never holds a second order or an unprotected, unflagged fill', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { fake, clock, engine, run, check, close } = await venueEngine();
        try {
          fake.script(c.script);
          for (const f of c.faults) fake.failNext(f.method, f.path, f.fault);
          const s = snapshot({ symbol: 'BTC/USDT:USDT', positionSize: SIZE, referencePrice: 97_000 });
          const working = () => fake.requests.find((r) => r.method === 'POST' && r.path === '/fapi/v1/order')?.params.newClientOrderId;
          const fillWorking = () => {
            const id = working();
            const order = id ? fake.ordersFor(id).find((o) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED') : undefined;
            if (order) fake.fill(id!, order.origQty - order.executedQty, 97_020);
          };
          if (c.fillAt !== null) clock.setTimeout(fillWorking, c.fillAt);
          if (c.killAt !== null) clock.setTimeout(() => engine.killSwitch.set('active', { reason: 'random', operator: 'soak' }), c.killAt);
          if (c.fillRacesCancel) fake.beforeNext('DELETE', '/fapi/v1/order', fillWorking);

          const result = await run(engine.execute(s));
          await check(result, s);

          const order = fake.ordersFor(result.clientOrderId ?? '')[0];
          const filled = order?.executedQty ?? 0;
          expect(filled).toBeLessThanOrEqual(SIZE);
          expect(fake.positionAmount('BTCUSDT')).toBeCloseTo(filled, 9);
          if (filled > 0 && !result.requiresManualResolution) {
            // Protected at the venue: both legs working, reduce-only, for everything filled, at
            // the levels from the venue's own average price, within a tick.
            const average = order!.cumQuote / filled;
            const want = protectiveLevels('buy', average, s.slOffsetPct, s.tpOffsetPct);
            const legs = fake.openAlgoOrders('BTCUSDT');
            const sl = legs.filter((l) => l.orderType === 'STOP_MARKET');
            const tp = legs.filter((l) => l.orderType === 'TAKE_PROFIT_MARKET');
            expect(sl).toHaveLength(1);
            expect(tp).toHaveLength(1);
            expect(sl[0]).toMatchObject({ side: 'SELL', reduceOnly: true, quantity: filled });
            expect(tp[0]).toMatchObject({ side: 'SELL', reduceOnly: true, quantity: filled });
            expect(Math.abs(sl[0]!.triggerPrice - want.stopLoss)).toBeLessThan(0.1);
            expect(Math.abs(tp[0]!.triggerPrice - want.takeProfit)).toBeLessThan(0.1);
          }
        } finally {
          await close();
        }
      }),
      // WARDEN_VENUE_RUNS and WARDEN_VENUE_SEED run a longer soak with the same property.
      { seed: Number(process.env.WARDEN_VENUE_SEED ?? 20261124), numRuns: Number(process.env.WARDEN_VENUE_RUNS ?? 60) },
    );
  }, 120_000);
});
