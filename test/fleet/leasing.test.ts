/**
 * The engine's side of leases, on a leasing store double and a virtual clock: the lease is taken
 * with the claim in one call where the store can, else before it (no send without it), renewed every third of its length while the execution
 * runs, released when it settles; a store that cannot grant it means a refusal with nothing sent.
 */
import { describe, expect, it } from 'vitest';
import { clientOrderIdFor, createEngine, HARD_TIMEOUT_MS, JournalKind, MemoryJournal, type Journal, type StoreClaim } from '../../src/index.js';
import type { TakeOver } from '../../src/engine/fleetLeases.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

const TTL_MS = 900;

/** A MemoryJournal with the leasing capabilities of a shared store; every call is listed in `calls`. */
function leasingStore(clock: VirtualClock, options: { refuseLeases?: boolean; unrecorded?: boolean; expired?: { executionId: string; owner: string; epoch: number; expiresAt: string }; claim?: StoreClaim; combined?: 'claimed' | 'duplicate' } = {}) {
  const calls: string[] = [];
  const store: Journal = Object.assign(new MemoryJournal(clock), {
    writer: 'engine-test',
    claim: async () => (calls.push('claim'), 'claimed' as const),
    acquireLease: async (_id: string, owner: string, ttlMs: number) => {
      calls.push(`acquire ${owner} ${ttlMs}`);
      if (options.refuseLeases) throw new Error('database unreachable');
      return 1;
    },
    renewLease: async (_id: string, _owner: string, epoch: number) => void calls.push(`renew ${epoch} at ${clock.now() - T0}`),
    releaseLease: async (_id: string, _owner: string, epoch: number) => void calls.push(`release ${epoch}`),
    expiredLeases: async () => (options.expired && !calls.some((c) => c.startsWith('takeOver')) ? [options.expired] : []),
    takeOver: async (_id: string, owner: string) => (calls.push(`takeOver ${owner}`), 2),
    claimOf: async () => options.claim ?? null,
    // A shared store restarts a writer from its own records: the dead engine's are not this one's.
    restartRecords: () => [],
    // The claim and the lease in one round trip, where the double has it.
    ...(options.combined ? { claimWithLease: async (_c: StoreClaim, owner: string, ttlMs: number) => (calls.push(`claimWithLease ${owner} ${ttlMs}`), options.combined === 'claimed' ? { outcome: 'claimed' as const, epoch: 1 } : { outcome: 'duplicate' as const }) } : {}),
  });
  // The dead engine recorded its claim before its first send (a send waits for that record).
  if (options.claim && !options.unrecorded) {
    const c = options.claim;
    store.append({ kind: JournalKind.Claim, executionId: c.executionId, advisoryId: c.advisoryId, snapshotHash: c.snapshot.hash, payload: { snapshot: c.snapshot, clientOrderId: c.clientOrderId, deadlineAt: c.deadlineAt, broker: c.broker } });
  }
  return { store, calls };
}

describe('engine leases on a leasing store', () => {
  it('leases before the claim, renews every third of the lease while the order works, releases when it settles', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 2_000));
    const { store, calls } = leasingStore(clock);
    const engine = createEngine({ broker, journal: store, clock, logger: silentLogger(), leaseTtlMs: TTL_MS });
    const result = await clock.run(engine.execute(snapshot({ advisoryId: 'lease-1' })));
    expect(result).toMatchObject({ status: 'filled', protectionPlaced: true });
    await clock.run(engine.close());
    expect(calls.slice(0, 2)).toEqual([`acquire engine-test ${TTL_MS}`, 'claim']);
    const renewals = calls.filter((c) => c.startsWith('renew'));
    expect(renewals.length).toBeGreaterThanOrEqual(Math.floor(2_000 / (TTL_MS / 3)) - 1);
    expect(calls.at(-1)).toBe('release 1');
  });

  it('a lease the store cannot grant is a refusal: nothing is claimed, nothing sent', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
    const { store, calls } = leasingStore(clock, { refuseLeases: true });
    const engine = createEngine({ broker, journal: store, clock, logger: silentLogger(), leaseTtlMs: TTL_MS });
    const result = await clock.run(engine.execute(snapshot({ advisoryId: 'lease-2' })));
    expect(result.status).toBe('rejected');
    expect(result.error?.message).toMatch(/no lease for this execution, nothing sent: .*database unreachable/);
    expect(calls).not.toContain('claim');
    expect(broker.venue.snapshot().orders).toEqual([]);
    await clock.run(engine.close());
  });

  it('on a store that claims and leases in one round trip: one call, no separate lease or claim; a lost race holds no lease to release', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 1_000));
    const won = leasingStore(clock, { combined: 'claimed' });
    const engine = createEngine({ broker, journal: won.store, clock, logger: silentLogger(), leaseTtlMs: TTL_MS });
    expect(await clock.run(engine.execute(snapshot({ advisoryId: 'combined-1' })))).toMatchObject({ status: 'filled', protectionPlaced: true });
    await clock.run(engine.close());
    expect(won.calls[0]).toBe(`claimWithLease engine-test ${TTL_MS}`);
    expect(won.calls.filter((c) => c.startsWith('acquire') || c === 'claim')).toEqual([]);
    expect(won.calls.some((c) => c.startsWith('renew 1'))).toBe(true);
    expect(won.calls.at(-1)).toBe('release 1');

    const lost = leasingStore(clock, { combined: 'duplicate' });
    const other = createEngine({ broker, journal: lost.store, clock, logger: silentLogger(), leaseTtlMs: TTL_MS });
    const refused = await clock.run(other.execute(snapshot({ advisoryId: 'combined-1' })));
    await clock.run(new Promise<void>((r) => clock.setTimeout(() => r(), TTL_MS)));
    await clock.run(other.close());
    expect([refused.status, refused.error?.code]).toEqual(['rejected', 'duplicate_advisory']);
    expect(lost.calls).toEqual([`claimWithLease engine-test ${TTL_MS}`]);
    expect(broker.calls.filter((c) => c.method === 'submitOrder')).toHaveLength(1);
  });

  it('refuses a lease too short to renew', () => {
    const clock = new VirtualClock(T0);
    const { store } = leasingStore(clock);
    expect(() => createEngine({ broker: new ScriptedBroker({ clock }), journal: store, clock, logger: silentLogger(), leaseTtlMs: 50 })).toThrow(/at least 300 ms/);
  });

  it('takes over an execution whose lease expired: adopts its order by clientOrderId, journals TAKE_OVER, finishes it, releases the lease', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
    const s = snapshot({ advisoryId: 'lease-taken' });
    const clientOrderId = clientOrderIdFor(s);
    // The dead engine's order works at the venue; it fills a while after the takeover.
    await clock.run(broker.submitOrder({ clientOrderId, symbol: s.symbol, side: s.side, quantity: s.positionSize, type: 'market' }));
    clock.setTimeout(() => broker.fill(clientOrderId, s.positionSize, 1.1), 3_000);
    const claim: StoreClaim = { advisoryId: s.advisoryId, executionId: 'exec-dead', clientOrderId, deadlineAt: T0 + HARD_TIMEOUT_MS, snapshot: s, broker: 'scripted' };
    const { store, calls } = leasingStore(clock, { expired: { executionId: 'exec-dead', owner: 'engine-dead', epoch: 1, expiresAt: new Date(T0).toISOString() }, claim });
    const takeovers: TakeOver[] = [];
    const engine = createEngine({ broker, journal: store, clock, logger: silentLogger(), leaseTtlMs: TTL_MS, onTakeOver: (t) => takeovers.push(t) });
    await clock.run(new Promise<void>((r) => clock.setTimeout(() => r(), TTL_MS)));
    expect(takeovers).toHaveLength(1);
    expect(takeovers[0]).toMatchObject({ executionId: 'exec-dead', advisoryId: 'lease-taken', from: 'engine-dead', epoch: 2, recovery: { clientOrderId, deadlineAt: T0 + HARD_TIMEOUT_MS, submitAttempts: 0 } });
    const result = await clock.run(takeovers[0]!.result);
    expect(result).toMatchObject({ status: 'filled', filledQuantity: s.positionSize, protectionPlaced: true, requiresManualResolution: false });
    expect(broker.calls.filter((c) => c.method === 'submitOrder')).toHaveLength(1); // the dead engine's, never resent
    const records = await store.records({ executionId: 'exec-dead' });
    expect(records.find((r) => r.kind === JournalKind.Recovery)).toMatchObject({ event: 'TAKE_OVER', payload: { takenOverFrom: 'engine-dead', epoch: 2 } });
    await clock.run(engine.close());
    expect(calls).toContain('takeOver engine-test');
    expect(calls.at(-1)).toBe('release 2');
  });

  it('a taken-over execution that ends flagged is resolved on the engine that finished it', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
    broker.script.protection.push({ kind: 'lose' }); // "placed", but the venue never holds it: reconciliation flags it
    const s = snapshot({ advisoryId: 'lease-flagged' });
    const clientOrderId = clientOrderIdFor(s);
    await clock.run(broker.submitOrder({ clientOrderId, symbol: s.symbol, side: s.side, quantity: s.positionSize, type: 'market' }));
    clock.setTimeout(() => broker.fill(clientOrderId, s.positionSize, 1.1), 1_000);
    const claim: StoreClaim = { advisoryId: s.advisoryId, executionId: 'exec-flagged', clientOrderId, deadlineAt: T0 + HARD_TIMEOUT_MS, snapshot: s, broker: 'scripted' };
    const { store } = leasingStore(clock, { expired: { executionId: 'exec-flagged', owner: 'engine-dead', epoch: 1, expiresAt: new Date(T0).toISOString() }, claim });
    const takeovers: TakeOver[] = [];
    const engine = createEngine({ broker, journal: store, clock, logger: silentLogger(), leaseTtlMs: TTL_MS, onTakeOver: (t) => takeovers.push(t) });
    await clock.run(new Promise<void>((r) => clock.setTimeout(() => r(), TTL_MS)));
    const result = await clock.run(takeovers[0]!.result);
    expect(result.requiresManualResolution).toBe(true);
    expect(engine.awaitingResolution().map((r) => r.advisoryId)).toEqual(['lease-flagged']);
    expect(engine.resolve('lease-flagged', { operator: 'ana', note: 'protection placed by hand at the venue' }).requiresManualResolution).toBe(false);
    expect(engine.awaitingResolution()).toEqual([]);
    expect((await store.records({ executionId: 'exec-flagged' })).some((r) => r.kind === JournalKind.Resolution)).toBe(true);
    await clock.run(engine.close());
  });

  it('an expired lease whose claim never reached the journal is closed as refused: nothing was sent, nothing ever is', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10, push: true });
    const s = snapshot({ advisoryId: 'refused-by-its-engine' });
    const claim: StoreClaim = { advisoryId: s.advisoryId, executionId: 'exec-refused', clientOrderId: clientOrderIdFor(s), deadlineAt: T0 + HARD_TIMEOUT_MS, snapshot: s, broker: 'scripted' };
    // Its engine committed the store's claim, then could not journal it: its host was told "rejected, nothing sent".
    const { store, calls } = leasingStore(clock, { unrecorded: true, expired: { executionId: 'exec-refused', owner: 'engine-dead', epoch: 1, expiresAt: new Date(T0).toISOString() }, claim });
    const takeovers: TakeOver[] = [];
    const engine = createEngine({ broker, journal: store, clock, logger: silentLogger(), leaseTtlMs: TTL_MS, onTakeOver: (t) => takeovers.push(t) });
    await clock.run(new Promise<void>((r) => clock.setTimeout(() => r(), TTL_MS * 2)));
    expect(takeovers).toHaveLength(0);
    expect(broker.calls).toHaveLength(0);
    const result = (await store.records({ executionId: 'exec-refused' })).find((r) => r.kind === JournalKind.Result);
    expect(result?.payload).toMatchObject({ status: 'rejected', error: { code: 'journal_unavailable' } });
    expect(calls).toContain('release 2');
    await clock.run(engine.close());
  });
});
