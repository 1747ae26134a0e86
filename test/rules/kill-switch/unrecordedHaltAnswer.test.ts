/**
 * While the journal fails, an operator's change that halts more is applied and the operator is told
 * it was not recorded (README, "A journal that fails is fail-safe"; `src/engine/recordedControls.ts`).
 * "Through `warden kill-switch set` the answer says the same." The CLI and the console read an
 * outcome with `ok: false` as a refusal ("the running engine refused: …", "refused: …", exit 1), so
 * an applied change must not come back as `ok: false`: at night, "refused" reads as "nothing
 * stopped" and the operator acts on it.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, JournalError, PaperBroker, type Journal } from '../../../src/index.js';
import { SqliteJournal } from '../../../src/entries/sqlite.js';
import { applyOperatorCommand } from '../../../src/engine/operator.js';
import { tempJournalPath } from '../../support/crash.js';
import { silentLogger } from '../../support/fixtures.js';

describe('an operator halts everything through the inbox while the disk is full', () => {
  // Open defect: commandHandler turns the JournalError that says "applied … not recorded" into
  // `ok: false`, which the CLI and the console print as a refusal. Drop `.fails` with the fix.
  it.fails('the switch is active on the engine, and the answer is not a refusal', async () => {
    const path = tempJournalPath();
    const inner = new SqliteJournal(path);
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
    const engine = createEngine({ broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }), journal: Object.assign(journal, { watchCommands: inner.watchCommands.bind(inner) }), logger: silentLogger() });
    try {
      full = true;
      const told = await applyOperatorCommand(path, { kind: 'kill_switch', state: 'active', reason: 'venue outage: stop everything', operator: 'ana' });
      expect(engine.killSwitch.state()).toBe('active'); // applied: stopping matters most
      expect(told.message).toMatch(/applied on this engine, but the journal could not record it/);
      expect(told.ok).toBe(true);
    } finally {
      await engine.close();
    }
  });
});
