/**
 * A journal that stops accepting writes (disk full, read-only remount) is fail-safe: new orders are
 * halted engine-wide, what is in flight is still cancelled, protected and reconciled, every
 * execute() settles flagged, the error is logged — and nothing is ever thrown into the void.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEngine, KillSwitchState, MemoryJournal, type Journal, type JournalEntry } from '../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { capturingLogger, snapshot, T0 } from '../support/fixtures.js';

/** A journal that works until `fail()` is called, then throws on every append, as a full disk does. */
function failingJournal(clock: VirtualClock) {
  const inner = new MemoryJournal(clock);
  let broken = false;
  const journal: Journal = {
    append: (entry: JournalEntry) => {
      if (broken) throw Object.assign(new Error('SQLITE_FULL: database or disk is full'), { code: 'SQLITE_FULL' });
      return inner.append(entry);
    },
    readAll: () => inner.readAll(),
    records: (f) => inner.records(f),
    verify: () => inner.verify(),
    close: () => inner.close(),
  };
  return { journal, fail: () => void (broken = true) };
}

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => void unhandled.push(e);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
});

describe('a failing journal is fail-safe (DESIGN §7)', () => {
  it('while an order works: protected when it fills, settled flagged, new orders halted, the error logged', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10 });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fill(o.clientOrderId, o.quantity, 1.1), 2_000));
    const { journal, fail } = failingJournal(clock);
    const { logger, lines } = capturingLogger();
    const engine = createEngine({ broker, journal, clock, logger });
    const running = engine.execute(snapshot());
    await clock.advance(500);
    fail(); // the disk fills while the order works
    const result = await clock.run(running);
    expect(result.status).toBe('filled');
    expect(result.protectionPlaced).toBe(true); // the fill was still protected
    expect(broker.callsOf('placeProtection')).toHaveLength(1);
    expect(result.requiresManualResolution).toBe(true);
    expect(result.error?.code).toBe('journal_unavailable');
    expect(engine.killSwitch.state()).toBe(KillSwitchState.Warning);
    expect(lines.some((l) => l.level >= 50 && /journal unwritable/.test(l.msg))).toBe(true);

    const next = await clock.run(engine.execute(snapshot({ advisoryId: 'after-the-failure' })));
    expect(next).toMatchObject({ status: 'rejected', error: { code: 'kill_switch_active' } });
    expect(broker.callsOf('submitOrder')).toHaveLength(1);
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
  });

  it('failing before the claim: nothing is sent, the execution is refused, execute() settles', async () => {
    const clock = new VirtualClock(T0);
    const broker = new ScriptedBroker({ clock, latencyMs: 10 });
    const { journal, fail } = failingJournal(clock);
    const { logger } = capturingLogger();
    const engine = createEngine({ broker, journal, clock, logger });
    fail();
    const result = await clock.run(engine.execute(snapshot()));
    expect(broker.callsOf('submitOrder')).toHaveLength(0);
    expect(result.status === 'rejected' || result.status === 'failed').toBe(true);
    expect(result.filledQuantity).toBe(0);
    await new Promise((r) => setImmediate(r));
    expect(unhandled).toEqual([]);
  });
});
