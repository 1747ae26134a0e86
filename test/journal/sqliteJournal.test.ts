import Database from 'better-sqlite3';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createEngine, JournalError } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { tempJournalPath } from '../support/crash.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

const entry = (n: number) => ({ kind: 'transition' as const, executionId: 'e', advisoryId: 'a', snapshotHash: null, from: 'x', to: `y${n}`, event: 'E', payload: { n } });

async function journalWithExecution(path: string) {
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock });
  broker.onAccepted((o) => clock.setTimeout(() => broker.fillRemaining(o.clientOrderId, 1.1), 50));
  const journal = new SqliteJournal(path, clock);
  const engine = createEngine({ broker, journal, clock, logger: silentLogger() });
  const result = await clock.run(engine.execute(snapshot()));
  await engine.close();
  return result;
}

/** The error opening `path` throws, or undefined. */
const openingError = (path: string): unknown => {
  try {
    new SqliteJournal(path);
    return undefined;
  } catch (e) {
    return e;
  }
};

const expectRefused = (path: string, code: JournalError['code'], message: RegExp) => {
  const before = readFileSync(path);
  const error = openingError(path);
  expect(error).toBeInstanceOf(JournalError);
  expect((error as JournalError).code).toBe(code);
  expect((error as JournalError).message).toMatch(message);
  expect(readFileSync(path).equals(before), 'the refused file is left exactly as it was').toBe(true);
};

describe('SqliteJournal', () => {
  it('keeps every record across close and reopen, chained, in order', async () => {
    const path = tempJournalPath();
    const result = await journalWithExecution(path);
    const reopened = new SqliteJournal(path);
    const records = await reopened.records({ executionId: result.executionId });
    expect(records.at(-1)).toMatchObject({ kind: 'result', event: 'filled' });
    expect(records.find((r) => r.kind === 'claim')?.payload).toMatchObject({ clientOrderId: result.clientOrderId });
    expect(await reopened.verify()).toEqual({ ok: true });
    const next = reopened.append(entry(1));
    expect(next.sequence).toBe(reopened.readAll().length);
    expect(next.previousHash).toBe(reopened.readAll().at(-2)!.hash);
    await reopened.close();
  });

  it('is durable: synchronous=FULL in WAL mode', () => {
    const path = tempJournalPath();
    const j = new SqliteJournal(path);
    j.append(entry(1));
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    expect((j as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true })).toBe(2); // FULL
  });

  it('one advisory per journal, for the file\'s whole life, even for a second engine on the same file', async () => {
    const path = tempJournalPath();
    await journalWithExecution(path);
    const j = new SqliteJournal(path);
    expect(() => j.append({ kind: 'claim', executionId: 'other', advisoryId: 'adv-1', snapshotHash: null, payload: {} })).toThrow(/already executed/);
    // The refused claim left nothing behind.
    expect(j.readAll().filter((r) => r.kind === 'claim')).toHaveLength(1);
    expect(await j.verify()).toEqual({ ok: true });
  });

  it('refuses a file that is not a journal, and does not touch it', () => {
    const path = tempJournalPath();
    writeFileSync(path, 'these are my trading notes, not a database\n');
    expectRefused(path, 'not_a_journal', /not a Warden journal/);
  });

  it('refuses an SQLite database of another schema', () => {
    const path = tempJournalPath();
    const db = new Database(path);
    db.exec('CREATE TABLE trades (id INTEGER PRIMARY KEY, symbol TEXT)');
    db.close();
    expectRefused(path, 'unsupported_schema', /schema unknown, expected warden-journal\/1/);
  });

  it('refuses an edited journal, naming the first broken record', async () => {
    const path = tempJournalPath();
    await journalWithExecution(path);
    const db = new Database(path);
    db.prepare("UPDATE records SET payload = '{\"forged\":true}' WHERE sequence = 5").run();
    db.close();
    expectRefused(path, 'chain_broken', /fails verification at record 5/);
  });

  it('refuses a journal with a record removed', async () => {
    const path = tempJournalPath();
    await journalWithExecution(path);
    const db = new Database(path);
    db.prepare('DELETE FROM records WHERE sequence = 3').run();
    db.close();
    expectRefused(path, 'chain_broken', /record 4/);
  });

  it('refuses a truncated file', async () => {
    const path = tempJournalPath();
    const j = new SqliteJournal(path);
    for (let i = 0; i < 200; i++) j.append(entry(i));
    await j.close();
    truncateSync(path, Math.floor(statSync(path).size / 2));
    expect(openingError(path)).toBeInstanceOf(JournalError);
  });

  it('an engine over a refused file does not start', () => {
    const path = tempJournalPath();
    writeFileSync(path, 'not a journal');
    expect(() => createEngine({ broker: new ScriptedBroker(), journal: new SqliteJournal(path) })).toThrow(JournalError);
  });
});
