/**
 * Every path of the execution statechart, generated from its graph and replayed live.
 * `WARDEN_PATHS=all npm test` replays the whole transition tour instead of the covering set
 * plus a fixed sample.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { executionMachine } from '../../machines/execution.machine.js';
import { iso, rawSnapshot, snapshot, T0 } from '../support/fixtures.js';
import { coveringPaths, DEFAULT_LIMIT_FACTS, explore, modelMachine, OPEN, serializeSnapshot, transitionTour, type ModelPath } from './model.js';
import type { LimitsInput } from '../../src/index.js';
import { resolveLimits, type LimitFacts } from '../../src/rules/limits.js';
import { parseLimits } from '../../src/domain/limits.js';
import { replayPath, transitionKey, type ReplayCoverage } from './replay.js';

const ALL = process.env.WARDEN_PATHS === 'all';
const COVERAGE_DOC = 'docs/coverage.md';

/** Transitions no generated path can take, and the test that takes them instead. */
const EXEMPT: Record<string, string> = {
  'execution | * | - | (stays)':
    'an event no state handles (e.g. one the chart does not know) can only come from a host that sends events to the machine itself, never through the engine; `test/engine/machine.test.ts` "reports an event no state handles instead of dropping it"',
  'execution.live.trading.unconfirmed.checkingResend | always | !notExpired | execution.live.stopping':
    'a snapshot that expires between its first send and a resend; the path model keeps one expiry far away, so `test/rules/retries/retries.test.ts` "expiry is re-checked before a retry" takes it',
  'execution.live.trading.unconfirmed.checkingResend | always | !snapshotHashIntact | execution.live.stopping':
    'rule 1 checked again before a resend: the snapshot is deep-frozen when it is read, so its hash cannot stop matching mid-execution (`test/rules/frozen-snapshot/frozenSnapshot.test.ts` "deep-freezes the snapshot"); the guard stays as the rule\'s own statement',
  'execution.checkingLimits | xstate.error.actor.readLimitFacts | - | execution.rejected':
    "the engine's limit book never rejects (a fact it cannot have is a fact, e.g. no quote); `test/limits/limits.test.ts` \"facts that cannot be read at all refuse the order, nothing sent\" provides a failing reader",
  'execution.live | xstate.error.actor.orderFeed | - | (stays)':
    'the push subscription fails when it is opened; the execution carries on by polling; `test/engine/engine.test.ts` "never throws on a broken adapter: a failing push feed degrades to polling, journaled"',
};
const SAMPLE = 120;
const coverage: ReplayCoverage = { states: new Set(), transitions: new Set() };
let replayed = 0;
let tourSize = 0;
const started = performance.now();

interface Model {
  readonly name: string;
  readonly input: unknown;
  readonly frozen: ReturnType<typeof snapshot> | null;
  readonly killSwitch?: 'warning' | 'active';
  readonly duplicate?: boolean;
  readonly recovery?: { clientOrderId: string; deadlineAt: number; submitAttempts: number };
  readonly durability?: 'durable' | 'openOrdersOnly';
  readonly limits?: LimitsInput;
  readonly paths: ModelPath[];
}

type ModelOptions = { killSwitch?: 'warning' | 'active'; duplicate?: boolean; recovery?: Model['recovery']; durability?: Model['durability']; limits?: LimitsInput; quotes?: LimitFacts['quote'][] };

function model(name: string, input: unknown, frozen: Model['frozen'], { quotes, ...options }: ModelOptions = {}): Model {
  const machine = modelMachine({ duplicate: options.duplicate ?? false, durability: options.durability ?? 'durable' });
  // With limits, the facts the engine's book gathers on an empty book: the symbol's limits, the venue open, and each quote offered.
  const limitFacts = options.limits
    ? (quotes ?? [null]).map((quote): LimitFacts => ({ ...OPEN, limits: resolveLimits(parseLimits(options.limits), 'EURUSD'), maxOrdersPerMinuteAll: parseLimits(options.limits).maxOrdersPerMinute ?? null, quote }))
    : DEFAULT_LIMIT_FACTS;
  const adj = explore(machine, { snapshot: input, ...(options.killSwitch ? { killSwitch: options.killSwitch } : {}), ...(options.recovery ? { recovery: options.recovery } : {}) }, limitFacts);
  const initialKey = serializeSnapshot(Object.values(adj)[0]!.state);
  const tour = transitionTour(adj, initialKey);
  tourSize += tour.length;
  if (ALL) return { name, input, frozen, ...options, paths: tour };
  const cover = coveringPaths(tour);
  // A fixed-seed sample of the rest of the tour: many more combinations of facets.
  const indices = fc.sample(fc.nat({ max: Math.max(0, tour.length - 1) }), { numRuns: Math.min(SAMPLE, tour.length), seed: 20261124 });
  const sample = [...new Set(indices)].map((i) => tour[i]!);
  return { name, input, frozen, ...options, paths: [...cover, ...sample.filter((p) => !cover.includes(p))] };
}

const buy = snapshot();
const sell = snapshot({ side: 'sell' });
const models: Model[] = [
  model('buy', buy, buy),
  model('sell', sell, sell),
  model('invalid input', rawSnapshot({ positionSize: -1 }), null),
  model('tampered', { ...buy, positionSize: 99 }, null),
  model('not approved', snapshot({ approval: null }), null),
  model('expired', snapshot({ createdAt: iso(T0 - 7_200_000), expiresAt: iso(T0 - 1), approval: { approvedBy: 'a', approvedAt: iso(T0 - 3_600_000) } }), null),
  model('duplicate', buy, buy, { duplicate: true }),
  model('kill switch warning before', buy, buy, { killSwitch: 'warning' }),
  model('kill switch active before', buy, buy, { killSwitch: 'active' }),
  // A restart: a previous process claimed the advisory and sent once, then died.
  model('restart', buy, buy, { recovery: { clientOrderId: `wd-${buy.hash.slice(0, 24)}`, deadlineAt: T0 + 30_000, submitAttempts: 1 } }),
  // A venue that keeps client ids only among open orders (Binance): an unconfirmed order is never resent.
  model('buy on an open-orders-only venue', buy, buy, { durability: 'openOrdersOnly' }),
  model('restart on an open-orders-only venue', buy, buy, { durability: 'openOrdersOnly', recovery: { clientOrderId: `wd-${buy.hash.slice(0, 24)}`, deadlineAt: T0 + 30_000, submitAttempts: 1 } }),
  // Pre-trade limits, each broken by the order (10 EURUSD at 1.1): refused before the claim, nothing sent.
  model('buy above maxQuantity', buy, buy, { limits: { symbols: { '*': { maxQuantity: 9 } } } }),
  model('buy above maxNotional', buy, buy, { limits: { symbols: { EURUSD: { maxNotional: 10.9 } } } }),
  model('buy above maxPosition', buy, buy, { limits: { symbols: { '*': { maxPosition: 9 } } } }),
  model('buy above maxOrdersPerMinute', buy, buy, { limits: { symbols: {}, maxOrdersPerMinute: 0 } }),
  model('buy outside the price collar', buy, buy, {
    limits: { symbols: { '*': { priceCollarPct: 0.01 } } },
    quotes: [{ kind: 'quoted', bid: 1.119, ask: 1.12 }, { kind: 'none', reason: 'no answer within 2000 ms' }],
  }),
];

const label = (p: ModelPath) => p.steps.map((s) => s.event.type.replace(/^xstate\.(done|error)\.actor\./, '$1:').replace(/^xstate\.after\.([^.]+)\..*/, 'after:$1')).join(' → ') || '(settles at once)';

for (const m of models) {
  describe(`paths from ${m.name}`, () => {
    for (const [i, path] of m.paths.entries()) {
      it(`#${i + 1} ${label(path)}`, async () => {
        await replayPath({
          path,
          input: m.input,
          snapshot: m.frozen,
          coverage,
          machine: executionMachine,
          ...(m.killSwitch ? { killSwitch: m.killSwitch } : {}),
          ...(m.duplicate ? { duplicate: true } : {}),
          ...(m.recovery ? { recovery: m.recovery } : {}),
          ...(m.durability ? { durability: m.durability } : {}),
          ...(m.limits ? { limits: m.limits } : {}),
        });
        replayed++;
      });
    }
  });
}

describe('coverage of the statechart', () => {
  it('every state and every transition of the machine was taken by a replayed path', () => {
    const allStates: string[] = [];
    const allTransitions: string[] = [];
    const walk = (node: typeof executionMachine.root) => {
      allStates.push(node.id);
      for (const t of [...(node.always ?? []), ...[...node.transitions.values()].flat()]) allTransitions.push(transitionKey(t as never));
      for (const child of Object.values(node.states)) walk(child as typeof executionMachine.root);
    };
    walk(executionMachine.root);
    const uncoveredStates = allStates.filter((s) => !coverage.states.has(s));
    const notTaken = allTransitions.filter((t) => !coverage.transitions.has(t));
    const uncoveredTransitions = notTaken.filter((t) => !EXEMPT[t]);
    const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(1)} %`;
    const taken = allTransitions.length - notTaken.length;
    const statesLine = `${allStates.length - uncoveredStates.length} / ${allStates.length} (${pct(allStates.length - uncoveredStates.length, allStates.length)})`;
    const transitionsLine = `${taken} / ${allTransitions.length} (${pct(taken, allTransitions.length)}) taken by replayed paths, ${notTaken.length - uncoveredTransitions.length} proven by their own tests, ${uncoveredTransitions.length} uncovered`;
    const summary = `paths replayed: ${replayed} of a ${tourSize}-path transition tour; states ${statesLine}; transitions ${transitionsLine}`;
    console.log(`\n${summary}  [${((performance.now() - started) / 1000).toFixed(1)} s]`);
    const doc = [
      '# Statechart coverage',
      '',
      '<!-- Generated by `npm run docs` from the path suite (test/paths/paths.test.ts); `npm test` fails when it is out of date. Do not edit by hand. -->',
      '',
      'Paths are generated from the graph of `executionMachine` with `xstate/graph` (`getAdjacencyMap`), over a',
      'finite abstraction of its context (state value, kill switch, deadline, order status and fill, attempt counters,',
      'uncertain outcome, protection). Every edge of that graph is on a path of the *transition tour*: the shortest path',
      'to the edge, the edge, and the shortest way on to a final state. `npm test` replays a covering subset, in which every',
      'distinct chart-level edge appears, plus a fixed-seed sample of the rest; `WARDEN_PATHS=all npm test` replays the',
      'whole tour. Each path is replayed against a live engine (XState `SimulatedClock`, a broker that answers exactly as',
      'the path says), the state is compared after every step, and the safety invariants are checked after every step.',
      'Coverage below counts the transitions the *live* actor took, as reported by its own `@xstate.microstep` events.',
      '',
      '| measure | value |',
      '|---|---|',
      `| paths in the transition tour | ${tourSize} |`,
      `| paths replayed by \`npm test\` | ${ALL ? 'all' : replayed} |`,
      `| states covered | ${statesLine} |`,
      `| transitions covered | ${transitionsLine} |`,
      '',
      '## Not covered',
      '',
      ...(uncoveredStates.length + uncoveredTransitions.length === 0
        ? ['Nothing else: every other state and transition of the machine was taken by a replayed path.']
        : [...uncoveredStates.map((s) => `- state \`${s}\``), ...uncoveredTransitions.map((t) => `- transition \`${t}\``)]),
      '',
      '## Outside the graph, proven elsewhere',
      '',
      'These transitions react to failures that cannot be injected into a running execution from outside, so no',
      'generated path takes them. Each has its own test:',
      '',
      ...Object.entries(EXEMPT).map(([t, why]) => `- \`${t}\`: ${why}`),
      '',
    ].join('\n');
    const planned = models.reduce((n, m) => n + m.paths.length, 0);
    // Only a complete default run speaks for the report (not a filtered run, not the full soak):
    // `npm run docs` writes it; every other run checks that it is current.
    if (!ALL && replayed === planned) {
      if (process.env.WARDEN_WRITE_DOCS === '1') writeFileSync(COVERAGE_DOC, doc);
      else expect(readFileSync(COVERAGE_DOC, 'utf8'), `${COVERAGE_DOC} is out of date: run npm run docs`).toBe(doc);
    }
    expect(uncoveredStates).toEqual([]);
    expect(uncoveredTransitions).toEqual([]);
    // An exemption that a path now takes is stale: keep the list honest.
    expect(Object.keys(EXEMPT).filter((t) => coverage.transitions.has(t) || !allTransitions.includes(t))).toEqual([]);
  });
});
