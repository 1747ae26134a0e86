/**
 * An ended execution is never taken over while its release waits, on a real PostgreSQL: the
 * engine keeps renewing the lease until the store confirms the release (a release queued behind
 * a slow database, or behind the journal's flush, used to stop the renewals at once; the lease then
 * expired and another engine "took over" an execution that had already ended, 4 times in a
 * 60-advisory race at 150 ms). A renewal that meets its own release committing is told "released",
 * not "lost" (it read the row as its statement's snapshot saw it, and a healthy engine fenced
 * itself: `soak:cluster --engines 4 --cpu-load 2`). And a lost lease says, on the database's clock,
 * when it was last confirmed, when it expired and when its engine stopped sending.
 */
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/domain/clock.js';
import { joinFleetLeases } from '../../src/engine/fleetLeases.js';
import type { EngineJournal } from '../../src/engine/engineJournal.js';
import type { ExecutionRegistry } from '../../src/engine/registry.js';
import { snapshot } from '../support/fixtures.js';
import { useDatabase } from '../store/support/database.js';

const db = useDatabase();
/** The shortest lease the engine accepts: renewals every quarter of it. */
const TTL_MS = 400;
const LONG_MS = 60_000;
const silent = pino({ level: 'silent' });

/** The engine's lease keeping on `store`, its journal failed or not; nothing it takes over runs. */
function leasesOn(store: Awaited<ReturnType<typeof db.open>>, options: { journalFailure?: string } = {}) {
  const leases = joinFleetLeases({
    store,
    journal: { append: () => ({}) as never, durable: () => undefined, failure: options.journalFailure ?? null } satisfies EngineJournal,
    registry: {} as ExecutionRegistry,
    clock: systemClock,
    logger: silent,
    brokerIdentity: 'paper',
    ttlMs: TTL_MS,
    resume: () => new Promise<never>(() => undefined),
  });
  if (!leases) throw new Error('a PostgreSQL store leases executions');
  return leases;
}

describe('a release the store has not answered yet', () => {
  it('keeps the lease renewed: no other engine can take the ended execution over, and it is released once the store answers', async () => {
    const a = await db.open({ writer: 'release-a' });
    const b = await db.open({ writer: 'release-b' });
    const leases = leasesOn(a);
    await leases.acquire('exec-ending');
    // The release is held back (as behind a busy pool and a slow flush) for several lease lengths.
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const release = a.releaseLease.bind(a);
    a.releaseLease = (executionId, owner, epoch) => held.then(() => release(executionId, owner, epoch));
    leases.settled('exec-ending');

    const until = Date.now() + 4 * TTL_MS;
    while (Date.now() < until) {
      expect((await b.expiredLeases()).map((l) => l.executionId)).not.toContain('exec-ending');
      await new Promise((resolve) => setTimeout(resolve, TTL_MS / 4));
    }
    await expect(b.takeOver('exec-ending', 'release-b', LONG_MS)).rejects.toMatchObject({ code: 'lease_live' });

    letGo();
    await vi.waitFor(async () => expect(await b.lease('exec-ending')).toMatchObject({ owner: 'release-a', epoch: 1, released: true }), { timeout: 5_000, interval: 20 });
    await leases.stop();
  });
});

describe('a lost lease', () => {
  it('names its timeline on the database clock: last confirmed renewal, expiry, when sending stopped, the refusal', async () => {
    const a = await db.open({ writer: 'timeline-a' });
    const b = await db.open({ writer: 'timeline-b' });
    await a.acquireLease('exec-lost', 'timeline-a', TTL_MS);
    const [renewed] = await a.renewLeases('timeline-a', [{ executionId: 'exec-lost', epoch: 1 }], TTL_MS);
    expect(renewed).toMatchObject({ renewed: true });
    await vi.waitFor(() => b.takeOver('exec-lost', 'timeline-b', LONG_MS), { timeout: 5_000, interval: 20 });

    const [refused] = await a.renewLeases('timeline-a', [{ executionId: 'exec-lost', epoch: 1 }], TTL_MS);
    const stamp = (label: string) => new RegExp(`${label} (\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z)`);
    const why = refused!.why;
    const [confirmed, expired, stopped, refusal] = ['last renewal confirmed', `lease of ${TTL_MS} ms expired`, 'sends stopped here from', 'refusal'].map((label) => Date.parse(stamp(label).exec(why)?.[1] ?? 'none'));
    expect(refused).toMatchObject({ renewed: false, lost: true });
    expect(expired! - confirmed!).toBe(TTL_MS);
    expect(stopped!).toBeLessThan(expired!);
    expect(refusal!).toBeGreaterThanOrEqual(expired!);
    expect(a.fencedFor('exec-lost')).toMatch(/last renewal confirmed/);
  });
});

describe('a renewal racing a change of its row', () => {
  /** Changes the lease row in a transaction of its own, lets a renewal queue behind its row lock, then commits. */
  async function renewalBehind(store: Awaited<ReturnType<typeof db.open>>, executionId: string, change: string) {
    const other = new pg.Client(db.server().url);
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(change, [executionId]);
      const renewal = store.renewLeases(store.writer, [{ executionId, epoch: 1 }], LONG_MS);
      // The renewal waits for the row lock (a bounded look until PostgreSQL shows it waiting; a
      // loaded 2-core machine has taken more than 5 s to get the renewal there).
      await vi.waitFor(async () => expect((await other.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).rows[0].n).toBeGreaterThan(0), { timeout: 20_000, interval: 10 });
      await other.query('COMMIT');
      return (await renewal)[0]!;
    } finally {
      await other.end();
    }
  }

  it('its own release committing meanwhile: released here, not lost; the engine may still write for it', async () => {
    const a = await db.open({ writer: 'race-own' });
    await a.acquireLease('exec-race-own', 'race-own', LONG_MS);
    const outcome = await renewalBehind(a, 'exec-race-own', 'UPDATE warden_leases SET released = true WHERE execution_id = $1');
    expect(outcome).toMatchObject({ renewed: false, lost: false });
    expect(a.fencedFor('exec-race-own')).toBeNull();
  }, 30_000);

  it('a takeover committing meanwhile: lost, naming the new owner', async () => {
    const a = await db.open({ writer: 'race-lost' });
    await a.acquireLease('exec-race-lost', 'race-lost', LONG_MS);
    const outcome = await renewalBehind(a, 'exec-race-lost', "UPDATE warden_leases SET owner = 'race-taker', epoch = 2 WHERE execution_id = $1");
    expect(outcome).toMatchObject({ renewed: false, lost: true, why: expect.stringMatching(/epoch 2 of race-taker/) });
    expect(a.fencedFor('exec-race-lost')).toMatch(/refused/);
  }, 30_000);
});

describe('an engine whose journal failed for good', () => {
  it('takes no expired lease over (it could record neither the takeover nor the result); an engine whose journal works does', async () => {
    const dead = await db.open({ writer: 'dead-owner' });
    await dead.acquireLease('exec-orphan', 'dead-owner', 1);
    await dead.claim({ advisoryId: 'adv-orphan', executionId: 'exec-orphan', clientOrderId: 'wd-orphan', deadlineAt: Date.now() + 30_000, broker: 'paper', snapshot: snapshot({ advisoryId: 'adv-orphan' }) });

    const failed = leasesOn(await db.open({ writer: 'failed-journal' }), { journalFailure: 'fenced: lease lost' });
    await new Promise((resolve) => setTimeout(resolve, 3 * TTL_MS)); // nine scans for expired leases
    expect(await dead.lease('exec-orphan')).toMatchObject({ owner: 'dead-owner', epoch: 1 });
    await failed.stop();

    const healthy = leasesOn(await db.open({ writer: 'healthy' }));
    await vi.waitFor(async () => expect(await dead.lease('exec-orphan')).toMatchObject({ owner: 'healthy', epoch: 2 }), { timeout: 5_000, interval: 20 });
    await healthy.stop();
  });
});
