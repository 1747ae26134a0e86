/**
 * Execution leases with fencing: an execution is leased with an epoch, another instance takes it
 * over only once the lease expired (by the database's clock), and from then on every journal
 * write of the previous owner is refused — never silently dropped.
 */
import { describe, expect, it, vi } from 'vitest';
import { JournalError, JournalKind } from '../../src/journal/types.js';
import { PostgresStoreError } from '../../src/store/postgres/errors.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

/** A lease so short it has expired by the next query; leases run on the database's clock. */
const EXPIRED_SOON_MS = 1;
const LONG_MS = 60_000;

const transition = (executionId: string, to: string) => ({ kind: JournalKind.Transition, executionId, advisoryId: `adv-${executionId}`, snapshotHash: null, to });

describe('PostgresStore leases', () => {
  it('leases an execution once; another owner is refused while it is live, and cannot take it over', async () => {
    const a = await db.open({ writer: 'lease-a' });
    const b = await db.open({ writer: 'lease-b' });
    expect(await a.acquireLease('exec-live', 'engine-a', LONG_MS)).toBe(1);
    expect(await a.acquireLease('exec-live', 'engine-a', LONG_MS)).toBe(1); // renewing one's own
    const held = await b.acquireLease('exec-live', 'engine-b', LONG_MS).catch((e: unknown) => e);
    expect((held as PostgresStoreError).code).toBe('lease_held');
    expect((held as Error).message).toMatch(/leased by engine-a .*takeOver/);
    const live = await b.takeOver('exec-live', 'engine-b').catch((e: unknown) => e);
    expect((live as PostgresStoreError).code).toBe('lease_live');
    expect(await b.expiredLeases()).not.toContainEqual(expect.objectContaining({ executionId: 'exec-live' }));
    await a.renewLease('exec-live', 'engine-a', 1, LONG_MS);
    await a.releaseLease('exec-live', 'engine-a', 1);
    expect((await b.takeOver('exec-live', 'engine-b').catch((e: unknown) => e)) as PostgresStoreError).toMatchObject({ code: 'no_lease', message: expect.stringMatching(/released/) });
  });

  it('after a takeover the old owner’s journal write is refused (fenced), the new owner’s accepted', async () => {
    const a = await db.open({ writer: 'fence-a' });
    const b = await db.open({ writer: 'fence-b' });
    const epoch = await a.acquireLease('exec-fenced', 'engine-a', EXPIRED_SOON_MS);
    a.append(transition('exec-fenced', 'submitting'));
    await a.flush();

    await vi.waitFor(async () => expect((await b.expiredLeases()).map((l) => l.executionId)).toContain('exec-fenced'), { timeout: 2_000, interval: 5 });
    const taken = await b.takeOver('exec-fenced', 'engine-b', LONG_MS);
    expect(taken).toBe(epoch + 1);

    // The old owner wakes up and writes: the whole batch is refused, loudly, and so is everything after.
    a.append(transition('exec-fenced', 'late write from the old epoch'));
    const refused = await a.flush().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(JournalError);
    expect((refused as JournalError).code).toBe('fenced');
    expect((refused as Error).message).toMatch(/epoch 1 of engine-a.*now epoch 2 of engine-b/);
    expect(() => a.append(transition('exec-other', 'x'))).toThrow(JournalError);
    const renew = await a.renewLease('exec-fenced', 'engine-a', epoch, LONG_MS).catch((e: unknown) => e);
    expect((renew as PostgresStoreError).code).toBe('lease_lost');

    b.append(transition('exec-fenced', 'resumed by engine-b'));
    await b.flush();
    const trail = await b.records({ executionId: 'exec-fenced' });
    expect(trail.map((r) => `${r.writer}@${r.epoch}:${r.to}`)).toEqual(['fence-a@1:submitting', 'fence-b@2:resumed by engine-b']);
    expect((await b.verify()).ok).toBe(true);
  });

  it('refuses a lease-less write for an execution another instance leases, and accepts it once released', async () => {
    const owner = await db.open({ writer: 'owner' });
    const epoch = await owner.acquireLease('exec-owned', 'engine-a', LONG_MS);
    const stranger = await db.open({ writer: 'stranger' });
    stranger.append(transition('exec-owned', 'not mine'));
    expect(((await stranger.flush().catch((e: unknown) => e)) as JournalError).code).toBe('fenced');

    owner.append(transition('exec-owned', 'done'));
    await owner.releaseLease('exec-owned', 'engine-a', epoch);
    const resolver = await db.open({ writer: 'resolver' });
    resolver.append({ ...transition('exec-owned', 'resolved'), kind: JournalKind.Resolution });
    await resolver.flush();
    expect((await resolver.records({ executionId: 'exec-owned' })).map((r) => r.to)).toEqual(['done', 'resolved']);
  });

  it('accepts its owner’s records appended before the lease was granted, and the last records of an epoch that commit after its release', async () => {
    const a = await db.open({ writer: 'engine-own' });
    // The lease exists (granted on another connection), this writer's record carries no epoch yet: it is the owner's.
    const granting = await db.open({ writer: 'granting' });
    await granting.acquireLease('exec-own', 'engine-own', LONG_MS);
    a.append(transition('exec-own', 'validating'));
    await a.flush();
    const epoch = await a.acquireLease('exec-own', 'engine-own', LONG_MS);
    a.append(transition('exec-own', 'result'));
    const [release] = await Promise.all([a.releaseLease('exec-own', 'engine-own', epoch), a.flush()]);
    expect(release).toBeUndefined();
    expect((await a.records({ executionId: 'exec-own' })).map((r) => `${r.epoch}:${r.to}`)).toEqual(['null:validating', '1:result']);
  });

  it('finds an execution’s claim by its id; a restart under the same writer id leaves out what another engine took over', async () => {
    const a = await db.open({ writer: 'restart-a' });
    await a.acquireLease('exec-moved', 'restart-a', EXPIRED_SOON_MS);
    a.append({ ...transition('exec-moved', 'submitting'), kind: JournalKind.Claim });
    await a.flush();
    const b = await db.open({ writer: 'restart-b' });
    await vi.waitFor(() => b.takeOver('exec-moved', 'restart-b', LONG_MS), { timeout: 2_000, interval: 5 });
    expect(await b.claimOf('exec-none')).toBeNull();
    await a.close();
    const again = await db.open({ writer: 'restart-a' });
    expect(again.readAll().map((r) => r.executionId)).toContain('exec-moved');
    expect(again.restartRecords().map((r) => r.executionId)).not.toContain('exec-moved');
  });
});
