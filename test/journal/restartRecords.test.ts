/**
 * Opening a journal for a restart reads only what the restart needs, through indexes — and what
 * it restores is exactly what reading every record would restore.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, KillSwitchState } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { restoreFromJournal } from '../../src/engine/restore.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { mortal, tempJournalPath } from '../support/crash.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

describe('restartRecords', () => {
  it('restores the same state as every record does, from far fewer records', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 100));
    const path = tempJournalPath();
    // Finished executions (one flagged and left open, one flagged and resolved), switches, and one
    // execution whose process died before its send.
    const first = mortal(broker, new SqliteJournal(path, clock), (m, phase) => m === 'submitOrder' && phase === 'before' && broker.callsOf('submitOrder').length >= 4);
    const engine = createEngine({ broker: first.broker, journal: first.journal, clock, logger: silentLogger() });
    for (let i = 1; i <= 3; i++) await clock.run(engine.execute(snapshot({ advisoryId: `done-${i}`, symbol: i === 2 ? 'GBPUSD' : 'EURUSD' })));
    broker.script.protection.push({ kind: 'refuse' });
    const flagged = await clock.run(engine.execute(snapshot({ advisoryId: 'flagged', symbol: 'USDJPY', referencePrice: 150 })));
    expect(flagged.requiresManualResolution).toBe(true);
    engine.killSwitch.set(KillSwitchState.Warning, { symbol: 'XAUUSD', reason: 'news', operator: 'ops' });
    void engine.execute(snapshot({ advisoryId: 'unfinished', symbol: 'AUDUSD', referencePrice: 0.66 }));
    for (let i = 0; i < 1_000 && !first.dead(); i++) if (!(await clock.step())) break;
    expect(first.dead()).toBe(true);

    const journal = new SqliteJournal(path, clock, { readOnly: true });
    const all = journal.readAll();
    const needed = journal.restartRecords();
    expect(needed.length).toBeLessThan(all.length / 3);
    expect(JSON.stringify(restoreFromJournal(needed))).toBe(JSON.stringify(restoreFromJournal(all)));
    const restored = restoreFromJournal(needed);
    expect(restored.unfinished.map((u) => u.snapshot.advisoryId)).toEqual(['unfinished']);
    expect(restored.awaiting.map((a) => a.result.advisoryId)).toEqual(['flagged']);
    expect(restored.killSwitchChanges.some((c) => c.symbol === 'XAUUSD')).toBe(true);
    await journal.close();
  });
});
