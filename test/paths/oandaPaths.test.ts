/**
 * The path suite's paths replayed through OandaBroker and the offline v20 venue: the same
 * transition tour of the machine's graph (a venue that keeps client ids among open orders only,
 * as OANDA does), restricted to the paths OANDA can take (`oandaCannotExpress` says why the others
 * cannot), and of those the fewest that take every chart-level edge. After every step the live
 * state must be the path's, the safety invariants and protection keeping up with the fills must
 * hold, and no open trade at the venue may be without its stop.
 */
import { describe, expect, it } from 'vitest';
import { executionMachine } from '../../machines/execution.machine.js';
import { snapshot, T0 } from '../support/fixtures.js';
import { coveringPaths, explore, modelMachine, serializeSnapshot, transitionTour, type ModelPath } from './model.js';
import { oandaCannotExpress, OandaPathBroker, orderFoundAfter } from './oandaBroker.js';
import { replayPath, type ReplayCoverage } from './replay.js';

const coverage: ReplayCoverage = { states: new Set(), transitions: new Set() };
const reasons = new Map<string, number>();
let tourSize = 0;

type Recovery = { clientOrderId: string; deadlineAt: number; submitAttempts: number };

function oandaPaths(frozen: ReturnType<typeof snapshot>, recovery?: Recovery): ModelPath[] {
  const adj = explore(modelMachine({ durability: 'openOrdersOnly' }), { snapshot: frozen, ...(recovery ? { recovery } : {}) });
  const tour = transitionTour(adj, serializeSnapshot(Object.values(adj)[0]!.state));
  tourSize += tour.length;
  const expressible = tour.filter((p) => {
    const why = oandaCannotExpress(p, recovery !== undefined);
    if (why !== null) reasons.set(why, (reasons.get(why) ?? 0) + 1);
    return why === null;
  });
  return coveringPaths(expressible);
}

const buy = snapshot();
const sell = snapshot({ side: 'sell' });
// A restart: a previous process claimed the advisory and sent once, then died.
const recovery: Recovery = { clientOrderId: `wd-${buy.hash.slice(0, 24)}`, deadlineAt: T0 + 30_000, submitAttempts: 1 };
const models: { name: string; frozen: typeof buy; recovery?: Recovery; paths: ModelPath[] }[] = [
  { name: 'buy', frozen: buy, paths: oandaPaths(buy) },
  { name: 'sell', frozen: sell, paths: oandaPaths(sell) },
  { name: 'restart', frozen: buy, recovery, paths: oandaPaths(buy, recovery) },
];
const label = (p: ModelPath) => p.steps.map((s) => s.event.type.replace(/^xstate\.(done|error)\.actor\./, '$1:').replace(/^xstate\.after\.([^.]+)\..*/, 'after:$1')).join(' → ') || '(settles at once)';

for (const m of models) {
  describe(`paths through OandaBroker and the offline v20 venue: ${m.name}`, () => {
    for (const [i, path] of m.paths.entries()) {
      it(`#${i + 1} ${label(path)}`, async () => {
        let venue: OandaPathBroker | null = null;
        await replayPath({
          path,
          input: m.frozen,
          snapshot: m.frozen,
          coverage,
          machine: executionMachine,
          durability: 'openOrdersOnly',
          ...(m.recovery ? { recovery: m.recovery } : {}),
          broker: async (clock) => {
            const previous = m.recovery ? { request: { clientOrderId: m.recovery.clientOrderId, symbol: buy.symbol, side: buy.side, quantity: buy.positionSize, type: 'market' as const }, exists: orderFoundAfter(path, -1) } : undefined;
            return (venue = await OandaPathBroker.start(() => clock.now(), previous));
          },
        });
        expect(venue!.venue.unprotected, 'an open trade without its stop').toEqual([]);
      });
    }
  });
}

describe('what the OANDA replay reached', () => {
  it('the paths OANDA can take cover the stop paths, protection as fills land, and reconciliation', () => {
    const replayed = models.reduce((n, m) => n + m.paths.length, 0);
    console.log(`\nOANDA paths: ${replayed} replayed, covering every chart-level edge of the ${tourSize - [...reasons.values()].reduce((a, b) => a + b, 0)} expressible paths of a ${tourSize}-path tour; not expressible: ${[...reasons].map(([why, n]) => `${n} × ${why}`).join('; ')}`);
    for (const state of ['execution.live.stopping.cancelling', 'execution.live.stopping.confirming', 'execution.live.trading.unconfirmed.lookingUp', 'execution.live.protecting', 'execution.live.protectionPause', 'execution.flagged', 'execution.completed']) {
      expect(coverage.states, state).toContain(state);
    }
  });
});
