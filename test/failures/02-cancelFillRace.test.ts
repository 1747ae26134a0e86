import { describe, expect, it } from 'vitest';
import { harness, snapshot } from '../support/fixtures.js';

describe('failure 2: cancel/fill race', () => {
  for (const trigger of ['deadline', 'kill switch'] as const) {
    it(`cancel after a ${trigger} arrives too late: the fill wins, is protected and reconciled`, async () => {
      const h = harness();
      const s = snapshot();
      h.broker.script.cancel.push({ kind: 'tooLate', price: 1.1004 });
      const p = h.engine.execute(s);
      if (trigger === 'kill switch') h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'halt', operator: 'ops' }), 3_000);
      const result = await h.finish(s, p);
      expect(result.status).toBe(trigger === 'deadline' ? 'executed_full_late' : 'filled');
      expect(result.fillPrice).toBe(1.1004);
      expect(result.protectionPlaced).toBe(true);
      expect(result.reconciliation?.status).toBe('matched');
    });
  }

  it('a fill made just before the cancel landed, reported only by the final-state query, is kept', async () => {
    const h = harness({ push: false, pollIntervalMs: 60_000 });
    const s = snapshot();
    const p = h.engine.execute(s);
    h.clock.setTimeout(() => h.engine.killSwitch.set('active', { reason: 'halt', operator: 'ops' }), 1_000);
    h.broker.script.cancel.push({ kind: 'applyThenFail' }); // the cancel lands at +1010, its answer is lost
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 2, 1.1001), 995)); // +1005
    const result = await h.finish(s, p);
    expect(result.filledQuantity).toBe(2);
    expect(result.status).toBe('partially_filled');
    expect(result.protectionPlaced).toBe(true);
  });
});
