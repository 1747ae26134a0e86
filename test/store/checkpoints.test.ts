/**
 * Checkpoints in a PostgreSQL store (src/store/postgres/checkpoints.ts), with SqliteJournal's
 * semantics: a writer's chain carries checkpoints; connecting verifies from the checkpoint before
 * the last, so an edit before it is found only by a full verification, an edit after it by the
 * writer's connect, and a forged checkpoint is refused.
 */
import { describe, expect, it } from 'vitest';
import { chainPlainRecord } from '../../src/journal/hashChain.js';
import type { CheckpointPayload } from '../../src/journal/checkpoint.js';
import { JournalError, JournalKind, type JournalEntry } from '../../src/journal/types.js';
import { useDatabase } from './support/database.js';

const db = useDatabase();
const EVERY = 10;

const entry = (n: number): JournalEntry =>
  n % 7 === 3
    ? { kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: 'off->warning', payload: { symbol: `S${n}`, from: 'off', to: 'warning', type: 'manual', reason: 'test', operator: 'ops' } }
    : { kind: JournalKind.Transition, executionId: `exec-${n % 3}`, advisoryId: `adv-${n % 3}`, snapshotHash: 'f'.repeat(64), from: 'a', to: `step-${n}`, event: 'NEXT', payload: { n } };

/** A writer's chain of 45 entries, with a checkpoint after every 10 records. */
async function written(writer: string) {
  const store = await db.open({ writer, checkpointEvery: EVERY });
  for (let n = 0; n < 45; n++) store.append(entry(n));
  await store.flush();
  await store.close();
  const marks = (await db.query<{ writer_sequence: string }>("SELECT writer_sequence FROM warden_records WHERE writer_id = $1 AND kind = 'checkpoint' ORDER BY writer_sequence", [writer])).map((r) => Number(r.writer_sequence));
  return { marks };
}

const connectFails = async (writer: string) => {
  try {
    await db.open({ writer, checkpointEvery: EVERY });
  } catch (e) {
    return e;
  }
  return null;
};

/** Rewrites the writer's chain from `from` on, each record re-hashed onto the one before (a forger who knows SHA-256). */
async function rechain(writer: string, from: number, edit: (payload: unknown, kind: string) => unknown) {
  const rows = await db.query<{ writer_sequence: string; at: string; kind: string; execution_id: string | null; advisory_id: string | null; snapshot_hash: string | null; from_state: string | null; to_state: string | null; event: string | null; payload: string; previous_hash: string; hash: string }>(
    'SELECT * FROM warden_records WHERE writer_id = $1 AND writer_sequence >= $2 ORDER BY writer_sequence',
    [writer, from],
  );
  let previous = rows[0]!.previous_hash;
  for (const [i, row] of rows.entries()) {
    const payload = i === 0 ? edit(JSON.parse(row.payload), row.kind) : JSON.parse(row.payload);
    const r = chainPlainRecord({ kind: row.kind as JournalEntry['kind'], executionId: row.execution_id, advisoryId: row.advisory_id, snapshotHash: row.snapshot_hash, from: row.from_state, to: row.to_state, event: row.event, payload }, Number(row.writer_sequence), row.at, previous);
    await db.query('UPDATE warden_records SET payload = $1, previous_hash = $2, hash = $3 WHERE writer_id = $4 AND writer_sequence = $5', [JSON.stringify(r.payload), r.previousHash, r.hash, writer, row.writer_sequence]);
    previous = r.hash;
  }
}

describe('PostgresStore checkpoints', () => {
  it('a writer checkpoints its chain; connecting and verify({ full: false }) check from the checkpoint before the last, verify() checks all', async () => {
    const { marks } = await written('cp-plain');
    expect(marks).toEqual([11, 22, 33, 44]);
    const store = await db.open({ writer: 'cp-plain', checkpointEvery: EVERY });
    const last = store.readAll().find((r) => r.sequence === 44)!;
    expect((last.payload as CheckpointPayload).covers).toEqual([43, store.readAll()[42]!.hash]);
    expect((last.payload as CheckpointPayload).state.switches.length).toBe(6);
    expect(await store.verify({ full: false })).toMatchObject({ ok: true });
    expect(await store.verify()).toMatchObject({ ok: true });
    // The chain goes on after a reconnect: the next checkpoint comes 10 records after the last.
    for (let n = 45; n < 56; n++) store.append(entry(n));
    await store.flush();
    expect(store.readAll().filter((r) => r.kind === 'checkpoint').map((r) => r.sequence)).toEqual([11, 22, 33, 44, 55]);
    await store.close();
  });

  it('an edit before the checkpoints is found by a full verification only; an edit after the last by the writer connecting', async () => {
    await written('cp-edit');
    await db.query("UPDATE warden_records SET payload = '{\"n\":999}' WHERE writer_id = 'cp-edit' AND writer_sequence = 5");
    const store = await db.open({ writer: 'cp-edit', checkpointEvery: EVERY });
    expect(await store.verify({ full: false })).toMatchObject({ ok: true });
    expect(await store.verify()).toMatchObject({ ok: false, writer: 'cp-edit', writerSequence: 5 });
    await store.close();

    await written('cp-late');
    await db.query("UPDATE warden_records SET payload = '{\"n\":999}' WHERE writer_id = 'cp-late' AND writer_sequence = 46");
    const refused = await connectFails('cp-late');
    expect(refused).toBeInstanceOf(JournalError);
    expect(refused).toMatchObject({ code: 'chain_broken', brokenAt: 46 });
  });

  it('a forged checkpoint is refused: one that hides a kill switch record, re-hashed with everything after it', async () => {
    await written('cp-forged');
    await rechain('cp-forged', 44, (payload) => {
      const p = payload as CheckpointPayload;
      return { ...p, state: { ...p.state, switches: p.state.switches.slice(1) } };
    });
    const refused = await connectFails('cp-forged');
    expect(refused).toMatchObject({ code: 'chain_broken', brokenAt: 44 });
    // A checkpoint that no longer names the record it follows is refused where it stands.
    await written('cp-moved');
    await rechain('cp-moved', 33, (payload) => ({ ...(payload as CheckpointPayload), covers: [31, 'a'.repeat(64)] }));
    expect(await connectFails('cp-moved')).toMatchObject({ code: 'chain_broken', brokenAt: 33 });
  });
});
