/**
 * The PostgreSQL store as a Journal: synchronous chained appends, one transaction per batch,
 * round trips, a whole-store verification across writers, and tampering found.
 */
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/journal/hashChain.js';
import { JournalError, JournalKind, type JournalEntry } from '../../src/journal/types.js';
import { PostgresStore } from '../../src/store/postgres/PostgresStore.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();

const query = db.query;

const entry = (advisoryId: string, n: number): JournalEntry => ({
  kind: JournalKind.Transition,
  executionId: `exec-${advisoryId}`,
  advisoryId,
  snapshotHash: 'f'.repeat(64),
  from: 'idle',
  to: `step-${n}`,
  event: 'NEXT',
  payload: { n, nested: { z: 1, a: [1, 'two', null] } },
});

describe('PostgresStore as a journal', () => {
  it('chains appends synchronously and writes them on flush; a new connection reads them back identical', async () => {
    const store = await db.open({ writer: 'round-trip' });
    const appended = [0, 1, 2, 3, 4].map((n) => store.append(entry('adv-rt', n)));
    expect(appended.map((r) => r.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(appended[1]!.previousHash).toBe(appended[0]!.hash);
    await store.flush();
    await store.close();

    const reopened = await db.open({ writer: 'round-trip' });
    const strip = ({ sequence, at, kind, executionId, advisoryId, snapshotHash, from, to, event, payload, previousHash, hash }: (typeof appended)[number]) => ({ sequence, at, kind, executionId, advisoryId, snapshotHash, from, to, event, payload, previousHash, hash });
    expect(reopened.readAll().map(strip)).toEqual(appended.map(strip));
    expect(verifyChain(reopened.readAll()).ok).toBe(true);
    expect(reopened.recordsAfter(3, 10).map((r) => r.sequence)).toEqual([4, 5]);
    expect((await reopened.records({ advisoryId: 'adv-rt' })).map((r) => r.to)).toEqual(['step-0', 'step-1', 'step-2', 'step-3', 'step-4']);
  });

  it('writes everything appended in one turn in one transaction (group commit)', async () => {
    const store = await db.open({ writer: 'group' });
    const before = (await query<{ xact: string }>("SELECT xact_commit AS xact FROM pg_stat_database WHERE datname = 'postgres'"))[0]!.xact;
    for (let n = 0; n < 500; n++) store.append(entry('adv-group', n));
    await store.flush();
    const rows = await query<{ xmin: string }>("SELECT DISTINCT xmin::text FROM warden_records WHERE writer_id = 'group'");
    expect(rows).toHaveLength(1); // one transaction wrote all 500 rows
    expect(Number((await query<{ xact: string }>("SELECT xact_commit AS xact FROM pg_stat_database WHERE datname = 'postgres'"))[0]!.xact)).toBeGreaterThan(Number(before));
    expect((await store.records({ advisoryId: 'adv-group' })).length).toBe(500);
  });

  it('queues appends made while a batch is being written into the next batch, in chain order', async () => {
    const store = await db.open({ writer: 'overlap' });
    for (let n = 0; n < 100; n++) store.append(entry('adv-overlap', n));
    const first = store.flush();
    await new Promise((resolve) => setImmediate(resolve)); // the first batch is now in flight
    for (let n = 100; n < 200; n++) store.append(entry('adv-overlap', n));
    await Promise.all([first, store.flush()]);
    const rows = await query<{ batches: string }>("SELECT count(DISTINCT xmin::text) AS batches FROM warden_records WHERE writer_id = 'overlap'");
    expect(Number(rows[0]!.batches)).toBe(2);
    const written = await store.records({ advisoryId: 'adv-overlap' });
    expect(written.map((r) => r.sequence)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(verifyChain(written).ok).toBe(true);
  });

  it('orders several writers globally and verifies the whole store', async () => {
    const a = await db.open({ writer: 'writer-a' });
    const b = await db.open({ writer: 'writer-b' });
    for (let n = 0; n < 20; n++) {
      a.append(entry('adv-shared', n));
      b.append(entry('adv-shared', 100 + n));
      if (n % 5 === 4) await Promise.all([a.flush(), b.flush()]);
    }
    await Promise.all([a.flush(), b.flush()]);
    const shared = await a.records({ advisoryId: 'adv-shared' });
    expect(shared).toHaveLength(40);
    expect(new Set(shared.map((r) => r.writer))).toEqual(new Set(['writer-a', 'writer-b']));
    const global = shared.map((r) => r.globalSequence!);
    expect([...global].sort((x, y) => x - y)).toEqual(global);
    const check = await b.verify();
    expect(check.ok).toBe(true);
    expect(check.writers).toBeGreaterThanOrEqual(2);
  });

  it('restartRecords keeps claims, results and every record of unfinished executions', async () => {
    const store = await db.open({ writer: 'restart' });
    const ids = (e: string) => ({ executionId: e, advisoryId: `adv-${e}`, snapshotHash: null });
    store.append({ kind: JournalKind.Claim, ...ids('done') });
    store.append({ kind: JournalKind.Transition, ...ids('done'), to: 'x' });
    store.append({ kind: JournalKind.Result, ...ids('done') });
    store.append({ kind: JournalKind.Claim, ...ids('open') });
    store.append({ kind: JournalKind.Transition, ...ids('open'), to: 'y' });
    await store.flush();
    expect(store.restartRecords().map((r) => `${r.kind}:${r.executionId}`)).toEqual(['claim:done', 'result:done', 'claim:open', 'transition:open']);
  });

  it('finds a record edited in the database, and refuses to append to that chain', async () => {
    const store = await db.open({ writer: 'tampered' });
    for (let n = 0; n < 10; n++) store.append(entry('adv-tamper', n));
    await store.flush();
    expect((await store.verify()).ok).toBe(true);
    await store.close();

    const [victim] = await query<{ global_sequence: string }>("SELECT global_sequence FROM warden_records WHERE writer_id = 'tampered' AND writer_sequence = 4");
    await query(`UPDATE warden_records SET payload = '{"n":999}' WHERE global_sequence = $1`, [victim!.global_sequence]);

    const other = await db.open({ writer: 'auditor' });
    const check = await other.verify();
    expect(check).toMatchObject({ ok: false, brokenAt: Number(victim!.global_sequence), writer: 'tampered', writerSequence: 4 });

    const reopened = await PostgresStore.connect(db.server().url, { writer: 'tampered' }).catch((e: unknown) => e);
    expect(reopened).toBeInstanceOf(JournalError);
    expect((reopened as JournalError).code).toBe('chain_broken');
    await query("DELETE FROM warden_records WHERE writer_id = 'tampered'");
  });

  it('finds a record deleted from the middle of a chain', async () => {
    const store = await db.open({ writer: 'gap' });
    for (let n = 0; n < 5; n++) store.append(entry('adv-gap', n));
    await store.flush();
    await query("DELETE FROM warden_records WHERE writer_id = 'gap' AND writer_sequence = 3");
    expect(await store.verify()).toMatchObject({ ok: false, writer: 'gap', writerSequence: 4 });
    await query("DELETE FROM warden_records WHERE writer_id = 'gap'");
  });

  it('keeps writing after the server crashes and restarts between batches: the flushed batch survived, the connection is reopened', async () => {
    const store = await db.open({ writer: 'outage' });
    store.append(entry('adv-outage', 0));
    await store.flush();
    await db.server().suspend({ crash: true });
    await db.server().resume();
    store.append(entry('adv-outage', 1));
    await store.flush();
    expect((await store.records({ advisoryId: 'adv-outage' })).map((r) => r.sequence)).toEqual([1, 2]);
  });
});
