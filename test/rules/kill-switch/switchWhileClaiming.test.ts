/**
 * Rule 3 BEFORE when the switch moves while the advisory's claim is being recorded: the order is
 * refused and nothing is sent. The claim is already on record and is never taken back, so the
 * advisory is consumed, and the refusal says so (docs/rules.md §3).
 */
import { describe, expect, it } from 'vitest';
import { createEngine, MemoryJournal, type StoreClaim } from '../../../src/index.js';
import { ScriptedBroker } from '../../../src/testing/index.js';
import { harness, silentLogger, snapshot } from '../../support/fixtures.js';

/** A store that decides claims and answers each when the test says (a fleet store's round trip). */
class HeldClaims extends MemoryJournal {
  readonly answers: ((outcome: 'claimed' | 'duplicate') => void)[] = [];
  claim(_claim: StoreClaim): Promise<'claimed' | 'duplicate'> {
    return new Promise((resolve) => this.answers.push(resolve));
  }
}

describe('rule 3: the kill switch while the claim is being recorded', () => {
  it('refused with nothing sent; the message says the advisory is consumed, and running it again is a duplicate', async () => {
    const { clock } = harness();
    const store = new HeldClaims(clock);
    const broker = new ScriptedBroker({ clock });
    const engine = createEngine({ broker, clock, journal: store, logger: silentLogger() });
    const s = snapshot();
    const first = engine.execute(s);
    for (let i = 0; i < 20 && store.answers.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(store.answers).toHaveLength(1);
    engine.killSwitch.set('active', { reason: 'news', operator: 'ops' });
    store.answers[0]!('claimed');
    const refused = await clock.run(first);
    expect(refused.status).toBe('rejected');
    expect(refused.error?.code).toBe('kill_switch_active');
    expect(refused.error?.message).toMatch(/claim was already recorded, so it is consumed \(nothing was sent\)/);
    expect(refused.killSwitch).toMatchObject({ phase: 'before' });
    expect(broker.callsOf('submitOrder')).toHaveLength(0);
    engine.killSwitch.set('off', { reason: 'news over', operator: 'ops' });
    const again = await clock.run(engine.execute(s));
    expect(again.error?.code).toBe('duplicate_advisory');
    expect(broker.callsOf('submitOrder')).toHaveLength(0);
  });

  it('a switch set before the claim refuses without consuming: the advisory runs once the switch is off', async () => {
    const h = harness();
    h.engine.killSwitch.set('active', { reason: 'news', operator: 'ops' });
    const s = snapshot();
    const refused = await h.run(h.engine.execute(s));
    expect(refused.error?.code).toBe('kill_switch_active');
    expect(refused.error?.message).not.toMatch(/consumed/);
    h.engine.killSwitch.set('off', { reason: 'news over', operator: 'ops' });
    h.fillOnAccept(50, 1.1);
    expect((await h.run(h.engine.execute(s))).status).toBe('filled');
  });
});
