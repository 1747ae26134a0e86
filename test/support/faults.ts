/**
 * Randomized broker faults: a "broker script" arbitrary and a runner that lets fast-check's
 * scheduler choose the order in which broker answers and pushed reports are released, while a
 * virtual clock drives time. Used by `npm test` (fixed seed) and `npm run soak` (random seed).
 */
import fc from 'fast-check';
import { pino, type Logger } from 'pino';
import { BrokerError, createEngine, freezeSnapshot, type BrokerAdapter, type ExecutionResult, type FrozenSnapshot, type JournalRecord, type OrderReport } from '../../src/index.js';
import { ScriptedBroker, VirtualClock, type CancelStep, type LookupStep, type ProtectionStep, type SubmitStep } from '../../src/testing/index.js';
import { checkInvariants, checkProtectionKeepsUp } from './invariants.js';

const T0 = Date.parse('2026-11-24T10:00:00.000Z');

const submitStep: fc.Arbitrary<SubmitStep> = fc.constantFrom<SubmitStep>(
  { kind: 'accept' }, { kind: 'accept' }, { kind: 'acceptThenFail' }, { kind: 'fail' }, { kind: 'refuse' }, { kind: 'rejectedReport' }, { kind: 'hang', accept: true }, { kind: 'acceptThenFail', error: 'ETIMEDOUT' },
);
const lookupStep = fc.constantFrom<LookupStep>({ kind: 'real' }, { kind: 'real' }, { kind: 'notFound' }, { kind: 'fail' });
const cancelStep = fc.constantFrom<CancelStep>({ kind: 'apply' }, { kind: 'fail' }, { kind: 'applyThenFail' }, { kind: 'tooLate', price: 1.1003 });
const protectionStep = fc.constantFrom<ProtectionStep>({ kind: 'apply' }, { kind: 'apply' }, { kind: 'fail' }, { kind: 'refuse' }, { kind: 'lose' }, { kind: 'rejectedReport' });

/** One randomized execution: broker behaviour, fills, faults and operator actions over time. */
export const brokerScript = fc.record({
  side: fc.constantFrom('buy' as const, 'sell' as const),
  positionSize: fc.constantFrom(1, 10, 0.5, 1_000),
  latencyMs: fc.integer({ min: 1, max: 3_000 }),
  pushes: fc.boolean(),
  duplicatePushes: fc.boolean(),
  pollIntervalMs: fc.constantFrom(200, 500, 2_000),
  submits: fc.array(submitStep, { maxLength: 6 }),
  lookups: fc.array(lookupStep, { maxLength: 8 }),
  cancels: fc.array(cancelStep, { maxLength: 3 }),
  protections: fc.array(protectionStep, { maxLength: 3 }),
  fills: fc.array(fc.record({ afterMs: fc.integer({ min: 0, max: 45_000 }), fraction: fc.constantFrom(0.1, 0.25, 0.5, 1), price: fc.double({ min: 1.09, max: 1.11, noNaN: true }) }), { maxLength: 4 }),
  disconnect: fc.option(fc.record({ fromMs: fc.integer({ min: 0, max: 35_000 }), forMs: fc.integer({ min: 100, max: 20_000 }) }), { nil: null }),
  killSwitch: fc.array(fc.record({ atMs: fc.integer({ min: 0, max: 40_000 }), state: fc.constantFrom('off' as const, 'warning' as const, 'active' as const), symbolScope: fc.boolean() }), { maxLength: 3 }),
  reconciliationLags: fc.boolean(),
  manualPosition: fc.option(fc.integer({ min: -5, max: 5 }), { nil: null }),
});
export type BrokerScript = typeof brokerScript extends fc.Arbitrary<infer T> ? T : never;

export interface FaultRun {
  readonly result: ExecutionResult;
  readonly snapshot: FrozenSnapshot;
  readonly journal: JournalRecord[];
}

/** Runs one script to its end under the scheduler, then checks every invariant (throws on violation). */
export interface FaultRunOptions {
  /** Operational logger for the engine (default: silent). */
  readonly logger?: Logger;
  /** Wraps the faulty broker, e.g. to give it credentials. */
  readonly wrap?: (broker: BrokerAdapter) => BrokerAdapter;
}

export async function runFaultScript(sc: BrokerScript, s: fc.Scheduler, options: FaultRunOptions = {}): Promise<FaultRun> {
  const clock = new VirtualClock(T0);
  const scripted = new ScriptedBroker({ clock, latencyMs: sc.latencyMs, push: sc.pushes });
  scripted.script.submit.push(...sc.submits);
  scripted.script.getOrder.push(...sc.lookups);
  scripted.script.cancel.push(...sc.cancels);
  scripted.script.protection.push(...sc.protections);
  if (sc.manualPosition) scripted.venue.setPosition('EURUSD', sc.manualPosition, 1.08);
  scripted.onAccepted((o) => {
    for (const f of sc.fills) clock.setTimeout(() => scripted.fill(o.clientOrderId, o.quantity * f.fraction, f.price), f.afterMs);
  });

  const disconnected = () => sc.disconnect !== null && clock.now() - T0 >= sc.disconnect.fromMs && clock.now() - T0 < sc.disconnect.fromMs + sc.disconnect.forMs;
  let reconciling = false;
  // Every answer is released when the scheduler decides; during a disconnect nothing gets through.
  // The call runs on the virtual clock; only the delivery of its answer waits for the scheduler,
  // which releases completed answers in the order it chooses.
  const deliver = <T>(p: Promise<T>): Promise<T> =>
    p.then(
      (v) => s.schedule(Promise.resolve(v)),
      (e: unknown) => s.schedule(Promise.resolve()).then(() => Promise.reject(e)),
    );
  const through = <T>(call: () => Promise<T>): Promise<T> =>
    deliver(disconnected() ? Promise.reject(new BrokerError('disconnected', { retryable: true, code: 'network' })) : call());
  const broker: BrokerAdapter = {
    name: 'faulty',
    submitOrder: (req) => through(() => scripted.submitOrder(req)),
    cancelOrder: (ref) => through(() => scripted.cancelOrder(ref)),
    getOrder: (ref) => through(() => (reconciling && sc.reconciliationLags ? Promise.resolve(null) : scripted.getOrder(ref))),
    getPosition: (symbol) => {
      reconciling = true;
      return through(() => scripted.getPosition(symbol));
    },
    placeProtection: (req) => through(() => scripted.placeProtection(req)),
    subscribe: (listener) =>
      scripted.subscribe((report: OrderReport) => {
        if (disconnected()) return;
        const copy = { ...report };
        void s.schedule(Promise.resolve()).then(() => listener(copy));
        if (sc.duplicatePushes) void s.schedule(Promise.resolve()).then(() => listener(copy));
      }),
  };

  const engine = createEngine({ broker: options.wrap ? options.wrap(broker) : broker, clock, pollIntervalMs: sc.pollIntervalMs, logger: options.logger ?? pino({ level: 'silent' }) });
  const snapshot = freezeSnapshot({
    advisoryId: 'fault-1', symbol: 'EURUSD', side: sc.side, positionSize: sc.positionSize, referencePrice: 1.1,
    slOffsetPct: sc.side === 'buy' ? -0.01 : 0.01, tpOffsetPct: sc.side === 'buy' ? 0.02 : -0.02,
    createdAt: new Date(T0 - 60_000).toISOString(), expiresAt: new Date(T0 + 3_600_000).toISOString(),
    approval: { approvedBy: 'alice', approvedAt: new Date(T0 - 30_000).toISOString() },
  });
  for (const k of sc.killSwitch) {
    clock.setTimeout(() => engine.killSwitch.set(k.state, { ...(k.symbolScope ? { symbol: 'EURUSD' } : {}), reason: 'fault script', operator: 'fc' }), k.atMs);
  }

  let settled = false;
  const running = engine.execute(snapshot).finally(() => {
    settled = true;
  });
  // Drive: release scheduled answers while there are any, otherwise move time on.
  for (let guard = 0; !settled; guard++) {
    if (guard > 100_000) throw new Error('fault run did not settle');
    await new Promise((r) => setImmediate(r));
    if (settled) break;
    if (s.count() > 0) await s.waitOne();
    else if (!(await clock.step())) throw new Error('fault run deadlocked: nothing scheduled and no timer due');
  }
  const result = await running;
  const journal = await engine.journal.records();
  checkInvariants({ result, snapshot, journal, venue: scripted.venue });
  checkProtectionKeepsUp({ journal });
  return { result, snapshot, journal };
}

/** The property: any script, any interleaving, every invariant holds. `onRun` counts runs (for the soak). */
export const faultProperty = (onRun: () => void = () => undefined) =>
  fc.asyncProperty(brokerScript, fc.scheduler(), async (sc, s) => {
    await runFaultScript(sc, s);
    onRun();
  });
