/**
 * Operators' controls while the journal cannot record (disk full). The restart that brings the
 * journal back lifts its hold and knows only what was recorded, so a change made meanwhile would
 * vanish silently with it. A change that halts more is applied and the operator is told it was not
 * recorded; a change that halts less, and a resolution, are refused with nothing changed.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, JournalError, PaperBroker, type Journal } from '../../../src/index.js';
import { SqliteJournal } from '../../../src/entries/sqlite.js';
import { applyOperatorCommand } from '../../../src/engine/operator.js';
import { ScriptedBroker, VirtualClock } from '../../../src/testing/index.js';
import { tempJournalPath } from '../../support/crash.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

/** A durable journal whose disk fills up when the test says. */
function filling(inner: SqliteJournal) {
  let full = false;
  const journal: Journal = {
    append: (e) => {
      if (full) throw new JournalError('unavailable', 'SQLITE_FULL: database or disk is full');
      return inner.append(e);
    },
    readAll: () => inner.readAll(),
    records: (f) => inner.records(f),
    verify: () => inner.verify(),
    close: () => inner.close(),
  };
  // It hears operators' commands (the inbox lives in the same file).
  return { journal: Object.assign(journal, { watchCommands: inner.watchCommands.bind(inner) }), fill: () => void (full = true) };
}

function setUp() {
  const path = tempJournalPath();
  const disk = filling(new SqliteJournal(path));
  const broker = new PaperBroker({ markets: { EURUSD: { price: 1.1 } } });
  const engine = createEngine({ broker, journal: disk.journal, logger: silentLogger() });
  return { path, disk, broker, engine };
}

describe('kill switch, limits and resolve while the journal fails', () => {
  it('a change that halts more is applied, and the operator is told it was not recorded (a restart will not remember it)', async () => {
    const { path, disk, broker, engine } = setUp();
    engine.killSwitch.set('warning', { symbol: 'EURUSD', reason: 'before the disk filled', operator: 'ana' });
    disk.fill();
    expect(() => engine.killSwitch.set('active', { reason: 'venue outage: stop everything', operator: 'ana' })).toThrow(/global off → active applied on this engine, but the journal could not record it/);
    expect(engine.killSwitch.state()).toBe('active');
    await engine.close();
    const again = createEngine({ broker, journal: new SqliteJournal(path), logger: silentLogger() });
    // What was recorded survives; what the operator was told was not recorded does not.
    expect(again.killSwitch.state('EURUSD')).toBe('warning');
    expect(again.killSwitch.state()).toBe('off');
    await again.close();
  });

  it('a change that halts less is refused and changes nothing', async () => {
    const { disk, engine } = setUp();
    engine.killSwitch.set('active', { symbol: 'EURUSD', reason: 'news', operator: 'ana' });
    disk.fill();
    expect(() => engine.killSwitch.set('off', { symbol: 'EURUSD', reason: 'news over', operator: 'ana' })).toThrow(/EURUSD not changed \(still active\): the journal cannot record the change/);
    expect(() => engine.killSwitch.set('warning', { symbol: 'EURUSD', reason: 'news over', operator: 'ana' })).toThrow(JournalError);
    expect(engine.killSwitch.state('EURUSD')).toBe('active');
    await engine.close();
  });

  it('a limit tightening is applied like a halt, and the operator is told it was not recorded (here and through the inbox)', async () => {
    const path = tempJournalPath();
    const disk = filling(new SqliteJournal(path));
    const broker = new PaperBroker({ markets: { EURUSD: { price: 1.1 } } });
    const engine = createEngine({ broker, journal: disk.journal, logger: silentLogger(), limits: { symbols: { '*': { maxQuantity: 100 } } } });
    disk.fill();
    expect(() => engine.limits.set({ symbols: { EURUSD: { maxQuantity: 5 } } }, { operator: 'ana', reason: 'news' })).toThrow(/limits tightened on this engine .*but the journal could not record it.*a restart will not remember it/);
    expect(engine.limits.current().symbols.EURUSD?.maxQuantity).toBe(5);
    const told = await applyOperatorCommand(path, { kind: 'limits', change: { symbols: { EURUSD: { maxQuantity: 4 } } }, operator: 'ana', reason: 'more news' });
    expect(told).toMatchObject({ ok: true, unrecorded: true });
    expect(told.message).toMatch(/could not record it/);
    expect(engine.limits.current().symbols.EURUSD?.maxQuantity).toBe(4);
    // Refused input is still refused as such, and changes nothing.
    expect(() => engine.limits.set({ symbols: { EURUSD: { maxQuantity: 50 } } }, { operator: 'ana', reason: 'x' })).toThrow(/can only be tightened/);
    expect(engine.limits.current().symbols.EURUSD?.maxQuantity).toBe(4);
    await engine.close();
  });

  it('bad input is refused as bad input, whatever the journal', async () => {
    const { disk, engine } = setUp();
    disk.fill();
    expect(() => engine.killSwitch.set('active', { reason: '', operator: 'ana' })).toThrow(/needs a reason/);
    expect(engine.killSwitch.holds().map((h) => h.kind)).toEqual([]);
    await engine.close();
  });

  it('the same through the operator inbox (`warden kill-switch set`): the answer says so', async () => {
    const { path, disk, engine } = setUp();
    engine.killSwitch.set('active', { symbol: 'EURUSD', reason: 'news', operator: 'ana' });
    disk.fill();
    const told = await applyOperatorCommand(path, { kind: 'kill_switch', state: 'off', symbol: 'EURUSD', reason: 'news over', operator: 'ana' });
    expect(told.ok).toBe(false);
    expect(told.message).toMatch(/not changed \(still active\)/);
    expect(engine.killSwitch.state('EURUSD')).toBe('active');
    await engine.close();
  });

  it('a resolution is refused and the flag keeps halting its symbol', async () => {
    const clock = new VirtualClock(T0);
    const disk = filling(new SqliteJournal(tempJournalPath(), clock));
    const broker = new ScriptedBroker({ clock });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fillRemaining(o.clientOrderId, 1.1), 100));
    broker.script.position.push({ kind: 'report', report: { symbol: 'EURUSD', quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null } });
    const engine = createEngine({ broker, journal: disk.journal, clock, logger: silentLogger() });
    const flagged = await clock.run(engine.execute(snapshot()));
    expect(flagged.requiresManualResolution).toBe(true);
    disk.fill();
    expect(() => engine.killSwitch.set('active', { symbol: 'GBPUSD', reason: 'news', operator: 'ana' })).toThrow(JournalError); // the journal's failure is now known
    expect(() => engine.resolve(flagged.advisoryId!, { operator: 'carol', note: 'checked at the venue' })).toThrow(/not resolved: the journal cannot record the resolution/);
    expect(engine.awaitingResolution().map((r) => r.advisoryId)).toEqual([flagged.advisoryId]);
    expect(engine.killSwitch.state('EURUSD')).toBe('warning');
    await clock.run(engine.close());
  });
});
