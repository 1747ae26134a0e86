/**
 * The journal's command inbox: a command is either taken by the engine that writes the journal or
 * withdrawn by the operator's process at its deadline, never both. A withdrawn command is never
 * applied; a taken one is never reported as "nothing was changed". The races are staged in order
 * (no process races another, no test waits real time).
 */
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEngine, JournalError, PaperBroker, type OperatorCommand } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { createCommandInbox, takeCommand, TAKEN_GRACE_MS, watchInbox, withdrawCommand } from '../../src/journal/sqliteCommands.js';
import { tempJournalPath } from '../support/crash.js';
import { silentLogger } from '../support/fixtures.js';

const off: OperatorCommand = { kind: 'kill_switch', state: 'off', reason: 'morning', operator: 'bob' };

/** An inbox in a bare database, with `n` pending commands. */
function inbox(n: number): { db: Database.Database; ids: number[] } {
  const db = new Database(':memory:');
  createCommandInbox(db);
  const insert = db.prepare('INSERT INTO commands (at, payload) VALUES (?, ?)');
  const ids = Array.from({ length: n }, (_, i) => Number(insert.run('2026-01-01T00:00:00Z', JSON.stringify({ ...off, reason: `r${i}` })).lastInsertRowid));
  return { db, ids };
}

const rowOf = (db: Database.Database, id: number) => db.prepare('SELECT taken_at, applied_at, outcome FROM commands WHERE id = ?').get(id) as { taken_at: string | null; applied_at: string | null; outcome: string | null };

afterEach(() => {
  vi.useRealTimers();
});

describe('taking and withdrawing a command: only one of them succeeds', () => {
  it('taken first: the withdraw is refused and the row stays the engine’s', () => {
    const { db, ids } = inbox(1);
    expect(takeCommand(db, ids[0]!)).toBe(true);
    expect(withdrawCommand(db, ids[0]!)).toBe(false);
    expect(rowOf(db, ids[0]!)).toMatchObject({ applied_at: null, outcome: null });
    expect(takeCommand(db, ids[0]!)).toBe(false); // taken once
  });

  it('withdrawn first: the engine cannot take it', () => {
    const { db, ids } = inbox(1);
    expect(withdrawCommand(db, ids[0]!)).toBe(true);
    expect(takeCommand(db, ids[0]!)).toBe(false);
    expect(JSON.parse(rowOf(db, ids[0]!).outcome!)).toEqual({ ok: false, message: 'withdrawn: no answer in time' });
  });

  it('a withdraw that lands between the engine reading the inbox and taking the command: that command is never applied', () => {
    vi.useFakeTimers();
    const { db, ids } = inbox(2);
    const applied: string[] = [];
    // While the engine applies the first command, the operator's process behind the second reaches its deadline.
    const stop = watchInbox(db, (c) => {
      applied.push((c as { reason: string }).reason);
      if (applied.length === 1) expect(withdrawCommand(db, ids[1]!)).toBe(true);
      return { ok: true, message: 'applied' };
    }, { closed: () => false, settle: () => undefined });
    vi.advanceTimersByTime(1_000);
    stop();
    expect(applied).toEqual(['r0']);
    expect(JSON.parse(rowOf(db, ids[0]!).outcome!)).toEqual({ ok: true, message: 'applied' });
    expect(JSON.parse(rowOf(db, ids[1]!).outcome!)).toEqual({ ok: false, message: 'withdrawn: no answer in time' });
    expect(rowOf(db, ids[1]!).taken_at).toBeNull();
  });

  it('a journal that cannot record what the command changed: applied but not recorded, never "refused"; a refusal stays one', () => {
    vi.useFakeTimers();
    const { db, ids } = inbox(2);
    const stop = watchInbox(db, (c) => ((c as { reason: string }).reason === 'r0' ? { ok: true, message: 'EURUSD: active → off' } : { ok: false, message: 'not allowed' }), { closed: () => false, settle: () => { throw new Error('disk full'); } });
    vi.advanceTimersByTime(250);
    stop();
    const outcome = JSON.parse(rowOf(db, ids[0]!).outcome!) as { ok: boolean; unrecorded?: boolean; message: string };
    expect(outcome).toMatchObject({ ok: true, unrecorded: true });
    expect(outcome.message).toMatch(/EURUSD: active → off: applied on this engine, but the journal could not record it \(disk full\); a restart will not remember it/);
    expect(JSON.parse(rowOf(db, ids[1]!).outcome!)).toEqual({ ok: false, message: 'not allowed' });
  });

  it('an inbox made before commands were taken gains the column, whichever process opens it first', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE commands (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, payload TEXT NOT NULL, applied_at TEXT, outcome TEXT)');
    createCommandInbox(db);
    createCommandInbox(db);
    expect((db.prepare('PRAGMA table_info(commands)').all() as { name: string }[]).map((c) => c.name)).toContain('taken_at');
  });
});

describe('the operator’s deadline against the running engine', () => {
  it('the engine did not reach the inbox before the deadline: withdrawn, never applied, "nothing was changed"', async () => {
    vi.useFakeTimers();
    const path = tempJournalPath();
    const engine = createEngine({ broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }), journal: new SqliteJournal(path), logger: silentLogger() });
    engine.killSwitch.set('active', { reason: 'night', operator: 'ana' });
    const told = SqliteJournal.submitCommand(path, off, { timeoutMs: 100 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(150); // the operator's deadline (100 ms) comes before the engine's next look (200 ms)
    const e = await told;
    expect(e).toBeInstanceOf(JournalError);
    expect((e as JournalError).code).toBe('no_answer');
    expect((e as Error).message).toMatch(/nothing was changed/);
    await vi.advanceTimersByTimeAsync(1_000); // the engine looks again: the withdrawn command is not applied
    expect(engine.killSwitch.state()).toBe('active');
    vi.useRealTimers();
    await engine.close();
  });

  it('a withdraw attempted while the engine applies the command is refused: what the operator is told matches the switch', async () => {
    vi.useFakeTimers();
    const path = tempJournalPath();
    const attempts: boolean[] = [];
    let armed = false; // the operator's command, not the set below
    const logger = pino({ level: 'warn' }, {
      write(line: string) {
        if (!armed || !line.includes('kill switch changed')) return;
        // The operator's process, its deadline reached during the engine's apply + fsync, withdraws as submitCommand does.
        const db = new Database(path);
        const id = (db.prepare('SELECT max(id) AS id FROM commands').get() as { id: number }).id;
        attempts.push(withdrawCommand(db, id));
        db.close();
      },
    });
    const engine = createEngine({ broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }), journal: new SqliteJournal(path), logger });
    engine.killSwitch.set('active', { reason: 'night', operator: 'ana' });
    armed = true;
    const answer = SqliteJournal.submitCommand(path, off, { timeoutMs: 5_000 });
    await vi.advanceTimersByTimeAsync(300); // the engine's next look (200 ms), then the operator's (every 50 ms)
    const told = await answer;
    expect(attempts).toEqual([false]);
    expect(told.ok).toBe(true);
    expect(told.message).toMatch(/active → off/);
    expect(engine.killSwitch.state()).toBe('off');
    vi.useRealTimers();
    await engine.close();
  });

  it('taken before the deadline, answered within the grace: the operator gets the engine’s answer', async () => {
    vi.useFakeTimers();
    const path = tempJournalPath();
    const journal = new SqliteJournal(path); // the writer; this test plays its engine by hand
    const engineDb = new Database(path);
    const told = SqliteJournal.submitCommand(path, off, { timeoutMs: 100 }).catch((e: unknown) => e);
    const id = (engineDb.prepare('SELECT max(id) AS id FROM commands').get() as { id: number }).id;
    expect(takeCommand(engineDb, id)).toBe(true); // the engine takes it; its apply + fsync outlasts the deadline
    await vi.advanceTimersByTimeAsync(100 + TAKEN_GRACE_MS / 2);
    engineDb.prepare("UPDATE commands SET applied_at = ?, outcome = ? WHERE id = ?").run('2026-01-01T00:00:03Z', JSON.stringify({ ok: true, message: 'global: active → off' }), id);
    await vi.advanceTimersByTimeAsync(100);
    expect(await told).toEqual({ ok: true, message: 'global: active → off' });
    engineDb.close();
    vi.useRealTimers();
    await journal.close();
  });

  it('taken, and no answer within the grace either: "the engine took the command", never "nothing was changed"', async () => {
    vi.useFakeTimers();
    const path = tempJournalPath();
    const journal = new SqliteJournal(path);
    const engineDb = new Database(path);
    const told = SqliteJournal.submitCommand(path, off, { timeoutMs: 100 }).catch((e: unknown) => e);
    const id = (engineDb.prepare('SELECT max(id) AS id FROM commands').get() as { id: number }).id;
    expect(takeCommand(engineDb, id)).toBe(true);
    await vi.advanceTimersByTimeAsync(100 + TAKEN_GRACE_MS - 100);
    let settled = false;
    void told.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false); // still waiting for the engine's answer inside the grace
    await vi.advanceTimersByTimeAsync(200);
    const e = await told;
    expect((e as JournalError).code).toBe('taken_unanswered');
    expect((e as Error).message).toMatch(/took the command/);
    expect((e as Error).message).toMatch(/check `warden kill-switch show`/);
    expect((e as Error).message).not.toMatch(/nothing was changed/);
    expect(rowOf(engineDb, id)).toMatchObject({ applied_at: null, outcome: null }); // never marked withdrawn
    engineDb.close();
    vi.useRealTimers();
    await journal.close();
  });
});
