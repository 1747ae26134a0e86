import { describe, expect, it } from 'vitest';
import { BrokerError, createEngine, type ExecutionResult, type JournalRecord, type OrderRef, type OrderReport } from '../../../src/index.js';
import { executionTrail, renderTimeline } from '../../../src/entries/journal.js';
import { ScriptedBroker, VirtualClock } from '../../../src/testing/index.js';
import { checkInvariants } from '../../support/invariants.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

type BatchStep = { kind: 'apply' } | { kind: 'fail' } | { kind: 'hang' } | { kind: 'omit'; clientOrderId: string };

/** A scripted venue with a batch cancel, scripted like the single one. */
class BatchBroker extends ScriptedBroker {
  readonly batches: OrderRef[][] = [];
  readonly batchScript: BatchStep[] = [];
  constructor(private readonly at: VirtualClock) {
    super({ clock: at, latencyMs: 10 });
  }
  async cancelOrders(refs: readonly OrderRef[]): Promise<OrderReport[]> {
    this.batches.push(refs.map((r) => ({ ...r })));
    const step = this.batchScript.shift() ?? { kind: 'apply' };
    await new Promise<void>((r) => this.at.setTimeout(r, 10));
    switch (step.kind) {
      case 'fail':
        throw new BrokerError('venue busy', { retryable: true });
      case 'hang':
        return new Promise<OrderReport[]>(() => undefined);
      case 'omit':
        return refs.filter((r) => r.clientOrderId !== step.clientOrderId).map((r) => this.venue.cancel(r.clientOrderId));
      case 'apply':
        return refs.map((r) => this.venue.cancel(r.clientOrderId));
    }
  }
}

/** Starts `n` executions (one advisory each) and lets every order be acknowledged and working. */
async function working(broker: ScriptedBroker, clock: VirtualClock, n: number) {
  const engine = createEngine({ broker, clock, logger: silentLogger(), pollIntervalMs: 500 });
  const snapshots = Array.from({ length: n }, (_, i) => snapshot({ advisoryId: `adv-${i}` }));
  const started = snapshots.map((s) => engine.execute(s));
  await clock.advance(100);
  return { engine, snapshots, started };
}

async function settle(clock: VirtualClock, started: Promise<ExecutionResult>[]) {
  return clock.run(Promise.all(started));
}

const cancelRequests = (records: readonly JournalRecord[]) => records.filter((r) => r.kind === 'broker.request' && (r.event === 'cancelOrder' || r.event === 'cancelOrders'));

describe('kill switch fan-out: every working order is asked to cancel at once, by the engine', () => {
  it('requests each cancel exactly once, journals one record naming them all, and each execution still stops, looks up and reconciles', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10 });
    const { engine, snapshots, started } = await working(broker, clock, 5);
    engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
    // Asked before set() returns, each order once.
    expect(broker.callsOf('cancelOrder')).toHaveLength(5);
    const results = await settle(clock, started);
    // No second cancel from the executions themselves.
    const cancelled = broker.callsOf('cancelOrder').map((c) => (c.args as OrderRef).clientOrderId);
    expect(cancelled).toHaveLength(5);
    expect(new Set(cancelled).size).toBe(5);
    const records = await engine.journal.records();
    const requests = cancelRequests(records);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ event: 'cancelOrders', executionId: null });
    const named = (requests[0]!.payload as { orders: { executionId: string; clientOrderId: string }[] }).orders;
    expect(named.map((o) => o.executionId).sort()).toEqual(results.map((r) => r.executionId).sort());
    expect(named.map((o) => o.clientOrderId).sort()).toEqual(results.map((r) => r.clientOrderId).sort());
    results.forEach((result, i) => {
      expect(result.status).toBe('cancelled');
      expect(result.killSwitch).toEqual({ state: 'active', phase: 'during' });
      expect(result.reconciliation?.status).toBe('matched');
      checkInvariants({ result, snapshot: snapshots[i]!, journal: records, venue: broker.venue });
      const own = records.filter((r) => r.executionId === result.executionId);
      // Told with the cancel already requested; through stopping as ever; its answer journaled under it.
      expect(own.some((r) => r.kind === 'transition' && (r.payload as { event: { cancelRequested?: boolean } }).event.cancelRequested === true)).toBe(true);
      expect(own.map((r) => r.to)).toEqual(expect.arrayContaining(['live.stopping.cancelling', 'live.stopping.confirming', 'reconciling']));
      expect(own.filter((r) => r.kind === 'broker.response' && r.event === 'cancelOrder')).toHaveLength(1);
    });
    // Every execution's cancel answer came before its look-up, in its own record.
    for (const result of results) {
      const timeline = renderTimeline(executionTrail(records, result.executionId));
      expect(timeline).toContain('cancelOrder (kill switch: 5 orders asked to cancel at once)');
    }
    expect((await engine.journal.verify()).ok).toBe(true);
  });

  it('tells many executions in slices, and still each cancels once (answers may come before an execution is told)', async () => {
    const clock = new VirtualClock(T0);
    // Answers with no latency: they arrive before later slices, so each execution is told when its answer comes.
    const broker = new ScriptedBroker({ clock, latencyMs: 0 });
    const { engine, started } = await working(broker, clock, 200);
    engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
    // (A fleet this size may be asked over the fan-out's first few turns, the first inside set().)
    const results = await settle(clock, started);
    expect(broker.callsOf('cancelOrder')).toHaveLength(200);
    expect(new Set(broker.callsOf('cancelOrder').map((c) => (c.args as OrderRef).clientOrderId)).size).toBe(200);
    for (const r of results) {
      expect(r.status).toBe('cancelled');
      expect(r.killSwitch).toEqual({ state: 'active', phase: 'during' });
      expect(r.reconciliation?.status).toBe('matched');
    }
    expect((await engine.journal.verify()).ok).toBe(true);
  });

  it('an adapter that pushes while the batch goes out: the execution hears of the switch first, and does not cancel again', async () => {
    const clock = new VirtualClock(T0);
    class EagerPush extends ScriptedBroker {
      override cancelOrder(ref: OrderRef): Promise<OrderReport> {
        // The venue's cancelled report is pushed before the call even returns.
        this.venue.cancel(ref.clientOrderId);
        return super.cancelOrder(ref);
      }
    }
    const broker = new EagerPush({ clock, latencyMs: 10 });
    const { engine, started } = await working(broker, clock, 3);
    engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
    const results = await settle(clock, started);
    expect(broker.callsOf('cancelOrder')).toHaveLength(3);
    for (const r of results) {
      expect(r.status).toBe('cancelled');
      expect(r.killSwitch).toEqual({ state: 'active', phase: 'during' });
    }
  });

  it('a venue with a batch cancel gets one cancelOrders call for every order, and no single cancels', async () => {
    const clock = new VirtualClock(T0);
    const broker = new BatchBroker(clock);
    const { engine, started } = await working(broker, clock, 4);
    engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
    expect(broker.batches).toHaveLength(1);
    expect(broker.batches[0]).toHaveLength(4);
    const results = await settle(clock, started);
    expect(broker.batches).toHaveLength(1);
    expect(broker.callsOf('cancelOrder')).toHaveLength(0);
    for (const r of results) {
      expect(r.status).toBe('cancelled');
      expect(r.reconciliation?.status).toBe('matched');
    }
    const records = await engine.journal.records();
    expect(cancelRequests(records)).toHaveLength(1);
    // Each order's answer is journaled under its own execution.
    for (const r of results) expect(records.filter((x) => x.executionId === r.executionId && x.kind === 'broker.response' && x.event === 'cancelOrder')).toHaveLength(1);
  });

  it('a failed batch: every execution looks its order up, cancels again itself, and reconciles', async () => {
    const clock = new VirtualClock(T0);
    const broker = new BatchBroker(clock);
    broker.batchScript.push({ kind: 'fail' });
    const { engine, started } = await working(broker, clock, 3);
    const lookupsBefore = broker.callsOf('getOrder').length;
    engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
    const results = await settle(clock, started);
    expect(broker.batches).toHaveLength(1);
    // The failed cancel proves nothing: looked up, still working, so each execution cancels once more on its own.
    expect(broker.callsOf('getOrder').length).toBeGreaterThanOrEqual(lookupsBefore + 3 * 2);
    expect(broker.callsOf('cancelOrder')).toHaveLength(3);
    const records = await engine.journal.records();
    for (const r of results) {
      expect(r.status).toBe('cancelled');
      expect(r.reconciliation?.status).toBe('matched');
      expect(records.filter((x) => x.executionId === r.executionId && x.kind === 'broker.error' && x.event === 'cancelOrder')).toHaveLength(1);
    }
  });

  it('a batch with no answer: the call limit makes each outcome unknown; each execution looks up and reconciles', async () => {
    const clock = new VirtualClock(T0);
    const broker = new BatchBroker(clock);
    broker.batchScript.push({ kind: 'hang' });
    const { engine, started } = await working(broker, clock, 2);
    engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
    const results = await settle(clock, started);
    const records = await engine.journal.records();
    for (const r of results) {
      expect(r.status).toBe('cancelled');
      expect(r.reconciliation?.status).toBe('matched');
      const error = records.find((x) => x.executionId === r.executionId && x.kind === 'broker.error' && x.event === 'cancelOrder');
      expect((error?.payload as { code?: string }).code).toBe('timeout');
    }
    expect(broker.callsOf('cancelOrder')).toHaveLength(2);
  });

  it('an order the batch answer leaves out is an unknown outcome for that order only', async () => {
    const clock = new VirtualClock(T0);
    const broker = new BatchBroker(clock);
    const { engine, started } = await working(broker, clock, 2);
    const left = broker.venue.get(broker.callsOf('submitOrder').map((c) => (c.args as OrderRef).clientOrderId)[0]!)!.clientOrderId;
    broker.batchScript.push({ kind: 'omit', clientOrderId: left });
    engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
    const results = await settle(clock, started);
    for (const r of results) expect(r.status).toBe('cancelled');
    const records = await engine.journal.records();
    const errors = records.filter((x) => x.kind === 'broker.error' && x.event === 'cancelOrder');
    expect(errors).toHaveLength(1);
    expect(results.find((r) => r.clientOrderId === left)!.executionId).toBe(errors[0]!.executionId);
  });

  it('kill switch while one submit is unanswered: that order is not cancelled blindly; it cancels itself once the answer is known', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10 });
    const engine = createEngine({ broker, clock, logger: silentLogger(), pollIntervalMs: 500 });
    const a = snapshot({ advisoryId: 'adv-working' });
    const b = snapshot({ advisoryId: 'adv-in-flight' });
    const pa = engine.execute(a);
    await clock.advance(100);
    // B's submit reaches the venue but its answer never comes: the call limit (10 s) makes it unknown.
    broker.script.submit.push({ kind: 'hang', accept: true });
    const pb = engine.execute(b);
    await clock.advance(100);
    engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
    const [ra, rb] = [await clock.run(pa), await clock.run(pb)];
    const cancels = broker.callsOf('cancelOrder');
    expect(cancels).toHaveLength(2);
    // A at once, by the fan-out; B only after its submit's outcome was looked up, at the call limit.
    expect((cancels[0]!.args as OrderRef).clientOrderId).toBe(ra.clientOrderId);
    expect(cancels[0]!.at).toBe(T0 + 200);
    expect((cancels[1]!.args as OrderRef).clientOrderId).toBe(rb.clientOrderId);
    expect(cancels[1]!.at).toBeGreaterThanOrEqual(T0 + 100 + 10_000);
    expect(broker.callsOf('submitOrder')).toHaveLength(2);
    expect(ra.status).toBe('cancelled');
    expect(rb.status).toBe('cancelled');
    const records = await engine.journal.records();
    const batch = cancelRequests(records).filter((r) => r.event === 'cancelOrders');
    expect(batch).toHaveLength(1);
    expect((batch[0]!.payload as { orders: { executionId: string }[] }).orders.map((o) => o.executionId)).toEqual([ra.executionId]);
    expect(records.some((r) => r.executionId === rb.executionId && r.kind === 'broker.request' && r.event === 'cancelOrder')).toBe(true);
  });

  it('a warning asks nothing of the broker; a second change waits for the first to be heard', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10 });
    const { engine, started } = await working(broker, clock, 3);
    engine.killSwitch.set('warning', { reason: 'careful', operator: 'ops' });
    expect(broker.callsOf('cancelOrder')).toHaveLength(0);
    engine.killSwitch.set('active', { reason: 'panic', operator: 'ops' });
    engine.killSwitch.set('active', { symbol: 'EURUSD', reason: 'again', operator: 'ops' });
    const results = await settle(clock, started);
    expect(broker.callsOf('cancelOrder')).toHaveLength(3);
    for (const r of results) {
      expect(r.status).toBe('cancelled');
      expect(r.killSwitch).toEqual({ state: 'active', phase: 'during' });
    }
  });
});
