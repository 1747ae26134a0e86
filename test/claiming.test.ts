/**
 * The advisory claim before the first send (`claiming`): one execution per advisory, a claim that
 * cannot be recorded sends nothing, and the kill switch still holds while the claim is recorded.
 */
import { createActor } from 'xstate';
import { describe, expect, it, vi } from 'vitest';
import { executionMachine } from '../machines/execution.machine.js';
import { MemoryJournal, type Clock, type StoreClaim } from '../src/index.js';
import { VirtualClock } from '../src/testing/index.js';
import { harness, iso, snapshot, T0 } from './support/fixtures.js';

/** A journal that claims like a store shared by several engines, answering as the test says. */
class SharedStore extends MemoryJournal {
  readonly claims: StoreClaim[] = [];
  private answer: (claim: StoreClaim) => Promise<'claimed' | 'duplicate'>;
  constructor(clock: Clock, answer: (claim: StoreClaim) => Promise<'claimed' | 'duplicate'>) {
    super(clock);
    this.answer = answer;
  }
  claim(claim: StoreClaim): Promise<'claimed' | 'duplicate'> {
    this.claims.push(claim);
    return this.answer(claim);
  }
}

/** An engine over a SharedStore, on the harness's clock; `answer` may use that clock (`later`). */
function withStore(answer: (claim: StoreClaim, later: VirtualClock) => Promise<'claimed' | 'duplicate'>) {
  let clock: VirtualClock | null = null;
  // Journal timestamps from the harness's clock, once it exists.
  const delegate = { now: () => clock?.now() ?? T0, setTimeout: (fn: () => void, ms: number) => clock!.setTimeout(fn, ms), clearTimeout: (t: unknown) => clock!.clearTimeout(t) };
  const store = new SharedStore(delegate, (claim) => answer(claim, clock!));
  const h = harness({ engine: { journal: store } });
  clock = h.clock;
  return { store, ...h };
}

describe('claiming an advisory before its first send', () => {
  it('the context stays within 18 top-level keys in every state an execution passes through', async () => {
    const sizes = new Set<number>();
    const h = harness({
      engine: {
        inspect: (ev) => {
          if (ev.type === '@xstate.snapshot' && ev.actorRef.sessionId === ev.rootId) sizes.add(Object.keys((ev.snapshot as unknown as { context: object }).context).length);
        },
      },
    });
    h.broker.script.submit.push({ kind: 'fail' }); // looked up, resent: the widest path
    h.fillOnAccept(20, 1.1);
    expect((await h.run(h.engine.execute(snapshot()))).status).toBe('filled');
    expect(sizes.size).toBeGreaterThan(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(18);
  });

  it('a store that says another engine holds the advisory: rejected as duplicate_advisory, nothing sent, no claim journaled', async () => {
    const h = withStore(() => Promise.resolve('duplicate'));
    const s = snapshot();
    const result = await h.run(h.engine.execute(s));
    expect(result).toMatchObject({ status: 'rejected', clientOrderId: null, requiresManualResolution: false });
    expect(result.error?.code).toBe('duplicate_advisory');
    expect(h.broker.callsOf('submitOrder')).toHaveLength(0);
    expect(h.store.claims.map((c) => [c.advisoryId, c.clientOrderId, c.deadlineAt])).toEqual([[s.advisoryId, `wd-${s.hash.slice(0, 24)}`, T0 + 30_000]]);
    expect((await h.engine.journal.records()).filter((r) => r.kind === 'claim')).toHaveLength(0);
    // Refused once, refused again: the advisory stays with whoever holds it.
    const again = await h.run(h.engine.execute(s));
    expect(again.error?.code).toBe('duplicate_advisory');
    expect(h.broker.callsOf('submitOrder')).toHaveLength(0);
  });

  it('a store that fails to record the claim: rejected as journal_unavailable (not duplicate), nothing sent', async () => {
    const h = withStore(() => Promise.reject(new Error('connection terminated unexpectedly')));
    const result = await h.run(h.engine.execute(snapshot()));
    expect(result.status).toBe('rejected');
    expect(result.error?.code).toBe('journal_unavailable');
    expect(result.error?.message).toContain('connection terminated unexpectedly');
    expect(h.broker.callsOf('submitOrder')).toHaveLength(0);
  });

  it('a store that answers after the kill switch went active: refused with the switch (rule 3 before), nothing sent', async () => {
    let answer: (outcome: 'claimed') => void = () => undefined;
    const h = withStore(() => new Promise((resolve) => (answer = resolve)));
    const started = h.engine.execute(snapshot());
    await new Promise((r) => setImmediate(r));
    expect(h.store.claims).toHaveLength(1);
    h.engine.killSwitch.set('active', { reason: 'venue outage', operator: 'ops' });
    answer('claimed');
    const result = await h.run(started);
    expect(result).toMatchObject({ status: 'rejected', killSwitch: { state: 'active', phase: 'before' } });
    expect(result.error?.code).toBe('kill_switch_active');
    expect(h.broker.callsOf('submitOrder')).toHaveLength(0);
  });

  it('a slow claim takes its time out of the 30 s window: the deadline was fixed when the claim began', async () => {
    const h = withStore((_, clock) => new Promise((resolve) => clock.setTimeout(() => resolve('claimed'), 4_000)));
    const store = h.store;
    const result = await h.run(h.engine.execute(snapshot())); // the scripted venue never fills
    expect(result.status).toBe('failed_timeout');
    const submitted = Date.parse(result.attempts[0]!.at);
    expect(submitted - T0).toBeGreaterThanOrEqual(4_000);
    expect(Date.parse(result.finishedAt)).toBeGreaterThanOrEqual(T0 + 30_000);
    expect(store.claims[0]!.deadlineAt).toBe(T0 + 30_000);
    // The timeout fired at the fixed deadline, not 30 s after the send.
    const timeout = (await h.engine.journal.records()).find((r) => r.kind === 'transition' && r.event?.startsWith('xstate.after.hardTimeout'));
    expect(Date.parse(timeout!.at)).toBe(T0 + 30_000);
  });

  it('the bare definition has no broker and no claim store: its actors reject "not provided" and it refuses, calling nothing', async () => {
    // The bare definition reads no clock: it judges at the start its input gives, whatever the wall clock says.
    vi.useFakeTimers({ now: Date.parse('2041-01-01T00:00:00.000Z'), toFake: ['Date'] });
    const fresh = snapshot();
    const actor = createActor(executionMachine, { input: { snapshot: fresh, executionId: 'bare', startedAt: T0 } });
    const settled = new Promise((resolve) => actor.subscribe((s) => s.hasTag('settled') && resolve(s.context.result)));
    actor.start();
    expect(actor.getSnapshot().value).toBe('checkingLimits'); // no limits in the bare definition: on to the claim
    const result = await settled;
    expect(result).toMatchObject({ status: 'rejected', clientOrderId: null, error: { code: 'journal_unavailable' } });
    expect((result as { error: { message: string } }).error.message).toContain('claimAdvisory is not provided');
    // Its time stands at the start: nothing read the wall clock (years later here).
    expect([(result as { startedAt: string }).startedAt, (result as { finishedAt: string }).finishedAt]).toEqual([iso(T0), iso(T0)]);
    vi.useRealTimers();
  });
});
