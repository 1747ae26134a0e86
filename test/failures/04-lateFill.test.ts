import { describe, expect, it } from 'vitest';
import { harness, snapshot } from '../support/fixtures.js';

describe('failure 4: late fills are valid', () => {
  it('after the deadline (the venue fills while the cancel travels)', async () => {
    const h = harness({ latencyMs: 50 });
    const s = snapshot();
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fillRemaining(o.clientOrderId, 1.1), 30_000 - 50 + 20));
    const result = await h.finish(s);
    expect(result.status).toBe('executed_full_late');
    expect(result.protectionPlaced).toBe(true);
  });

  it('after a local cancel whose answer was lost: the final-state query finds the fill', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.cancel.push({ kind: 'fail' });
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fillRemaining(o.clientOrderId, 1.1), 30_000));
    const result = await h.finish(s);
    expect(result.status).toBe('executed_full_late');
    expect(result.protectionPlaced).toBe(true);
  });

  it('after a lost acknowledgement and failing look-ups until the deadline: found and protected', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'acceptThenFail' });
    for (let i = 0; i < 100; i++) h.broker.script.getOrder.push({ kind: 'fail' });
    h.fillOnAccept(5_000, 1.1);
    // Look-ups keep failing; after the deadline the cancel reports the order as filled.
    const result = await h.finish(s);
    expect(result.filledQuantity).toBe(10);
    expect(result.protectionPlaced).toBe(true);
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
  });
});
