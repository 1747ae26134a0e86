/**
 * The kill switch set while the pre-trade limits ask the venue for a quote (which may take
 * seconds): the execution is refused for the switch (rule 3 BEFORE) at once and before its
 * advisory is claimed, so once the operator lifts the switch the same approved snapshot can run.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, PaperBroker } from '../../../src/index.js';
import { VirtualClock } from '../../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';
import { SqliteJournal } from '../../../src/entries/sqlite.js';
import { tempJournalPath } from '../../support/crash.js';

describe('rule 3 before: a switch while the limits ask the venue refuses before the claim', () => {
  it('a snapshot refused for the kill switch can execute once the switch is off (as when refused in validating)', async () => {
    const clock = new VirtualClock(T0);
    const broker = new PaperBroker({ clock, latencyMs: [200, 200], markets: { EURUSD: { price: 1.1 } } });
    const engine = createEngine({ broker, clock, logger: silentLogger(), limits: { symbols: { '*': { priceCollarPct: 0.05 } } } });
    const s = snapshot();
    const started = engine.execute(s);
    await clock.advance(50); // the quote is being asked for
    engine.killSwitch.set('active', { reason: 'news', operator: 'ana' });
    const first = await clock.run(started);
    expect(first.status).toBe('rejected');
    expect(first.error?.code).toBe('kill_switch_active');
    engine.killSwitch.set('off', { reason: 'news over', operator: 'ana' });
    const second = await clock.run(engine.execute(s));
    expect(second.error?.code).not.toBe('duplicate_advisory');
    await engine.close();
  });

  it('control: refused in validating, the same snapshot executes once the switch is off', async () => {
    const clock = new VirtualClock(T0);
    const broker = new PaperBroker({ clock, latencyMs: [200, 200], markets: { EURUSD: { price: 1.1 } } });
    const engine = createEngine({ broker, clock, logger: silentLogger(), limits: { symbols: { '*': { priceCollarPct: 0.05 } } } });
    const s = snapshot();
    engine.killSwitch.set('active', { reason: 'news', operator: 'ana' });
    expect((await clock.run(engine.execute(s))).error?.code).toBe('kill_switch_active');
    engine.killSwitch.set('off', { reason: 'news over', operator: 'ana' });
    const second = await clock.run(engine.execute(s));
    expect(second.error?.code).not.toBe('duplicate_advisory');
    await engine.close();
  });

  it('a shutdown (deploy, Ctrl-C) during the quote: after the restart the snapshot can still run', async () => {
    const clock = new VirtualClock(T0);
    const path = tempJournalPath();
    const broker = new PaperBroker({ clock, latencyMs: [200, 200], markets: { EURUSD: { price: 1.1 } } });
    const limits = { symbols: { '*': { priceCollarPct: 0.05 } } };
    const a = createEngine({ broker, clock, journal: new SqliteJournal(path, clock), logger: silentLogger(), limits });
    const s = snapshot();
    const started = a.execute(s);
    await clock.advance(50);
    const done = a.shutdown({ reason: 'deploy' });
    const first = await clock.run(started);
    await clock.run(done);
    expect(first.status).toBe('rejected');
    expect(broker.venue.snapshot().orders).toHaveLength(0); // nothing was sent
    await clock.run(a.close());
    const b = createEngine({ broker, clock, journal: new SqliteJournal(path, clock), logger: silentLogger(), limits });
    const again = await clock.run(b.execute(s));
    await clock.run(b.close());
    expect(again.error?.code).not.toBe('duplicate_advisory');
  });
});
