/**
 * The execution machine's graph, explored with xstate/graph, and the paths the suite replays.
 *
 * Vertices are machine snapshots abstracted to what the guards can see (state value, kill
 * switch, deadline, order status and fill bucket, attempt counters, …), so the graph is finite.
 * Paths form a transition tour: for every edge (v, e, v'), the shortest path to v, then e,
 * then the shortest way from v' to a final state. Every edge of the graph is on some path.
 */
import { getAdjacencyMap } from 'xstate/graph';
import type { SnapshotFrom } from 'xstate';
import { createExecutionMachine, type ExecutionEvent } from '../../machines/execution.machine.js';
import { BrokerError, type OrderReport } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { T0 } from '../support/fixtures.js';
import { NO_LIMIT_FACTS, type LimitFacts } from '../../src/rules/limits.js';
import { priceBehindFill } from '../../src/rules/orderReports.js';

export type ModelMachine = ReturnType<typeof createExecutionMachine>;
export type ModelSnapshot = SnapshotFrom<ModelMachine>;
/** Events of the model: the machine's own plus the actor and delay events the graph cannot derive. */
export type ModelEvent = ExecutionEvent | { type: string; output?: unknown; error?: unknown; variant?: 'matched' | 'mismatch' };

export const FILL_PRICE = 1.1002;
export const PARTIAL_PRICE = 1.1001;

/** A machine for exploration only: a frozen clock, and a registry that knows `claimed` advisories. */
export function modelMachine(options: { duplicate?: boolean; durability?: 'durable' | 'openOrdersOnly' } = {}): ModelMachine {
  const refuse = () => Promise.reject(new Error('the model machine never calls a broker'));
  return createExecutionMachine({
    broker: { name: 'model', clientOrderIdDurability: options.durability ?? 'durable', submitOrder: refuse, cancelOrder: refuse, getOrder: refuse, getPosition: refuse, placeProtection: refuse },
    clock: new VirtualClock(T0),
    advisories: { has: () => options.duplicate === true, claim: () => undefined },
  });
}

const done = (id: string, output: unknown): ModelEvent => ({ type: `xstate.done.actor.${id}`, output });
const fail = (id: string, error: unknown): ModelEvent => ({ type: `xstate.error.actor.${id}`, error });
const after = (delay: string, stateId: string): ModelEvent => ({ type: `xstate.after.${delay}.${stateId}` });
export const definitive = () => new BrokerError('refused by venue', { retryable: false, code: 'refused' });
export const unknownOutcome = () => new BrokerError('connection reset', { retryable: true, code: 'network' });

/**
 * What the engine gathers for the limits on a venue that can say whether it trades (and quote, in
 * models with a collar): the facts a path's `readLimitFacts` answers with. The default: no limits,
 * the venue open — or closed.
 */
export const OPEN: LimitFacts = { ...NO_LIMIT_FACTS, tradable: { kind: 'open' } };
export const DEFAULT_LIMIT_FACTS: readonly LimitFacts[] = [OPEN, { ...NO_LIMIT_FACTS, tradable: { kind: 'closed', reason: 'the venue says it is closed or halted' } }];

/** Every event that could matter in `snap`, with payloads consistent with its context. */
export function eventsFor(snap: ModelSnapshot, limitFacts: readonly LimitFacts[] = DEFAULT_LIMIT_FACTS): ModelEvent[] {
  const c = snap.context;
  const s = c.snapshot;
  if (!s || !c.clientOrderId) return [];
  const size = s.positionSize;
  const filled = c.order?.filledQuantity ?? 0;
  const price = c.order?.averageFillPrice ?? null;
  const report = (status: OrderReport['status'], filledQuantity: number, averageFillPrice: number | null): OrderReport => ({
    clientOrderId: c.clientOrderId!, brokerOrderId: 'B-1', status, filledQuantity, averageFillPrice: filledQuantity > 0 ? averageFillPrice : null,
  });
  const where = JSON.stringify(snap.value);
  const at = (...names: string[]) => names.some((n) => where.includes(`"${n}"`));
  const open = c.order === null || !['filled', 'cancelled', 'rejected'].includes(c.order.status);
  const events: ModelEvent[] = [];
  const plan = c.protection.kind === 'none' ? null : c.protection.plan;
  // The pre-trade limits, judged on what the venue and the engine's book say.
  if (at('checkingLimits')) for (const facts of limitFacts) events.push(done('readLimitFacts', facts));
  // The claim: recorded, or held by another engine sharing the store.
  if (at('claiming')) events.push(done('claimAdvisory', undefined), fail('claimAdvisory', new BrokerError('claimed by another engine', { retryable: false, code: 'duplicate_advisory' })));
  if (at('submitting')) {
    events.push(done('submitOrder', report('pending', 0, null)), done('submitOrder', report('rejected', 0, null)), fail('submitOrder', definitive()), fail('submitOrder', unknownOutcome()));
  }
  if (at('lookingUp')) events.push(done('lookupOrder', report('pending', 0, null)), done('lookupOrder', null), fail('lookupOrder', unknownOutcome()));
  if (at('retryPause')) events.push(after('retryBackoff', 'execution.live.trading.unconfirmed.retryPause'));
  if (at('lookupPause')) events.push(after('retryBackoff', 'execution.live.trading.unconfirmed.lookupPause'));
  // (Not while a fill's protection is out: replayed, the 30 s jump would outlast its call limit.)
  // A protection retry is due first (the replay starts every later timer after it): no other timer
  // may run out before it, or the live engine would take the retry the path does not show.
  const retryDue = c.protection.kind === 'failed' && c.protection.retrying;
  if (at('trading') && !c.deadline?.passed && c.protection.kind !== 'planned' && !retryDue) events.push(after('hardTimeout', 'execution.live.trading'));
  if (at('cancelPause') && !retryDue) events.push(after('cancelRetryDelay', 'execution.live.stopping.cancelPause'));
  if (at('watching') && !retryDue) events.push(after('retryBackoff', 'execution.live.stopping.watching'));
  if (at('protectionPause')) events.push(after('protectionRetryDelay', 'execution.live.protectionPause'));
  // Fills arrive by push while the order can still fill: before the answer, while working, while stopping.
  // …and while its outcome is unknown (looking up, pausing, about to resend, watching after a cancel), where a push proves it exists.
  if (open && at('submitting', 'working', 'cancelling', 'confirming', 'lookingUp', 'lookupPause', 'retryPause', 'watching')) {
    if (filled === 0) events.push({ type: 'ORDER_UPDATE', report: report('partially_filled', size / 2, PARTIAL_PRICE) });
    events.push({ type: 'ORDER_UPDATE', report: report('filled', size, FILL_PRICE) });
    if (c.order !== null) events.push({ type: 'ORDER_UPDATE', report: report('cancelled', filled, price) });
    // A broker that reports a fill without its price: never guessed.
    if (at('working')) events.push({ type: 'ORDER_UPDATE', report: { ...report('filled', size, null), averageFillPrice: null } });
    // An unreadable push for this order: journaled, changes nothing.
    events.push({ type: 'REPORT_INVALID', problem: 'unreadable pushed report' });
  }
  // A poll that fails while the order works: journaled, changes nothing.
  if (at('working') && !retryDue) events.push({ type: 'POLL_FAILED', error: 'connection reset' });
  // One kill switch change per path is enough to reach every guard: off → warning/active, warning → active.
  if (snap.status === 'active' && c.killSwitch.state !== 'active' && !at('flagged')) {
    if (c.killSwitch.state === 'off') events.push({ type: 'KILL_SWITCH', state: 'warning' });
    events.push({ type: 'KILL_SWITCH', state: 'active' });
  }
  if (at('cancelling')) events.push(done('cancelOrder', report('cancelled', filled, price)), done('cancelOrder', report('filled', size, FILL_PRICE)), fail('cancelOrder', unknownOutcome()));
  if (at('confirming')) {
    events.push(
      done('confirmOrder', report('cancelled', filled, price)),
      done('confirmOrder', report(filled > 0 ? 'partially_filled' : 'pending', filled, price)),
      done('confirmOrder', null),
      fail('confirmOrder', unknownOutcome()),
    );
  }
  // Rule 2's look-up of the price of what filled: the order priced, still without its price, or no answer.
  if (at('pricing')) {
    const status = c.order?.status ?? 'filled';
    events.push(done('priceOrder', report(status, filled, FILL_PRICE)), done('priceOrder', report(status, filled, null)), fail('priceOrder', unknownOutcome()));
  }
  if (at('protecting')) {
    events.push(
      done('placeProtection', { clientOrderId: `${c.clientOrderId}-p`, status: 'placed', stopLoss: plan?.stopLoss ?? 1, takeProfit: plan?.takeProfit ?? 1, quantity: filled }),
      done('placeProtection', { clientOrderId: `${c.clientOrderId}-p`, status: 'rejected', stopLoss: null, takeProfit: null, quantity: 0, reason: 'refused' }),
      fail('placeProtection', unknownOutcome()),
      fail('placeProtection', definitive()),
    );
  }
  // Rule 2 as fills land: the answer to a fill's protection while the order works or stops.
  // Offered where the order works or stops (the same region-level handler answers in every state;
  // answering in each sub-state of an unknown outcome too would triple the graph for no new edge).
  // Read from the context: the graph's pure transitions never see the child finish.
  // And where the order is over and that request is the final one (awaitingProtection).
  const cover = c.protection.kind === 'planned' && at('working', 'cancelling', 'confirming', 'awaitingProtection') ? c.protection.plan : null;
  if (cover !== null) {
    events.push(
      done('protectFill', { clientOrderId: `${c.clientOrderId}-p`, status: 'placed', stopLoss: cover.stopLoss, takeProfit: cover.takeProfit, quantity: cover.quantity }),
      done('protectFill', { clientOrderId: `${c.clientOrderId}-p`, status: 'rejected', stopLoss: null, takeProfit: null, quantity: 0, reason: 'refused' }),
      fail('protectFill', definitive()),
    );
    // One unknown outcome and its retry are enough to take every edge.
    if (c.protection.kind === 'planned' && c.protection.attempts === 1) events.push(fail('protectFill', unknownOutcome()));
  }
  // The retry after an unknown outcome, wherever it can be waiting.
  if (retryDue && at('working', 'cancelling', 'confirming', 'cancelPause')) events.push({ type: 'PROTECTION_RETRY' });
  if (at('reconciling')) {
    events.push({ ...done('reconcile', observation(c, 'matched')), variant: 'matched' }, { ...done('reconcile', observation(c, 'mismatch')), variant: 'mismatch' }, fail('reconcile', unknownOutcome()));
  }
  return events;
}

/**
 * What the broker answers to reconciliation: exactly what Warden expects (`matched`), or a
 * position off by the order size (`mismatch`). Built from the context it is replayed against,
 * since the abstraction merges contexts that differ in prices.
 */
export function observation(c: ModelSnapshot['context'], variant: 'matched' | 'mismatch') {
  const s = c.snapshot!;
  const filled = c.order?.filledQuantity ?? 0;
  const signed = s.side === 'buy' ? filled : -filled;
  return {
    order: c.order ? { ...c.order } : null,
    position: {
      symbol: s.symbol,
      quantity: variant === 'matched' ? signed : signed + s.positionSize,
      averagePrice: filled > 0 ? (c.order?.averageFillPrice ?? null) : null,
      stopLoss: c.protection.kind === 'placed' ? c.protection.plan.stopLoss : null,
      takeProfit: c.protection.kind === 'placed' ? c.protection.plan.takeProfit : null,
    },
    others: { asked: 0, answered: 0 }, // no other execution on the symbol
  };
}

/** What the guards can see: two snapshots with the same key behave the same. */
export function serializeSnapshot(snap: ModelSnapshot): string {
  const c = snap.context;
  const size = c.snapshot?.positionSize ?? 1;
  const filled = c.order?.filledQuantity ?? 0;
  return JSON.stringify([
    snap.value,
    c.killSwitch.state,
    c.deadline?.passed ?? false,
    c.order?.status ?? 'none',
    filled === 0 ? 0 : filled >= size ? 2 : 1,
    c.send.attempts,
    c.cancel.attempts,
    c.protection.kind === 'none' ? 0 : c.protection.attempts,
    c.send.outcomeUncertain,
    c.protection.kind,
    // What protection was last asked to cover (the guard compares it with the fill), and whether a retry waits.
    c.protection.kind === 'none' || c.protection.plan === null ? 0 : c.protection.plan.quantity >= size ? 2 : 1,
    c.protection.kind === 'failed' && c.protection.retrying,
    c.send.pauseServed,
    // Rule 2's look-up: whether part of the fill has no price yet, and whether it was asked for at this quantity.
    c.order !== null && priceBehindFill(c.order),
    c.facts.priceAskedAt === filled,
  ]);
}

export const serializeEvent = (e: ModelEvent): string => {
  const { type, ...rest } = e as { type: string; variant?: string };
  if ('variant' in rest) return `${type} ${String(rest.variant)}`;
  return `${type} ${JSON.stringify(rest, (k, v) => (v instanceof Error ? { error: v.message, retryable: (v as BrokerError).retryable } : k === 'clientOrderId' ? undefined : v))}`;
};

/** The adjacency map xstate/graph builds, typed for this model. */
export type Adjacency = Record<string, { state: ModelSnapshot; transitions: Record<string, { event: ModelEvent; state: ModelSnapshot }> }>;

export interface ModelStep {
  readonly event: ModelEvent;
  readonly state: ModelSnapshot;
}

export interface ModelPath {
  readonly initial: ModelSnapshot;
  readonly steps: readonly ModelStep[];
}

export function explore(
  machine: ModelMachine,
  input: { snapshot: unknown; killSwitch?: 'off' | 'warning' | 'active'; recovery?: { clientOrderId: string; deadlineAt: number; submitAttempts: number } },
  limitFacts: readonly LimitFacts[] = DEFAULT_LIMIT_FACTS,
): Adjacency {
  return getAdjacencyMap(machine as never, {
    input: { ...input, executionId: 'model' },
    events: (s: ModelSnapshot) => eventsFor(s, limitFacts) as never,
    serializeState: (s: ModelSnapshot) => serializeSnapshot(s),
    serializeEvent: (e: ModelEvent) => serializeEvent(e),
    limit: 50_000_000,
  } as never) as unknown as Adjacency;
}

/** Events whose whole effect is to be handled (journaled) without a change of state. */
const SELF_LOOP_EVENTS = new Set(['REPORT_INVALID', 'POLL_FAILED']);

interface Edge {
  readonly from: string;
  readonly event: ModelEvent;
  readonly to: string;
}

/** The transition tour of an adjacency map: one path per edge, each ending in a final state. */
export function transitionTour(adj: Adjacency, initialKey: string): ModelPath[] {
  const keys = Object.keys(adj);
  const out = new Map<string, Edge[]>();
  const into = new Map<string, Edge[]>();
  const edges: Edge[] = [];
  for (const from of keys) {
    for (const t of Object.values(adj[from]!.transitions)) {
      const to = serializeSnapshot(t.state);
      // No observable change: nothing to replay, except the events the chart handles in place on purpose.
      if (to === from && !SELF_LOOP_EVENTS.has(t.event.type)) continue;
      const e = { from, event: t.event, to };
      edges.push(e);
      (out.get(from) ?? out.set(from, []).get(from)!).push(e);
      (into.get(to) ?? into.set(to, []).get(to)!).push(e);
    }
  }
  const parent = new Map<string, Edge | null>([[initialKey, null]]);
  for (const queue = [initialKey]; queue.length; ) {
    for (const e of out.get(queue.shift()!) ?? []) if (!parent.has(e.to)) {
      parent.set(e.to, e);
      queue.push(e.to);
    }
  }
  const next = new Map<string, Edge | null>();
  const finals = keys.filter((k) => adj[k]!.state.status === 'done');
  for (const k of finals) next.set(k, null);
  for (const queue = [...finals]; queue.length; ) {
    for (const e of into.get(queue.shift()!) ?? []) if (!next.has(e.from)) {
      next.set(e.from, e);
      queue.push(e.from);
    }
  }
  const step = (e: Edge): ModelStep => ({ event: e.event, state: adj[e.to]!.state });
  const paths: ModelPath[] = [];
  for (const e of edges) {
    if (!parent.has(e.from) || !next.has(e.to)) continue;
    const prefix: ModelStep[] = [];
    for (let p = parent.get(e.from); p; p = parent.get(p.from)) prefix.unshift(step(p));
    const suffix: ModelStep[] = [];
    for (let n = next.get(e.to); n; n = next.get(n.to)) suffix.push(step(n));
    paths.push({ initial: adj[initialKey]!.state, steps: [...prefix, step(e), ...suffix] });
  }
  if (paths.length === 0) paths.push({ initial: adj[initialKey]!.state, steps: [] });
  return paths;
}

/** A label for an edge at the level of the chart: state value, event (with its variant) and next state value. */
export function edgeLabel(from: ModelSnapshot, event: ModelEvent, to: ModelSnapshot): string {
  return `${JSON.stringify(from.value)} --${serializeEvent(event).replace(/"(stopLoss|takeProfit|quantity|filledQuantity|averageFillPrice|averagePrice)":[0-9.e-]+/g, '"$1":n')}--> ${JSON.stringify(to.value)}`;
}

/** Greedy cover: the fewest tour paths that together take every distinct chart-level edge. */
export function coveringPaths(paths: readonly ModelPath[]): ModelPath[] {
  const labelsOf = (p: ModelPath) => {
    const labels = new Set<string>();
    let prev = p.initial;
    for (const s of p.steps) {
      labels.add(edgeLabel(prev, s.event, s.state));
      prev = s.state;
    }
    return labels;
  };
  const candidates = paths.map((p) => ({ p, labels: labelsOf(p) }));
  const uncovered = new Set(candidates.flatMap((c) => [...c.labels]));
  const chosen: ModelPath[] = [];
  while (uncovered.size > 0) {
    let best = candidates[0]!;
    let bestGain = -1;
    for (const c of candidates) {
      let gain = 0;
      for (const l of c.labels) if (uncovered.has(l)) gain++;
      if (gain > bestGain || (gain === bestGain && c.p.steps.length < best.p.steps.length)) {
        best = c;
        bestGain = gain;
      }
    }
    if (bestGain <= 0) break;
    chosen.push(best.p);
    for (const l of best.labels) uncovered.delete(l);
  }
  return chosen;
}
