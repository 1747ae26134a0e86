/** a warning set while the engine is down; the resumed execution finds no order: nothing is sent, and on a venue that forgets ids the unknown outcome is flagged. */
import { describe, expect, it } from 'vitest';
import { createEngine, type BrokerAdapter } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { applyOperatorCommand } from '../../src/engine/operator.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { mortal, tempJournalPath } from '../support/crash.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

describe('a warning set while the engine is down, the order never reached the venue', () => {
  for (const durability of ['durable', 'openOrdersOnly'] as const) {
    it(`${durability}: the resumed execution sends nothing`, async () => {
      const clock = new VirtualClock(T0);
      const venue = new ScriptedBroker({ clock, clientOrderIdDurability: durability });
      const path = tempJournalPath();
      const first = mortal(venue, new SqliteJournal(path, clock), (m, phase) => m === 'submitOrder' && phase === 'before');
      const engineA = createEngine({ broker: first.broker, journal: first.journal, clock, logger: silentLogger() });
      void engineA.execute(snapshot());
      for (let i = 0; i < 1_000 && !first.dead(); i++) if (!(await clock.step())) break;
      expect(first.dead()).toBe(true);
      expect((await applyOperatorCommand(path, { kind: 'kill_switch', state: 'warning', symbol: 'EURUSD', reason: 'news', operator: 'ana' })).ok).toBe(true);
      const engineB = createEngine({ broker: venue as BrokerAdapter, journal: new SqliteJournal(path, clock), clock, logger: silentLogger() });
      const [result] = await clock.run(engineB.recovery);
      expect(venue.callsOf('submitOrder')).toHaveLength(0);
      expect(result!.filledQuantity).toBe(0);
      if (durability === "openOrdersOnly") expect(result!.requiresManualResolution, "the venue may still show the order later: outcome unknown").toBe(true);
      await engineB.close();
    });
  }
});
