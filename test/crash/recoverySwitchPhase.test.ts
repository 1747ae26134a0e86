/**
 * An operator's kill switch set (through the operator command path, as the CLI does) while no
 * engine runs on the journal, then a restart that resumes a working order: cancelled at once, and
 * the result says the switch met it DURING submission.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, type BrokerAdapter } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { applyOperatorCommand } from '../../src/engine/operator.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { mortal, tempJournalPath } from '../support/crash.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

describe('a switch set while the engine is down, then recovery', () => {
  it('active on the symbol: the resumed order is cancelled at once and its result says phase during', async () => {
    const clock = new VirtualClock(T0);
    const venue = new ScriptedBroker({ clock });
    const path = tempJournalPath();
    const first = mortal(venue, new SqliteJournal(path, clock));
    const engineA = createEngine({ broker: first.broker, journal: first.journal, clock, logger: silentLogger() });
    const s = snapshot();
    void engineA.execute(s);
    await clock.advance(1_000);
    expect(venue.callsOf('submitOrder')).toHaveLength(1);
    first.die();
    const out = await applyOperatorCommand(path, { kind: 'kill_switch', state: 'active', symbol: 'EURUSD', reason: 'news', operator: 'ana' });
    expect(out.ok).toBe(true);
    await clock.advance(1_000);
    const restartAt = clock.now();
    const engineB = createEngine({ broker: venue as BrokerAdapter, journal: new SqliteJournal(path, clock), clock, logger: silentLogger() });
    expect(engineB.killSwitch.state('EURUSD')).toBe('active');
    const [result] = await clock.run(engineB.recovery);
    const cancels = venue.callsOf('cancelOrder');
    expect(cancels.length).toBeGreaterThan(0);
    expect(cancels[0]!.at - restartAt, 'cancel requested at once after the restart').toBeLessThan(2_000);
    expect(result!.status).toBe('cancelled');
    expect(result!.killSwitch.phase).toBe('during');
    await engineB.close();
  });
});
