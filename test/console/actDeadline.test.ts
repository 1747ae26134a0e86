/**
 * The console acts through `applyOperatorCommand`, the CLI's path. A command the running engine
 * took but did not answer in time may have been applied: it is never applied a second time
 * directly on the journal (even once that engine is gone), and the operator is told it was taken.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JournalError } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { adminEngine, applyOperatorCommand } from '../../src/engine/operator.js';
import { takeCommand, TAKEN_GRACE_MS } from '../../src/journal/sqliteCommands.js';
import { tempJournalPath } from '../support/crash.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('the console’s command at its deadline', () => {
  it('taken by an engine that then went away: not applied again here, and the answer says it was taken', async () => {
    vi.useFakeTimers();
    const path = tempJournalPath();
    const journal = new SqliteJournal(path); // the running engine's writer
    const engineDb = new Database(path);
    const acted = applyOperatorCommand(path, { kind: 'kill_switch', state: 'active', symbol: 'EURUSD', reason: 'news', operator: 'ana' }).catch((e: unknown) => e);
    expect(takeCommand(engineDb, (engineDb.prepare('SELECT max(id) AS id FROM commands').get() as { id: number }).id)).toBe(true);
    engineDb.close();
    // The engine goes away after taking it (its lock released): nobody writes the journal now.
    const closing = journal.close();
    await vi.advanceTimersByTimeAsync(10);
    await closing;
    expect(SqliteJournal.writerOf(path)).toBeNull();
    await vi.advanceTimersByTimeAsync(3_000 + TAKEN_GRACE_MS + 100);
    const e = await acted;
    expect(e).toBeInstanceOf(JournalError);
    expect((e as JournalError).code).toBe('taken_unanswered');
    expect((e as Error).message).toMatch(/took the command/);
    vi.useRealTimers();
    // Not written a second time beside the engine: what the journal says is what the engine did.
    const { engine } = adminEngine(path, { readOnly: true });
    expect(engine.killSwitch.state('EURUSD')).toBe('off');
    expect(engine.killSwitch.history()).toEqual([]);
    await engine.close();
  });
});
