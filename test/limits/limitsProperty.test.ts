/**
 * Property: whatever executions arrive, in whatever order and overlap, with fills arriving late
 * (after the deadline, in the cancel race) or not at all, the venue's position on the symbol never
 * goes past `maxPosition`. And the pure position rule, on its own.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine, type ExecutionResult } from '../../src/index.js';
import { ScriptedBroker, VirtualClock, type CancelStep } from '../../src/testing/index.js';
import { limitProblem, loosenings, NO_LIMIT_FACTS, positionReach } from '../../src/rules/limits.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

const execution = fc.record({
  side: fc.constantFrom('buy' as const, 'sell' as const),
  size: fc.integer({ min: 1, max: 15 }),
  startAfterMs: fc.integer({ min: 0, max: 40_000 }),
  /** What fills before the deadline: nothing, half, or all of it. */
  fill: fc.constantFrom(0, 0.5, 1),
  fillAfterMs: fc.integer({ min: 0, max: 35_000 }),
});

describe('maxPosition under any sequence of executions', () => {
  it('no sequence of executions, overlapping or not, with late fills, puts the venue position past maxPosition', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 10, max: 30 }),
        fc.array(execution, { minLength: 1, maxLength: 8 }),
        // At the deadline the order is cancelled; in the race the rest may fill first (a late fill).
        fc.array(fc.constantFrom<CancelStep>({ kind: 'apply' }, { kind: 'tooLate', price: 1.1 }), { maxLength: 8 }),
        async (maxPosition, executions, cancels) => {
          const clock = new VirtualClock(T0);
          const broker = new ScriptedBroker({ clock, latencyMs: 5, push: true });
          broker.script.cancel.push(...cancels);
          let worst = 0;
          const watch = () => void (worst = Math.max(worst, Math.abs(broker.venue.position('EURUSD').quantity)));
          const fill = broker.venue.fill.bind(broker.venue);
          const fillRemaining = broker.venue.fillRemaining.bind(broker.venue);
          broker.venue.fill = (...args) => {
            const r = fill(...args);
            watch();
            return r;
          };
          broker.venue.fillRemaining = (...args) => {
            const r = fillRemaining(...args);
            watch();
            return r;
          };
          const engine = createEngine({ broker, clock, logger: silentLogger(), pollIntervalMs: 500, limits: { symbols: { '*': { maxPosition } } } });
          broker.onAccepted((o) => {
            const i = orders.get(o.clientOrderId);
            const e = i === undefined ? undefined : executions[i];
            if (e && e.fill > 0) clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity * e.fill, 1.1), e.fillAfterMs);
          });
          const orders = new Map<string, number>();
          const started: Promise<ExecutionResult>[] = executions.map(
            (e, i) =>
              new Promise<ExecutionResult>((resolve) =>
                clock.setTimeout(() => {
                  const s = snapshot({ advisoryId: `adv-${i}`, side: e.side, positionSize: e.size });
                  orders.set(`wd-${s.hash.slice(0, 24)}`, i);
                  resolve(engine.execute(s));
                }, e.startAfterMs),
              ),
          );
          const results = await clock.run(Promise.all(started));
          await engine.close();
          expect(worst).toBeLessThanOrEqual(maxPosition + 1e-9);
          // Refused here: by the position limit, or by a reconciliation hold (a netting venue flags a flipped position's protection).
          for (const r of results.filter((x) => x.status === 'rejected')) expect(['limit_position', 'kill_switch_active']).toContain(r.error?.code);
        },
      ),
      { numRuns: 40, seed: 20261205 },
    );
  }, 60_000);
});

describe('the position rule, on its own', () => {
  const s = (side: 'buy' | 'sell', positionSize: number) => snapshot({ side, positionSize });
  const facts = (net: number, openBuys = 0, openSells = 0) => ({ ...NO_LIMIT_FACTS, limits: { maxPosition: 20 }, position: { net, openBuys, openSells } });

  it('counts open orders on the same side only, in the direction of the order', () => {
    expect(positionReach('buy', 5, { net: 10, openBuys: 20, openSells: 7 })).toEqual({ before: 30, after: 35 });
    expect(positionReach('sell', 5, { net: 10, openBuys: 20, openSells: 7 })).toEqual({ before: 3, after: -2 });
    expect(limitProblem('position', s('buy', 5), facts(10, 5, 100))).toBeNull(); // 10 + 5 + 5 = 20
    expect(limitProblem('position', s('buy', 5), facts(10, 6, 0))?.code).toBe('limit_position');
  });

  it('never refuses an order that leaves the exposure no larger, even past a tightened limit', () => {
    expect(limitProblem('position', s('sell', 5), facts(30))).toBeNull(); // 30 → 25: reduces
    expect(limitProblem('position', s('sell', 60), facts(30))).toBeNull(); // 30 → -30: no larger
    expect(limitProblem('position', s('sell', 61), facts(30))?.code).toBe('limit_position'); // 30 → -31: larger
    expect(limitProblem('position', s('buy', 1), facts(30))?.code).toBe('limit_position');
  });

  it('a change that only tightens has no loosenings; removing or raising any limit is one', () => {
    const current = { symbols: { '*': { maxQuantity: 10 }, EURUSD: { maxPosition: 50 } }, maxOrdersPerMinute: 5 };
    expect(loosenings(current, { symbols: { '*': { maxQuantity: 9 }, EURUSD: { maxPosition: 50, maxNotional: 1 } }, maxOrdersPerMinute: 5 })).toEqual([]);
    expect(loosenings(current, { symbols: { '*': { maxQuantity: 10 } }, maxOrdersPerMinute: 5 })).toEqual(['symbols.EURUSD.maxPosition: 50 → none']);
    expect(loosenings(current, { symbols: { '*': { maxQuantity: 10 }, EURUSD: { maxPosition: 50 } } })).toEqual(['maxOrdersPerMinute: 5 → none']);
  });
});
