/**
 * Rules that hold in every live state live on the region: order reports and the kill switch are
 * heard while the order is being looked up, between look-ups and before a resend — not only once
 * it is known to be working.
 */
import { describe, expect, it } from 'vitest';
import { KillSwitchState } from '../../../src/index.js';
import { harness, snapshot, T0 } from '../../support/fixtures.js';

/** An ambiguous submit the venue did accept, followed by look-ups that all fail. */
function ambiguousWithFailingLookups() {
  const h = harness({ push: true, pollIntervalMs: 500 });
  h.broker.script.submit.push({ kind: 'acceptThenFail' });
  h.broker.script.getOrder.push(...Array.from({ length: 40 }, () => ({ kind: 'fail' as const })));
  return h;
}

describe('the live region hears everything, in every sub-state (rule 3 DURING, rule 4)', () => {
  it('a full fill pushed while the order is being looked up is protected at once, not at the deadline', async () => {
    const h = ambiguousWithFailingLookups();
    h.fillOnAccept(2_000, 1.1);
    const result = await h.finish(snapshot());
    expect(result.status).toBe('filled');
    expect(result.protectionPlaced).toBe(true);
    const protectedAt = h.broker.callsOf('placeProtection')[0]!.at;
    expect(protectedAt - T0).toBeLessThan(2_500); // before: only after the 30 s deadline
    expect(result.attempts.some((a) => a.kind === 'lookup' && a.outcome === 'found')).toBe(false); // the push, not a look-up, proved it
  });

  it('an active kill switch while the outcome is unknown sends a cancel by clientOrderId at once', async () => {
    const h = ambiguousWithFailingLookups();
    h.fillOnAccept(10_000, 1.1); // the order would fill at 10 s if nobody cancelled it
    const s = snapshot();
    const running = h.engine.execute(s);
    await h.clock.advance(1_000);
    h.engine.killSwitch.set(KillSwitchState.Active, { symbol: s.symbol, reason: 'news', operator: 'ops' });
    await h.clock.advance(50);
    const cancels = h.broker.callsOf('cancelOrder');
    expect(cancels).toHaveLength(1);
    expect(cancels[0]!.args).toMatchObject({ clientOrderId: result0(h) });
    const result = await h.finish(s, running);
    expect(result.status).toBe('cancelled');
    expect(result.filledQuantity).toBe(0);
    expect(result.killSwitch.phase).toBe('during');
  });

  it('a warning switch while the outcome is unknown sends nothing and never resends', async () => {
    const h = harness();
    h.broker.script.submit.push({ kind: 'fail' }); // nothing reached the venue, but nobody knows that
    h.broker.script.getOrder.push({ kind: 'fail' }, { kind: 'fail' });
    const s = snapshot();
    const running = h.engine.execute(s);
    await h.clock.advance(5);
    h.engine.killSwitch.set(KillSwitchState.Warning, { symbol: s.symbol, reason: 'news', operator: 'ops' });
    const result = await h.finish(s, running);
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(result.filledQuantity).toBe(0);
  });
});

const result0 = (h: ReturnType<typeof harness>) => (h.broker.callsOf('submitOrder')[0]!.args as { clientOrderId: string }).clientOrderId;
