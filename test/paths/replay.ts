/**
 * Replays a model path against a live engine: a real actor, XState's SimulatedClock, and a
 * DeferredBroker answering each call with the path's payload. After every step the live
 * state must equal the path's state and the safety invariants must hold.
 */
import { SimulatedClock, type AnyStateMachine } from 'xstate';
import { expect } from 'vitest';
import { pino } from 'pino';
import { createEngine, PROTECTION_RETRY_DELAY_MS, type BrokerAdapter, type ExecutionResult, type FrozenSnapshot, type LimitsInput, type OrderReport } from '../../src/index.js';
import type { LimitFacts } from '../../src/rules/limits.js';
import type { ExecutionContext } from '../../machines/execution.machine.js';
import { checkInvariants, checkProtectionKeepsUp, checkSafety } from '../support/invariants.js';
import { T0 } from '../support/fixtures.js';
import { DeferredBroker } from './deferredBroker.js';
import { ClaimingJournal } from './claimingJournal.js';
import { observation, type ModelEvent, type ModelPath } from './model.js';
import { guardLabel } from '../../scripts/machineDoc.js';

const INVOKE_METHOD: Record<string, 'submitOrder' | 'getOrder' | 'cancelOrder' | 'placeProtection'> = {
  submitOrder: 'submitOrder',
  lookupOrder: 'getOrder',
  confirmOrder: 'getOrder',
  priceOrder: 'getOrder',
  cancelOrder: 'cancelOrder',
  placeProtection: 'placeProtection',
  protectFill: 'placeProtection',
};

interface TransitionLike {
  source: { id: string };
  eventType: string;
  target?: { id: string }[];
  guard?: unknown;
}

/** Stable identity of a transition definition, shared by the live coverage and the machine's list. */
export const transitionKey = (t: TransitionLike): string =>
  `${t.source.id} | ${t.eventType || 'always'} | ${guardLabel(t.guard) || '-'} | ${(t.target ?? []).map((x) => x.id).join(',') || '(stays)'}`;

export interface ReplayCoverage {
  readonly states: Set<string>;
  readonly transitions: Set<string>;
}

const POLL_MS = 1_000;

/** What the replay needs from the adapter it drives: answers and pushes as the path says. */
export interface PathBroker extends BrokerAdapter {
  settle(method: 'submitOrder' | 'cancelOrder' | 'getOrder' | 'getPosition' | 'placeProtection' | 'isTradable' | 'getQuote', outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): void | Promise<void>;
  push(report: OrderReport): void | Promise<void>;
  waiting(method: 'getOrder'): number;
  beforeStep?(path: ModelPath, i: number): void;
  close?(): void | Promise<void>;
}

const flush = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

export async function replayPath(args: {
  path: ModelPath;
  input: unknown;
  snapshot: FrozenSnapshot | null;
  killSwitch?: 'off' | 'warning' | 'active';
  duplicate?: boolean;
  /** Replay as a restart: the journal holds this execution's claim and earlier sends, unfinished. */
  recovery?: { clientOrderId: string; deadlineAt: number; submitAttempts: number };
  coverage: ReplayCoverage;
  machine: AnyStateMachine;
  /** How far the replayed venue honours client order ids (default: durably). */
  durability?: 'durable' | 'openOrdersOnly';
  /** The engine's pre-trade limits. */
  limits?: LimitsInput;
  /** Another adapter answering as the path says (default: a DeferredBroker). */
  broker?: (clock: SimulatedClock) => Promise<PathBroker>;
}): Promise<ExecutionResult> {
  const { path, coverage } = args;
  const clock = new SimulatedClock();
  clock.set(T0);
  const broker: PathBroker = args.broker ? await args.broker(clock) : new DeferredBroker(args.durability ?? 'durable');
  try {
    return await replayWith(broker);
  } finally {
    await broker.close?.();
  }

  async function replayWith(broker: PathBroker): Promise<ExecutionResult> {
  let live: { value: unknown; context: ExecutionContext; status: string } | null = null;
  const journal = new ClaimingJournal(clock);
  if (args.recovery && args.snapshot) {
    const ids = { executionId: 'restarted-1', advisoryId: args.snapshot.advisoryId, snapshotHash: args.snapshot.hash };
    journal.append({ ...ids, kind: 'claim', payload: { snapshot: args.snapshot, clientOrderId: args.recovery.clientOrderId, deadlineAt: args.recovery.deadlineAt } });
    const request = { clientOrderId: args.recovery.clientOrderId, symbol: args.snapshot.symbol, side: args.snapshot.side, quantity: args.snapshot.positionSize, type: 'market' };
    for (let i = 0; i < args.recovery.submitAttempts; i++) journal.append({ ...ids, kind: 'broker.request', event: 'submitOrder', payload: request });
  }
  const engine = createEngine({
    journal,
    broker,
    clock,
    pollIntervalMs: POLL_MS, // polls only matter where a path fails one; their answers are never given otherwise
    logger: pino({ level: 'silent' }),
    ...(args.limits ? { limits: args.limits } : {}),
    inspect: (ev) => {
      if (ev.actorRef.sessionId !== ev.rootId) return;
      if (ev.type === '@xstate.snapshot') live = ev.snapshot as never;
      if (ev.type === '@xstate.microstep') {
        const snap = ev.snapshot as unknown as { _nodes?: { id: string }[] };
        for (const node of snap._nodes ?? []) coverage.states.add(node.id);
        for (const t of (ev as unknown as { _transitions: TransitionLike[] })._transitions) {
          coverage.transitions.add(transitionKey(t));
          coverage.states.add(t.source.id); // a state passed through within one macrostep (validating) is still entered
        }
      }
    },
  });
  if (args.killSwitch && args.killSwitch !== 'off') engine.killSwitch.set(args.killSwitch, { reason: 'path', operator: 'path' });
  if (args.duplicate && args.snapshot) {
    // The advisory is already executing on this engine: past its limits, being claimed.
    void engine.execute(args.snapshot);
    await flush();
    await broker.settle('isTradable', { ok: true, value: true });
    await flush();
  }

  const describe = (i: number) => `step ${i + 1}/${path.steps.length} (${path.steps[i]?.event.type})`;
  const resultPromise = args.recovery ? engine.recovery.then((r) => r[0]!) : engine.execute(args.input);
  await flush();
  expect(JSON.stringify(live!.value), 'initial state').toBe(JSON.stringify(path.initial.value));

  /** When the machine's protection retry (raised PROTECTION_RETRY_DELAY_MS after an unknown outcome) falls due. */
  let retryDueAt: number | null = null;
  for (const [i, step] of path.steps.entries()) {
    broker.beforeStep?.(path, i);
    await apply(step.event);
    await flush();
    const p = live!.context.protection;
    const waiting = p.kind === 'failed' && p.retrying;
    if (waiting && retryDueAt === null) {
      // The retry was just raised. A millisecond on, so any timer started from here on falls due
      // strictly after it, as the path has it: the retry is taken first.
      retryDueAt = clock.now() + PROTECTION_RETRY_DELAY_MS;
      clock.increment(1);
      await flush();
    }
    if (!waiting) retryDueAt = null;
    expect(JSON.stringify(live!.value), describe(i)).toBe(JSON.stringify(step.state.value));
    if (args.snapshot) {
      const journal = await engine.journal.records({ advisoryId: args.snapshot.advisoryId });
      checkSafety({ snapshot: args.snapshot, journal });
      checkProtectionKeepsUp({ journal, settled: false });
    }
  }
  const result = await resultPromise;
  if (args.snapshot) {
    checkInvariants({ result, snapshot: args.snapshot, journal: await engine.journal.records({ advisoryId: args.snapshot.advisoryId }) });
  }
  return result;

  async function apply(event: ModelEvent): Promise<void> {
    const type = event.type;
    const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
    if (actor) {
      const [, kind, id] = actor;
      const ok = kind === 'done';
      if (id === 'claimAdvisory') return journal.answerClaim(ok ? 'claimed' : 'duplicate');
      if (id === 'readLimitFacts') {
        // The venue answers what the path's facts say; the engine's own book supplies the rest.
        const facts = (event as { output: LimitFacts }).output;
        if (facts.quote !== null) {
          const q = facts.quote;
          await broker.settle('getQuote', q.kind === 'quoted' ? { ok: true, value: { bid: q.bid, ask: q.ask } } : { ok: false, error: new Error(q.reason) });
        }
        await broker.settle('isTradable', { ok: true, value: facts.tradable?.kind === 'open' });
        return;
      }
      const payload = ok ? (event as { output: unknown }).output : (event as { error: unknown }).error;
      if (id === 'reconcile') {
        const variant = (event as { variant?: 'matched' | 'mismatch' }).variant;
        const out = (variant ? observation(live!.context as never, variant) : payload) as { order: unknown; position: unknown };
        if (ok) {
          await broker.settle('getPosition', { ok: true, value: out.position });
          await broker.settle('getOrder', { ok: true, value: out.order });
        } else {
          await broker.settle('getPosition', { ok: false, error: payload });
        }
        return;
      }
      await broker.settle(INVOKE_METHOD[id!]!, ok ? { ok: true, value: payload } : { ok: false, error: payload });
      return;
    }
    const delayed = /^xstate\.after\.([^.]+)\./.exec(type);
    if (delayed) {
      // Time advances by what the live actor's own context says: the hard deadline it set, or the
      // length of the pause it is in. The machine's implementations are never consulted.
      const c = live!.context;
      clock.increment(delayed[1] === 'hardTimeout' ? Math.max(0, (c.deadline?.at ?? clock.now()) - clock.now()) : c.pauseMs);
      return;
    }
    switch (type) {
      case 'ORDER_UPDATE':
        await broker.push((event as { report: OrderReport }).report);
        return;
      case 'REPORT_INVALID':
        await broker.push({ clientOrderId: live!.context.clientOrderId!, brokerOrderId: 'B-1', status: 'filled', filledQuantity: -1, averageFillPrice: null } as OrderReport);
        return;
      case 'POLL_FAILED':
        if (broker.waiting('getOrder') === 0) {
          clock.increment(POLL_MS);
          await flush();
        }
        await broker.settle('getOrder', { ok: false, error: new Error('connection reset') });
        return;
      case 'KILL_SWITCH':
        engine.killSwitch.set((event as { state: 'warning' | 'active' }).state, { symbol: args.snapshot!.symbol, reason: 'path', operator: 'path' });
        return;
      case 'PROTECTION_RETRY':
        // Raised by the machine itself, PROTECTION_RETRY_DELAY_MS after an unknown protection outcome.
        clock.increment(Math.max(0, (retryDueAt ?? clock.now() + PROTECTION_RETRY_DELAY_MS) - clock.now()));
        return;
      default:
        throw new Error(`the replay does not know how to produce ${type}`);
    }
  }
}
}
