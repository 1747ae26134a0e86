/**
 * What the graph cannot see: guards that refuse produce no edge. These properties drive the
 * engine with random broker behaviour and random kill-switch and fill timing (fixed seed in
 * `npm test`) and check that nothing is ever sent after the kill switch or the deadline.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HARD_TIMEOUT_MS, type JournalRecord } from '../../src/index.js';
import type { CancelStep, LookupStep, SubmitStep } from '../../src/testing/index.js';
import { harness, snapshot } from '../support/fixtures.js';

const SEED = 20261124;
const RUNS = 150;

const submitStep: fc.Arbitrary<SubmitStep> = fc.oneof(
  fc.constant({ kind: 'accept' } as const),
  fc.constant({ kind: 'acceptThenFail' } as const),
  fc.constant({ kind: 'fail' } as const),
  fc.constant({ kind: 'refuse' } as const),
  fc.constant({ kind: 'rejectedReport' } as const),
);
const lookupStep: fc.Arbitrary<LookupStep> = fc.oneof(fc.constant({ kind: 'real' } as const), fc.constant({ kind: 'notFound' } as const), fc.constant({ kind: 'fail' } as const));
const cancelStep: fc.Arbitrary<CancelStep> = fc.oneof(fc.constant({ kind: 'apply' } as const), fc.constant({ kind: 'fail' } as const), fc.constant({ kind: 'tooLate', price: 1.1 } as const));

const scenario = fc.record({
  side: fc.constantFrom('buy' as const, 'sell' as const),
  latencyMs: fc.integer({ min: 1, max: 4_000 }),
  submits: fc.array(submitStep, { maxLength: 6 }),
  lookups: fc.array(lookupStep, { maxLength: 6 }),
  cancels: fc.array(cancelStep, { maxLength: 3 }),
  fillAfterMs: fc.option(fc.integer({ min: 0, max: 45_000 }), { nil: null }),
  fillFraction: fc.constantFrom(0.3, 0.5, 1),
  killAtMs: fc.option(fc.integer({ min: 0, max: 40_000 }), { nil: null }),
  killState: fc.constantFrom('warning' as const, 'active' as const),
  killScope: fc.constantFrom('global' as const, 'symbol' as const),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

async function run(sc: Scenario) {
  const h = harness({ latencyMs: sc.latencyMs });
  const s = snapshot({ side: sc.side });
  h.broker.script.submit.push(...sc.submits);
  h.broker.script.getOrder.push(...sc.lookups);
  h.broker.script.cancel.push(...sc.cancels);
  if (sc.fillAfterMs !== null) h.fillOnAccept(sc.fillAfterMs, 1.1, s.positionSize * sc.fillFraction);
  const p = h.engine.execute(s);
  if (sc.killAtMs !== null) {
    h.clock.setTimeout(
      () => h.engine.killSwitch.set(sc.killState, { ...(sc.killScope === 'symbol' ? { symbol: s.symbol } : {}), reason: 'property', operator: 'fc' }),
      sc.killAtMs,
    );
  }
  const result = await h.finish(s, p); // DESIGN §8 invariants, including the two below
  return { result, journal: await h.engine.journal.records() };
}

const submitsOf = (journal: JournalRecord[]) => journal.filter((r) => r.kind === 'broker.request' && r.event === 'submitOrder');

describe('properties over random broker behaviour', () => {
  it('no order is sent once the kill switch is set', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        const { journal } = await run(sc);
        const kill = journal.find((r) => r.kind === 'kill_switch');
        if (kill) for (const r of submitsOf(journal)) expect(r.sequence).toBeLessThan(kill.sequence);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('no order is sent at or after the deadline', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        const { journal } = await run(sc);
        const sends = submitsOf(journal).map((r) => Date.parse(r.at));
        for (const at of sends) expect(at - sends[0]!).toBeLessThan(HARD_TIMEOUT_MS);
      }),
      { seed: SEED + 1, numRuns: RUNS },
    );
  });

  it('whatever happens, a filled quantity ends protected or flagged, and never exceeds the snapshot', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        const { result } = await run(sc);
        expect(result.filledQuantity).toBeLessThanOrEqual(10);
        if (result.filledQuantity > 0) expect(result.protectionPlaced || result.requiresManualResolution).toBe(true);
      }),
      { seed: SEED + 2, numRuns: RUNS },
    );
  });
});
