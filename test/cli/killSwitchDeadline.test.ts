/**
 * `warden kill-switch set` on a journal a running engine holds, when its 3 s deadline comes: the
 * operator is told the truth. Withdrawn before the engine took it: "nothing was changed", and the
 * engine never applies it. Taken by the engine first: its answer, or "the engine took the command"
 * with where to look — never "nothing was changed". The engine runs in this process, on fake
 * timers, so each order of events is staged exactly. And a refusal exits the same way whether or
 * not an engine holds the journal.
 */
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEngine, PaperBroker } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { parse, UsageError } from '../../src/cli/args.js';
import { resolveCommand } from '../../src/cli/commands/resolve.js';
import { killSwitchCommand } from '../../src/cli/commands/killSwitch.js';
import { takeCommand, TAKEN_GRACE_MS } from '../../src/journal/sqliteCommands.js';
import { tempJournalPath } from '../support/crash.js';
import { silentLogger } from '../support/fixtures.js';

/** `warden kill-switch set off …` as the command line runs it; resolves with its exit code, or the error it would print. */
const setOff = (path: string) => killSwitchCommand.run(parse('kill-switch', killSwitchCommand, ['set', 'off', '--reason', 'morning', '--operator', 'bob', '--journal', path]), []).catch((e: unknown) => e as Error);
const lastCommandId = (db: Database.Database) => (db.prepare('SELECT max(id) AS id FROM commands').get() as { id: number }).id;

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('warden kill-switch set, at its deadline', () => {
  it('the engine had not taken it: withdrawn, "nothing was changed", and the switch stays active', async () => {
    vi.useFakeTimers();
    const path = tempJournalPath();
    const engine = createEngine({ broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }), journal: new SqliteJournal(path), logger: silentLogger() });
    engine.killSwitch.set('active', { reason: 'night', operator: 'ana' });
    const run = setOff(path);
    // The engine's loop is held up for 3 s: the operator's deadline passes before its next look at the inbox.
    vi.setSystemTime(Date.now() + 3_001);
    await vi.advanceTimersByTimeAsync(50);
    const e = await run;
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/did not apply the command within 3000 ms; nothing was changed/);
    await vi.advanceTimersByTimeAsync(1_000); // the engine looks again
    expect(engine.killSwitch.state()).toBe('active');
    vi.useRealTimers();
    await engine.close();
  });

  it('the engine took it before the deadline and answered in the grace: the engine’s answer, exit 0', async () => {
    vi.useFakeTimers();
    const printed = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const path = tempJournalPath();
    const journal = new SqliteJournal(path); // the writer; the test plays its engine, whose apply + fsync outlasts the deadline
    const engineDb = new Database(path);
    const run = setOff(path);
    const id = lastCommandId(engineDb);
    expect(takeCommand(engineDb, id)).toBe(true);
    await vi.advanceTimersByTimeAsync(3_000 + TAKEN_GRACE_MS / 2);
    engineDb.prepare('UPDATE commands SET applied_at = ?, outcome = ? WHERE id = ?').run('2026-01-01T00:00:04Z', JSON.stringify({ ok: true, message: 'global: active → off' }), id);
    await vi.advanceTimersByTimeAsync(100);
    expect(await run).toBe(0);
    expect(printed.mock.calls.flat().join('\n')).toMatch(/global: active → off {2}\(applied by the running engine, pid \d+\)/);
    engineDb.close();
    vi.useRealTimers();
    await journal.close();
  });

  it('the engine took it and no answer came in the grace either: exit 1, "the engine took the command", never "nothing was changed"', async () => {
    vi.useFakeTimers();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const path = tempJournalPath();
    const journal = new SqliteJournal(path);
    const engineDb = new Database(path);
    const run = setOff(path);
    expect(takeCommand(engineDb, lastCommandId(engineDb))).toBe(true);
    await vi.advanceTimersByTimeAsync(3_000 + TAKEN_GRACE_MS + 100);
    expect(await run).toBe(1);
    const said = errors.mock.calls.flat().join('\n');
    expect(said).toMatch(/^warden: .*took the command but its answer did not come within 5000 ms: it may have applied it; check `warden kill-switch show`/);
    expect(said).not.toMatch(/nothing was changed/);
    engineDb.close();
    vi.useRealTimers();
    await journal.close();
  });
});

describe('a refusal, with or without an engine on the journal', () => {
  it('the same input exits the same way: a usage error (exit 2) naming who refused', async () => {
    const resolveNope = (path: string) =>
      resolveCommand.run(parse('resolve', resolveCommand, ['nope', '--operator', 'o', '--note', 'n', '--journal', path]), []).then(
        (code) => ({ code, message: '' }),
        (e: unknown) => ({ code: e instanceof UsageError ? 2 : 1, message: (e as Error).message }),
      );
    const idle = tempJournalPath();
    await new SqliteJournal(idle).close();
    const alone = await resolveNope(idle);
    const path = tempJournalPath();
    const engine = createEngine({ broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }), journal: new SqliteJournal(path), logger: silentLogger() });
    const held = await resolveNope(path);
    await engine.close();
    expect(alone).toMatchObject({ code: 2, message: expect.stringMatching(/no execution of advisory nope/) });
    expect(held).toMatchObject({ code: 2, message: expect.stringMatching(/^the running engine \(pid \d+\) refused: .*no execution of advisory nope/) });
  });
});
