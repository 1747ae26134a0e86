/**
 * The bench's journal builder (bench/journalBuild.ts) writes by SQL what a writer would: the same
 * records, hashes and checkpoints, record for record, as the same workload appended through
 * `SqliteJournal`, a journal that passes a full verification and that a writer opens.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { buildJournal, benchWorkload, UNFINISHED } from '../../bench/journalBuild.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { snapshotHashMatches } from '../../src/domain/snapshot.js';
import type { FrozenSnapshot } from '../../src/domain/schemas.js';
import { readCheckpoint } from '../../src/journal/checkpoint.js';
import { systemClock, type Clock } from '../../src/domain/clock.js';
import { tempJournalPath } from '../support/crash.js';

const NOW = Date.parse('2026-03-02T09:00:00.000Z');
const RECORDS = 3_000;
const EVERY = 170;
const OPTIONS = { now: NOW, switchEvery: 40 };

/** The writer's clock, one millisecond a record from a day before NOW: the times the builder gives its records. */
const recordClock = (): Clock => {
  let n = 0;
  return { ...systemClock, now: () => NOW - 86_400_000 + ++n };
};

const rows = (path: string, sql: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(sql).all();
  } finally {
    db.close();
  }
};

describe('the bench journal builder', () => {
  it('writes the records, hashes and checkpoints the writer writes for the same workload', async () => {
    const built = tempJournalPath();
    buildJournal(built, RECORDS, EVERY, OPTIONS);
    const written = tempJournalPath();
    const writer = new SqliteJournal(written, recordClock(), { checkpointEvery: EVERY });
    for (const entries of benchWorkload(RECORDS, OPTIONS)) for (const entry of entries) writer.append(entry);
    await writer.flush();
    await writer.close();

    const all = 'SELECT * FROM records ORDER BY sequence';
    const expected = rows(written, all);
    expect(expected.length).toBeGreaterThan(RECORDS * 0.9);
    expect(rows(built, all)).toEqual(expected);
    expect(rows(built, 'SELECT * FROM advisories ORDER BY sequence')).toEqual(rows(written, 'SELECT * FROM advisories ORDER BY sequence'));
    // The same indexes, the same schema, as a writer keeps the file.
    const schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name";
    expect(rows(built, schema)).toEqual(rows(written, schema));
    expect((rows(built, 'PRAGMA journal_mode') as { journal_mode: string }[])[0]!.journal_mode).toBe('wal');
  });

  it('builds a journal that verifies in full, that a writer opens, with its unfinished executions and kill switch changes', async () => {
    const path = tempJournalPath();
    buildJournal(path, RECORDS, EVERY, OPTIONS);
    const reader = new SqliteJournal(path, systemClock, { readOnly: true });
    expect(await reader.verify({ full: true })).toEqual({ ok: true });
    const records = await reader.records();
    await reader.close();
    const claims = records.filter((r) => r.kind === 'claim');
    expect(claims.length).toBe(RECORDS / 20);
    expect(claims.every((r) => snapshotHashMatches((r.payload as { snapshot: FrozenSnapshot }).snapshot))).toBe(true);
    const checkpoints = records.filter((r) => r.kind === 'checkpoint');
    expect(checkpoints.length).toBe(Math.floor((records.length - checkpoints.length) / EVERY));
    const last = readCheckpoint(checkpoints.at(-1)!)!;
    expect(last.state.unfinished.length).toBe(UNFINISHED);
    expect(last.state.switches.length).toBe(records.filter((r) => r.kind === 'kill_switch').length);
    expect(last.state.switches.length).toBeGreaterThan(0);
    // A writer opens it (from its last checkpoints) and restarts from it.
    const writer = new SqliteJournal(path);
    expect(writer.restartRecords()[0]!.kind).toBe('checkpoint');
    await writer.close();
  });
});
