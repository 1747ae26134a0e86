import { describe, expect, it } from 'vitest';
import { harness, snapshot } from '../support/fixtures.js';

describe('failure 10: kill switch during an in-progress submit or retry; disconnect while working', () => {
  it('active while the submit is in flight: no further send, the order is cancelled once known', async () => {
    const h = harness({ latencyMs: 2_000 });
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'acceptThenFail' });
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'halt', operator: 'ops' }), 1_000);
    const result = await h.finish(s, p);
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(result.status).toBe('cancelled');
    expect(h.broker.venue.get(result.clientOrderId!)?.status).toBe('cancelled');
  });

  it('warning during the pause before a retry: no retry (no new orders), ends cancelled', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'fail' });
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('warning', { reason: 'careful', operator: 'ops' }), 25);
    const result = await h.finish(s, p);
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(result.status).toBe('cancelled');
  });

  it('broker disconnect while working (polls fail, no pushes): the deadline still cancels, the final query decides', async () => {
    const h = harness({ push: false, pollIntervalMs: 500 });
    const s = snapshot();
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 3, 1.1), 10_000));
    // Disconnected from +1 s to the deadline: every poll fails.
    for (let i = 0; i < 58; i++) h.broker.script.getOrder.push({ kind: 'fail' });
    const result = await h.finish(s);
    expect(result.status).toBe('partially_filled');
    expect(result.filledQuantity).toBe(3);
    expect(result.protectionPlaced).toBe(true);
  });

  it('broker disconnect while working, then a kill switch: cancel is tried until it works, the part is protected', async () => {
    const h = harness({ push: false, pollIntervalMs: 500 });
    const s = snapshot();
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 5, 1.1), 500));
    for (let i = 0; i < 100; i++) h.broker.script.getOrder.push({ kind: 'fail' });
    h.broker.script.cancel.push({ kind: 'fail' });
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'halt', operator: 'ops' }), 2_000);
    const result = await h.finish(s, p);
    // The final state could not be read: Warden does not guess; the position is found by reconciliation.
    expect(result.requiresManualResolution).toBe(true);
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
  });
});
