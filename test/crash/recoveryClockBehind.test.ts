/**
 * Rule 4: `HARD_TIMEOUT_MS` (30 s) is "a constant nobody can raise", and "retries never reset it".
 * A restart resumes an order until the deadline its claim stored (`deadline.at`). When the wall
 * clock of the restarted process reads earlier than the one that made the claim (an NTP step back,
 * a host whose clock lags), what is left of that deadline, as this clock reads it, is more than the
 * whole window: the resumed order must still be given at most 30 s, never that much more.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, HARD_TIMEOUT_MS, type BrokerAdapter, type Clock } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { mortal, tempJournalPath } from '../support/crash.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

describe('a restart whose clock reads a minute earlier than the claim\'s', () => {
  it('the resumed working order is cancelled within 30 s of the restart, not 90 s', async () => {
    const clock = new VirtualClock(T0);
    const venue = new ScriptedBroker({ clock }); // the order rests: nothing fills it
    const path = tempJournalPath();
    const first = mortal(venue, new SqliteJournal(path, clock));
    const engineA = createEngine({ broker: first.broker, journal: first.journal, clock, logger: silentLogger() });
    void engineA.execute(snapshot({ expiresAt: new Date(T0 + 3_600_000).toISOString() }));
    await clock.advance(1_000);
    expect(venue.callsOf('submitOrder')).toHaveLength(1);
    first.die();
    await clock.advance(1_000);
    const restartAt = clock.now();
    // The same timers, read by a wall clock that stepped back a minute.
    const behind: Clock = { now: () => clock.now() - 60_000, setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: (h) => clock.clearTimeout(h) };
    const engineB = createEngine({ broker: venue as BrokerAdapter, journal: new SqliteJournal(path, behind), clock: behind, logger: silentLogger() });
    const [result] = await clock.run(engineB.recovery);
    const cancels = venue.callsOf('cancelOrder');
    await engineB.close();
    expect(result!.status).toBe('failed_timeout');
    expect(cancels.length).toBeGreaterThan(0);
    expect(cancels[0]!.at - restartAt, 'the resumed order waited past a whole window').toBeLessThanOrEqual(HARD_TIMEOUT_MS);
  });
});
