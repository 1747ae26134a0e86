/**
 * The claim and the execution's lease in ONE round trip, on a real PostgreSQL: a new advisory costs
 * an engine one statement of new work (through the store's intake gate), not a lease grant and then
 * a claim. At 150 ms from the database the two-step path cost every engine two round trips per
 * advisory, and a burst of 100 outlasted the 5 s new work may wait: 48 of 100 refused, nothing sent
 * (`soak:cluster --latency-ms 150`). One claim per advisory fleet-wide still (first wins); an engine
 * that loses the race learns it in that same round trip and is granted no lease; the deadline is
 * kept on the database's clock; the lease starts at epoch 1 and fences as before.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, freezeSnapshot, HARD_TIMEOUT_MS, JournalKind, type FrozenSnapshot } from '../../src/index.js';
import { INTAKE_WAIT_MS, type GatedPool, type IntakeGate } from '../../src/store/postgres/connection.js';
import type { PostgresStore } from '../../src/store/postgres/PostgresStore.js';
import { ScriptedBroker } from '../../src/testing/index.js';
import { rawSnapshot, silentLogger, snapshot } from '../support/fixtures.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();
const LONG_MS = 60_000;
/** Stores racing for each advisory, and advisories raced for at once. */
const RACERS = 3;
const ADVISORIES = 30;
/** Clock skew of an engine in the deadline test (ms). */
const SKEW_MS = 20_000;

const request = (advisoryId: string, executionId: string, deadlineAt = Date.now() + HARD_TIMEOUT_MS) => ({
  advisoryId,
  executionId,
  clientOrderId: `W-${advisoryId}`,
  deadlineAt,
  snapshot: snapshot({ advisoryId }),
  broker: 'paper',
});

/** Every statement of new work the store sends: each entry into its pool's intake gate runs one. */
function countNewWork(store: PostgresStore): { readonly count: () => number; readonly waits: number[] } {
  const gate = (store as unknown as { pool: GatedPool }).pool.intake as { -readonly [K in keyof IntakeGate]: IntakeGate[K] };
  let entries = 0;
  /** How long each entry may wait in the gate (ms). */
  const waits: number[] = [];
  const { query, connect, connectWithin } = gate;
  gate.query = ((...args: Parameters<GatedPool['query']>) => (entries++, waits.push(INTAKE_WAIT_MS), (query as (...a: unknown[]) => unknown)(...args))) as GatedPool['query'];
  gate.connect = (() => (entries++, waits.push(INTAKE_WAIT_MS), connect())) as GatedPool['connect'];
  gate.connectWithin = (waitMs) => (entries++, waits.push(waitMs), connectWithin(waitMs));
  return { count: () => entries, waits };
}

/** A scripted venue on real time: every order fills at once. */
function fillingVenue(): ScriptedBroker {
  const venue = new ScriptedBroker({ latencyMs: 1, push: true });
  venue.onAccepted((o) => setTimeout(() => venue.fill(o.clientOrderId, o.quantity, 1.1), 2));
  return venue;
}

let n = 0;
/** A snapshot approved a minute ago, valid for an hour of real time. */
const order = (advisoryId = `rt-${++n}`): FrozenSnapshot => {
  const now = Date.now();
  return freezeSnapshot(rawSnapshot({ advisoryId, createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 3_600_000).toISOString(), approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() } }));
};

describe('claimWithLease: the claim and the lease in one statement', () => {
  it('claims the advisory and leases the execution at epoch 1; its records carry the epoch; a later claim of the advisory is a duplicate with no lease', async () => {
    const a = await db.open({ writer: 'one-a' });
    const b = await db.open({ writer: 'one-b' });
    expect(await a.claimWithLease(request('adv-one', 'exec-one'), a.writer, LONG_MS)).toEqual({ outcome: 'claimed', epoch: 1 });
    expect(await a.lease('exec-one')).toMatchObject({ owner: 'one-a', epoch: 1, released: false });
    expect(await a.claimed('adv-one')).toMatchObject({ executionId: 'exec-one', clientOrderId: 'W-adv-one', writer: 'one-a', broker: 'paper' });
    a.append({ kind: JournalKind.Transition, executionId: 'exec-one', advisoryId: 'adv-one', snapshotHash: null, to: 'submitting' });
    expect((await a.records({ executionId: 'exec-one' })).map((r) => r.epoch)).toEqual([1]);

    expect(await b.claimWithLease(request('adv-one', 'exec-one-b'), b.writer, LONG_MS)).toEqual({ outcome: 'duplicate' });
    expect(await b.lease('exec-one-b')).toBeNull();
    // The same clientOrderId under another advisory is a duplicate too.
    expect(await b.claimWithLease({ ...request('adv-other', 'exec-other'), clientOrderId: 'W-adv-one' }, b.writer, LONG_MS)).toEqual({ outcome: 'duplicate' });
    expect(await b.lease('exec-other')).toBeNull();
    expect(await b.claimed('adv-other')).toBeNull();
    // Fencing as before: the lease is renewed and released at its epoch.
    await a.renewLease('exec-one', a.writer, 1, LONG_MS);
    await a.releaseLease('exec-one', a.writer, 1);
    expect(await b.lease('exec-one')).toMatchObject({ released: true });
  });

  it(`${RACERS} stores racing for ${ADVISORIES} advisories at once: exactly one claim and one lease each, the winner's; the losers get no lease`, async () => {
    const stores = await Promise.all(Array.from({ length: RACERS }, (_, i) => db.open({ writer: `race-${i}`, poolSize: 4 })));
    const ids = Array.from({ length: ADVISORIES }, (_, i) => `raced-${i}`);
    const outcomes = await Promise.all(ids.flatMap((id) => stores.map((s) => s.claimWithLease(request(id, `${id}@${s.writer}`), s.writer, LONG_MS).then((o) => ({ id, writer: s.writer, ...o })))));
    const leases = await db.query<{ execution_id: string; owner: string; epoch: string }>('SELECT execution_id, owner, epoch FROM warden_leases WHERE execution_id LIKE $1', ['raced-%']);
    for (const id of ids) {
      const won = outcomes.filter((o) => o.id === id && o.outcome === 'claimed');
      expect(won, id).toHaveLength(1);
      const winner = won[0]!.writer;
      expect((await stores[0]!.claimed(id))?.writer).toBe(winner);
      // One lease for the advisory: the winner's execution, at epoch 1. No loser's execution has one.
      expect(leases.filter((l) => l.execution_id.startsWith(`${id}@`)).map((l) => [l.execution_id, l.owner, Number(l.epoch)])).toEqual([[`${id}@${winner}`, winner, 1]]);
    }
    expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(ADVISORIES * (RACERS - 1));
  }, 30_000);

  it('an execution that already has a lease is refused with nothing claimed; a claim it cannot check writes nothing', async () => {
    const a = await db.open({ writer: 'held-a' });
    await a.acquireLease('exec-held', 'someone-else', LONG_MS);
    await expect(a.claimWithLease(request('adv-held', 'exec-held'), a.writer, LONG_MS)).rejects.toMatchObject({ code: 'lease_held', message: expect.stringMatching(/epoch 1 of someone-else.*nothing was claimed/) });
    expect(await a.claimed('adv-held')).toBeNull();
    await expect(a.claimWithLease({ ...request('adv-bad', 'exec-bad'), clientOrderId: '' }, a.writer, LONG_MS)).rejects.toMatchObject({ code: 'invalid_option' });
    await expect(a.claimWithLease(request('adv-bad', 'exec-bad'), a.writer, 0)).rejects.toMatchObject({ code: 'invalid_option' });
    expect(await a.claimed('adv-bad')).toBeNull();
    expect(await a.lease('exec-bad')).toBeNull();
  });

  it('keeps the deadline on the database’s clock: what is left of the window is the same whatever the claiming engine’s skew', async () => {
    for (const skew of [SKEW_MS, -SKEW_MS]) {
      const clock = { now: () => Date.now() + skew, setTimeout, clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout) };
      const store = await db.open({ writer: `skewed${skew}`, clock });
      await store.claimWithLease(request(`adv-skew${skew}`, `exec-skew${skew}`, clock.now() + HARD_TIMEOUT_MS), store.writer, LONG_MS);
      const left = (await store.claimed(`adv-skew${skew}`))!.remainingMs!;
      expect(left).toBeGreaterThan(HARD_TIMEOUT_MS - 2_000);
      expect(left).toBeLessThanOrEqual(HARD_TIMEOUT_MS);
    }
  });
});

describe('an engine on the store: one round trip of new work per advisory', () => {
  it('a new advisory enters the intake once (claim and lease together); a lost race too, with no lease and nothing sent', async () => {
    const venue = fillingVenue();
    const [sa, sb] = [await db.open({ writer: 'rt-a' }), await db.open({ writer: 'rt-b' })];
    const [na, nb] = [countNewWork(sa), countNewWork(sb)];
    const a = createEngine({ broker: venue, journal: sa, logger: silentLogger(), leaseTtlMs: 2_000 });
    const b = createEngine({ broker: venue, journal: sb, logger: silentLogger(), leaseTtlMs: 2_000 });
    const advisories = [order(), order(), order()];
    for (const [i, s] of advisories.entries()) {
      const result = await a.execute(s);
      expect(result.status).toBe('filled');
      expect(na.count(), `new work after ${i + 1} advisories`).toBe(i + 1);
      expect(await sa.lease(result.executionId)).toMatchObject({ owner: 'rt-a', epoch: 1 });
    }
    const lost = await b.execute(advisories[0]!);
    expect([lost.status, lost.error?.code]).toEqual(['rejected', 'duplicate_advisory']);
    expect(nb.count()).toBe(1);
    // One statement doing the work of two may wait in the intake what the two could.
    expect([...na.waits, ...nb.waits]).toEqual(Array(advisories.length + 1).fill(2 * INTAKE_WAIT_MS));
    expect(await sb.lease(lost.executionId)).toBeNull();
    expect(venue.callsOf('submitOrder')).toHaveLength(advisories.length);
    await Promise.all([a.close(), b.close()]);
  }, 30_000);

  it('a store without the combined call keeps working as before: a lease grant, then the claim (two entries)', async () => {
    const venue = fillingVenue();
    const store = await db.open({ writer: 'rt-two-step' });
    Object.assign(store, { claimWithLease: undefined });
    const newWork = countNewWork(store);
    const engine = createEngine({ broker: venue, journal: store, logger: silentLogger(), leaseTtlMs: 2_000 });
    const result = await engine.execute(order());
    expect(result.status).toBe('filled');
    expect(newWork.count()).toBe(2);
    expect(newWork.waits).toEqual([INTAKE_WAIT_MS, INTAKE_WAIT_MS]);
    expect(await store.lease(result.executionId)).toMatchObject({ owner: 'rt-two-step', epoch: 1 });
    await engine.close();
  }, 30_000);
});
