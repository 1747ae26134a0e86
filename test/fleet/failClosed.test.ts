/**
 * Fail closed: an engine on a shared PostgreSQL that cannot confirm the fleet's kill switch state
 * within the staleness budget takes no new orders (a global `warning`), and takes them again on
 * its own once PostgreSQL is back. Staleness is measured on a virtual clock: nothing waits 5 s.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, PaperBroker } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { useDatabase } from '../store/support/database.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

const db = useDatabase();

/**
 * Drives virtual time slowly while real I/O (PostgreSQL) is in flight: `VirtualClock.run` would jump
 * straight over the engine's staleness checks while a claim is on its way to the database. About as
 * fast as real time, so the watch's real-time backstop poll (1 s) keeps confirming within the budget.
 */
async function drive<T>(clock: VirtualClock, promise: Promise<T>, stepMs = 1): Promise<T> {
  let settled = false;
  void promise.finally(() => (settled = true)).catch(() => undefined);
  for (let i = 0; i < 5_000 && !settled; i++) {
    await new Promise((r) => setTimeout(r, 1));
    await clock.advance(stepMs);
  }
  return promise;
}
/** Bound on waiting for the watch to reconnect after the server is back (its backstop poll is 1 s of real time). */
const RECONNECT_BOUND_MS = 15_000;

describe('an engine on a fleet store fails closed', () => {
  it('no new orders while the fleet state is unconfirmed past the budget; trading again once PostgreSQL is back', async () => {
    const clock = new VirtualClock(T0);
    const store = await db.open({ writer: 'fail-closed', clock });
    const broker = new PaperBroker({ clock, seed: 5, latencyMs: [1, 2], markets: { EURUSD: { price: 1.1, fillAfterMs: 20 } } });
    const engine = createEngine({ broker, journal: store, clock, logger: silentLogger() });
    await engine.ready;
    expect(engine.killSwitch.state()).toBe('off');
    const first = await drive(clock, engine.execute(snapshot({ advisoryId: 'fc-1' })));
    expect(first.status).toBe('filled');

    await db.server().suspend();
    await clock.advance(5_000 + 300); // the budget, and one staleness check after it
    expect(engine.killSwitch.state('EURUSD')).toBe('warning');
    const halt = engine.killSwitch.history().at(-1)!;
    expect(halt).toMatchObject({ to: 'warning', symbol: null, type: 'risk_limit', operator: 'warden' });
    expect(halt.reason).toMatch(/last confirmed \d+ ms ago \(budget 5000 ms\)/);
    const refused = await drive(clock, engine.execute(snapshot({ advisoryId: 'fc-2' })));
    expect(refused).toMatchObject({ status: 'rejected', clientOrderId: null, killSwitch: { state: 'warning', phase: 'before' } });
    expect(refused.error?.code).toBe('kill_switch_active');

    await db.server().resume();
    const until = Date.now() + RECONNECT_BOUND_MS;
    while (engine.killSwitch.state() !== 'off' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      await clock.advance(250);
    }
    expect(engine.killSwitch.state()).toBe('off');
    expect(engine.killSwitch.history().at(-1)).toMatchObject({ to: 'off', reason: 'fleet kill switch state confirmed again' });
    const third = await drive(clock, engine.execute(snapshot({ advisoryId: 'fc-3' })));
    expect(third.status, JSON.stringify(third.error)).toBe('filled');
    // Nothing written during the outage was lost: the halt and the refused execution are in the store, which verifies.
    await store.flush();
    const records = await store.records();
    expect(records.some((r) => r.kind === 'kill_switch' && (r.payload as { to?: string }).to === 'warning')).toBe(true);
    expect(records.some((r) => r.kind === 'result' && r.advisoryId === 'fc-2')).toBe(true);
    expect((await store.verify()).ok).toBe(true);
    await engine.close();
  }, 60_000);

  it.each([1_000, 300])('a stricter budget (%i ms, at or below the watch\'s default 1 s backstop poll) works: ready, fails closed after it, confirmed again after', async (budget) => {
    const clock = new VirtualClock(T0);
    const store = await db.open({ writer: `budget-${budget}`, clock });
    const engine = createEngine({ broker: new PaperBroker({ clock }), journal: store, clock, logger: silentLogger(), killSwitchStalenessMs: budget });
    await engine.ready;
    expect(engine.killSwitch.state()).toBe('off');

    await db.server().suspend();
    await clock.advance(budget + 300); // the budget, and one staleness check after it
    expect(engine.killSwitch.state('EURUSD')).toBe('warning');
    expect(engine.killSwitch.history().at(-1)!.reason).toMatch(new RegExp(`\\(budget ${budget} ms\\)`));

    await db.server().resume();
    // The watch polls below the budget in real time; virtual time goes no faster, so it stays confirmed once back.
    const until = Date.now() + RECONNECT_BOUND_MS;
    while (engine.killSwitch.state() !== 'off' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      await clock.advance(50);
    }
    expect(engine.killSwitch.state()).toBe('off');
    expect(engine.killSwitch.history().at(-1)).toMatchObject({ to: 'off', reason: 'fleet kill switch state confirmed again' });
    await engine.close();
  }, 60_000);

  it('a budget above 5 s is refused: it can only be made stricter', async () => {
    const store = await db.open({ writer: 'budget' });
    expect(() => createEngine({ broker: new PaperBroker(), journal: store, killSwitchStalenessMs: 10_000, logger: silentLogger() })).toThrow(/at most 5000 ms/);
  });
});
