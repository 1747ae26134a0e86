import { describe, expect, it } from 'vitest';
import { harness, snapshot } from '../support/fixtures.js';

describe('failure 5: duplicate, replayed and out-of-order reports', () => {
  it('a fill reported before the acknowledgement', async () => {
    const h = harness({ latencyMs: 300 });
    const s = snapshot();
    h.broker.onAccepted((o) => h.broker.fillRemaining(o.clientOrderId, 1.1));
    const result = await h.finish(s);
    expect(result.status).toBe('filled');
    expect(result.protectionPlaced).toBe(true);
  });

  it('stale statuses and replays after a fill change nothing', async () => {
    const h = harness({ pollIntervalMs: 60_000 });
    const s = snapshot();
    h.broker.onAccepted((o) => {
      h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 10, 1.1), 100);
      for (const at of [101, 102, 103]) {
        h.clock.setTimeout(() => {
          h.broker.push({ clientOrderId: o.clientOrderId, brokerOrderId: 'P-1', status: 'partially_filled', filledQuantity: 4, averageFillPrice: 1.05 });
          h.broker.push({ clientOrderId: o.clientOrderId, brokerOrderId: 'P-1', status: 'filled', filledQuantity: 10, averageFillPrice: 1.1 });
          h.broker.push({ clientOrderId: o.clientOrderId, brokerOrderId: 'P-1', status: 'pending', filledQuantity: 0, averageFillPrice: null });
        }, at);
      }
    });
    const result = await h.finish(s);
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 10, fillPrice: 1.1 });
    expect(h.broker.callsOf('placeProtection')).toHaveLength(1);
  });

  it('a stale poll answer after a pushed fill does not reopen the order', async () => {
    const h = harness({ pollIntervalMs: 100 });
    const s = snapshot();
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 6, 1.1), 50));
    h.broker.script.getOrder.push({ kind: 'report', report: { clientOrderId: 'wd-' + snapshot().hash.slice(0, 24), brokerOrderId: 'P-1', status: 'pending', filledQuantity: 0, averageFillPrice: null } });
    const result = await h.finish(s);
    expect(result.filledQuantity).toBe(6);
  });
});
