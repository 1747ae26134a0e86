/**
 * A restart resumes unfinished executions only at the broker their orders went to: the claim
 * records the broker's identity, and any other broker is refused with the one it needs — never a
 * fresh paper broker that has never seen the orders and would be sent them again.
 */
import { describe, expect, it } from 'vitest';
import { createEngine, WardenUsageError, type BrokerAdapter } from '../../src/index.js';
import { SqliteJournal } from '../../src/entries/sqlite.js';
import { ScriptedBroker, VirtualClock } from '../../src/testing/index.js';
import { warden } from '../support/cli.js';
import { mortal, tempJournalPath } from '../support/crash.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

/** A journal holding one execution that died just before its order was sent to `identity`. */
async function unfinishedAt(identity: string) {
  const clock = new VirtualClock(T0);
  const venue = Object.assign(new ScriptedBroker({ clock }), { identity });
  const path = tempJournalPath();
  const dying = mortal(venue, new SqliteJournal(path, clock), (m, phase) => m === 'submitOrder' && phase === 'before');
  const engine = createEngine({ broker: { ...dying.broker, identity } as BrokerAdapter, journal: dying.journal, clock, logger: silentLogger() });
  void engine.execute(snapshot());
  for (let i = 0; i < 1_000 && !dying.dead(); i++) if (!(await clock.step())) break;
  expect(dying.dead()).toBe(true);
  return { path, clock, venue };
}

describe('recover at the right broker only', () => {
  it('the claim records the broker; another broker is refused, naming the one needed; the same one resumes', async () => {
    const { path, clock, venue } = await unfinishedAt('http:http://127.0.0.1:7070');
    const claim = new SqliteJournal(path, clock, { readOnly: true }).readAll().find((r) => r.kind === 'claim');
    expect(claim?.payload).toMatchObject({ broker: 'http:http://127.0.0.1:7070' });

    const other = Object.assign(new ScriptedBroker({ clock }), { identity: 'paper:in-process:fresh' });
    let refused: unknown = null;
    const opened = new SqliteJournal(path, clock);
    try {
      createEngine({ broker: other, journal: opened, clock, logger: silentLogger() });
    } catch (e) {
      refused = e;
    }
    await opened.close(); // the caller's journal: it stays the caller's to close
    expect(refused).toBeInstanceOf(WardenUsageError);
    expect((refused as WardenUsageError).code).toBe('broker_mismatch');
    expect((refused as Error).message).toContain('http:http://127.0.0.1:7070');
    expect(other.callsOf('submitOrder')).toHaveLength(0);

    const journal = new SqliteJournal(path, clock);
    const engine = createEngine({ broker: venue, journal, clock, logger: silentLogger() });
    const [result] = await clock.run(engine.recovery);
    expect(result?.clientOrderId).toBeTruthy();
    await engine.close();
  });

  it('warden recover without --broker says which broker the orders went to, and sends nothing', async () => {
    const { path } = await unfinishedAt('http:http://127.0.0.1:7070');
    const r = await warden(['recover', '--journal', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/recover needs --broker: 1 unfinished execution\(s\) were sent to http:\/\/127\.0\.0\.1:7070/);
    const paper = await warden(['recover', '--broker', 'paper', '--journal', path]);
    expect(paper.code).toBe(2);
    expect(paper.stderr).toMatch(/were sent to http:\/\/127\.0\.0\.1:7070, not to paper:in-process/);
  }, 60_000);
});
