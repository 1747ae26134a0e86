/**
 * Kill-switch scope never leaks: a flag always halts its own symbol (even under a global switch),
 * and switch routing reads only the validated snapshot, never the raw input again.
 */
import { describe, expect, it } from 'vitest';
import { KillSwitchState } from '../../../src/index.js';
import { harness, rawSnapshot, snapshot } from '../../support/fixtures.js';

describe('kill-switch scope (rule 3, rule 6)', () => {
  it('a flag raised while a global switch is on still halts its symbol once the global switch is lifted', async () => {
    const h = harness();
    h.fillOnAccept(500, 1.1);
    h.broker.script.protection.push({ kind: 'refuse' }); // the fill ends flagged
    const s = snapshot();
    const running = h.engine.execute(s);
    await h.clock.advance(100);
    h.engine.killSwitch.set(KillSwitchState.Warning, { reason: 'desk-wide pause', operator: 'ops' });
    const flagged = await h.finish(s, running);
    expect(flagged.requiresManualResolution).toBe(true);
    h.engine.killSwitch.set(KillSwitchState.Off, { reason: 'pause over', operator: 'ops' });
    expect(h.engine.killSwitch.state(s.symbol)).toBe(KillSwitchState.Warning); // before: off — the symbol traded again
    const next = await h.run(h.engine.execute(snapshot({ advisoryId: 'next' })));
    expect(next).toMatchObject({ status: 'rejected', error: { code: 'kill_switch_active' } });
    h.engine.resolve(s.advisoryId, { operator: 'carol', note: 'protected by hand' });
    expect(h.engine.killSwitch.state(s.symbol)).toBe(KillSwitchState.Off);
  });

  it('an input whose symbol getter answers differently on each read cannot dodge a symbol switch', async () => {
    const h = harness();
    h.engine.killSwitch.set(KillSwitchState.Active, { symbol: 'EURUSD', reason: 'news', operator: 'ops' });
    h.fillOnAccept(50, 1.1);
    const raw = rawSnapshot();
    let reads = 0;
    // First read says GBPUSD (unswitched), every later read EURUSD.
    Object.defineProperty(raw, 'symbol', { enumerable: true, get: () => (reads++ === 0 ? 'GBPUSD' : 'EURUSD') });
    const result = await h.run(h.engine.execute(raw));
    const traded = h.broker.callsOf('submitOrder').map((c) => (c.args as { symbol: string }).symbol);
    // The input is read once, when it is frozen: the symbol it was frozen with (the first read) is
    // the one the switch was checked for, and the one traded.
    expect(reads).toBe(1);
    expect(result.status).toBe('filled');
    expect(traded).toEqual(['GBPUSD']);
    expect(h.engine.killSwitch.state('GBPUSD')).toBe(KillSwitchState.Off);
  });
});
