import { describe, expect, it } from 'vitest';
import { createEngine, type BrokerAdapter } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { mortal, tempJournalPath } from '../support/crash.js';
import { checkInvariants } from '../support/invariants.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

type Method = Parameters<NonNullable<Parameters<typeof mortal>[2]>>[0];

/**
 * Runs one execution until the process "dies" (at `crashOn`, or after `crashAfterMs`), waits
 * `downtimeMs`, starts a new engine over the same journal file and broker, and lets it recover.
 */
async function crashAndRecover(options: {
  crashOn?: (method: Method, phase: 'before' | 'after') => boolean;
  crashAfterMs?: number;
  downtimeMs?: number;
  script?: (broker: ScriptedBroker, clock: VirtualClock) => void;
}) {
  const clock = new VirtualClock(T0);
  const venue = new ScriptedBroker({ clock });
  options.script?.(venue, clock);
  const path = tempJournalPath();
  const first = mortal(venue, new SqliteJournal(path, clock), options.crashOn);
  const engineA = createEngine({ broker: first.broker, journal: first.journal, clock, logger: silentLogger() });
  const s = snapshot();
  void engineA.execute(s);
  if (options.crashAfterMs !== undefined) {
    await clock.advance(options.crashAfterMs);
    first.die();
  } else {
    for (let i = 0; i < 10_000 && !first.dead(); i++) if (!(await clock.step())) break;
  }
  expect(first.dead(), 'the first process died where the test said').toBe(true);
  await clock.advance(options.downtimeMs ?? 2_000);

  const journal = new SqliteJournal(path, clock);
  const engineB = createEngine({ broker: venue as BrokerAdapter, journal, clock, logger: silentLogger() });
  const [result] = await clock.run(engineB.recovery);
  expect(result, 'the unfinished execution was resumed').toBeDefined();
  const records = journal.readAll();
  checkInvariants({ result: result!, snapshot: s, journal: records, venue: venue.venue });
  expect(await journal.verify()).toEqual({ ok: true });
  return { result: result!, venue, engine: engineB, journal, records, snapshot: s, clock, path };
}

describe('recovery after the process dies', () => {
  it('before the send reached the broker: looked up, not found, sent again with the same clientOrderId', async () => {
    const r = await crashAndRecover({
      crashOn: (m, phase) => m === 'submitOrder' && phase === 'before',
      script: (b, c) => b.onAccepted((o) => c.setTimeout(() => b.fillRemaining(o.clientOrderId, 1.1), 100)),
    });
    expect(r.result.status).toBe('filled');
    expect(r.venue.callsOf('submitOrder')).toHaveLength(1); // the first never reached it
    expect(r.result.attempts.map((a) => `${a.kind}:${a.outcome}`)).toEqual(['lookup:not_found', 'submit:acknowledged']);
  });

  it('after the broker accepted but before the answer was recorded: found and adopted, never resent', async () => {
    const r = await crashAndRecover({
      crashOn: (m, phase) => m === 'submitOrder' && phase === 'after',
      script: (b, c) => b.onAccepted((o) => c.setTimeout(() => b.fillRemaining(o.clientOrderId, 1.1), 5_000)),
    });
    expect(r.result.status).toBe('filled');
    expect(r.venue.callsOf('submitOrder')).toHaveLength(1);
    expect(r.venue.venue.snapshot().orders).toHaveLength(1);
  });

  it('while the order was working with a partial fill: adopted, monitored to the stored deadline, the part protected', async () => {
    const r = await crashAndRecover({
      crashAfterMs: 3_000,
      script: (b, c) => b.onAccepted((o) => c.setTimeout(() => b.fill(o.clientOrderId, 4, 1.1), 1_000)),
    });
    expect(r.result.status).toBe('partially_filled');
    expect(r.result.filledQuantity).toBe(4);
    // The deadline is the one stored at the first submission, not restarted.
    const cancel = r.venue.callsOf('cancelOrder')[0]!;
    expect(cancel.at - T0).toBe(30_000);
    expect(r.venue.venue.position('EURUSD')).toMatchObject({ quantity: 4, stopLoss: r.result.stopLoss });
  });

  it('after the fill, before protection was placed: protection is placed on restart', async () => {
    const r = await crashAndRecover({
      crashOn: (m, phase) => m === 'placeProtection' && phase === 'before',
      script: (b, c) => b.onAccepted((o) => c.setTimeout(() => b.fillRemaining(o.clientOrderId, 1.1), 100)),
    });
    expect(r.result.status).toBe('filled');
    expect(r.result.protectionPlaced).toBe(true);
    expect(r.venue.venue.position('EURUSD').stopLoss).toBe(r.result.stopLoss);
  });

  it('during reconciliation: the placed protection is found again (same id), one order, reconciled', async () => {
    const r = await crashAndRecover({
      crashOn: (m, phase) => m === 'getPosition' && phase === 'before',
      script: (b, c) => b.onAccepted((o) => c.setTimeout(() => b.fillRemaining(o.clientOrderId, 1.1), 100)),
    });
    expect(r.result.status).toBe('filled');
    expect(r.result.reconciliation?.status).toBe('matched');
    expect(r.venue.venue.snapshot().protections).toHaveLength(1);
  });

  it('down past the deadline: straight to cancelling the remainder, then protection of what filled and reconciliation', async () => {
    const r = await crashAndRecover({
      crashAfterMs: 2_000,
      downtimeMs: 60_000,
      script: (b, c) => b.onAccepted((o) => c.setTimeout(() => b.fill(o.clientOrderId, 2, 1.1), 500)),
    });
    expect(r.result.status).toBe('partially_filled');
    expect(r.venue.callsOf('cancelOrder')).toHaveLength(1);
    expect(r.venue.callsOf('submitOrder')).toHaveLength(1);
  });

  it('the restarted engine still refuses the advisory, and the journal reads as one story', async () => {
    const r = await crashAndRecover({ crashOn: (m, phase) => m === 'submitOrder' && phase === 'after' });
    const again = await r.clock.run(r.engine.execute(r.snapshot));
    expect(again.error?.code).toBe('duplicate_advisory');
    const kinds = r.records.filter((x) => x.executionId === r.result.executionId).map((x) => x.kind);
    expect(kinds.indexOf('claim')).toBeLessThan(kinds.indexOf('recovery'));
    expect(kinds.at(-1)).toBe('result');
  });
});

describe('state that survives a restart', () => {
  it('kill switches come back as they were, with their history', async () => {
    const clock = new VirtualClock(T0);
    const path = tempJournalPath();
    const a = createEngine({ broker: new ScriptedBroker({ clock }), journal: new SqliteJournal(path, clock), clock, logger: silentLogger() });
    a.killSwitch.set('active', { symbol: 'EURUSD', reason: 'news', operator: 'ops' });
    a.killSwitch.set('warning', { reason: 'volatile', operator: 'ops' });
    await a.close();
    const b = createEngine({ broker: new ScriptedBroker({ clock }), journal: new SqliteJournal(path, clock), clock, logger: silentLogger() });
    expect(b.killSwitch.state('EURUSD')).toBe('active');
    expect(b.killSwitch.state()).toBe('warning');
    expect(b.killSwitch.history()).toHaveLength(2);
    expect((await clock.run(b.execute(snapshot()))).error?.code).toBe('kill_switch_active');
  });

  it('a flag raised before the restart still halts its symbol and can be resolved after it', async () => {
    const clock = new VirtualClock(T0);
    const path = tempJournalPath();
    const broker = new ScriptedBroker({ clock });
    broker.onAccepted((o) => clock.setTimeout(() => broker.fillRemaining(o.clientOrderId, 1.1), 50));
    broker.venue.setPosition('EURUSD', 3, 1.05);
    const a = createEngine({ broker, journal: new SqliteJournal(path, clock), clock, logger: silentLogger() });
    expect((await clock.run(a.execute(snapshot()))).requiresManualResolution).toBe(true);
    await a.close();
    const b = createEngine({ broker, journal: new SqliteJournal(path, clock), clock, logger: silentLogger() });
    expect(b.awaitingResolution().map((r) => r.advisoryId)).toEqual(['adv-1']);
    expect(b.killSwitch.state('EURUSD')).toBe('warning');
    b.resolve('adv-1', { operator: 'carol', note: 'desk position' });
    expect(b.killSwitch.state('EURUSD')).toBe('off');
    await b.close();
    const c = createEngine({ broker, journal: new SqliteJournal(path, clock), clock, logger: silentLogger() });
    expect(c.awaitingResolution()).toEqual([]);
  });
});
