import { describe, expect, it } from 'vitest';
import { BrokerError, MAX_SUBMIT_ATTEMPTS, type OrderRequest } from '../../src/index.js';
import { harness, snapshot } from '../support/fixtures.js';

describe('failure 9: runaway order generation', () => {
  it('a broker that always answers "unknown" gets bounded attempts, one clientOrderId, never more than positionSize', async () => {
    const h = harness();
    const s = snapshot();
    for (let i = 0; i < 1_000; i++) h.broker.script.submit.push({ kind: 'fail', error: new BrokerError('gateway timeout', { retryable: true }) });
    for (let i = 0; i < 1_000; i++) h.broker.script.getOrder.push({ kind: 'notFound' });
    const result = await h.finish(s);
    const sent = h.broker.callsOf('submitOrder').map((c) => c.args as OrderRequest);
    expect(sent).toHaveLength(MAX_SUBMIT_ATTEMPTS);
    expect(new Set(sent.map((r) => r.clientOrderId)).size).toBe(1);
    expect(Math.max(...sent.map((r) => r.quantity))).toBe(s.positionSize);
    expect(result.error?.code).toBe('retries_exhausted');
  });

  it('even when every resend silently created an order at a broker that ignores clientOrderId, Warden sent one id: the broker is at fault and reconciliation shows it', async () => {
    const h = harness();
    const s = snapshot();
    // A broken venue that is not idempotent: every send becomes a new order.
    let n = 0;
    const submit = h.broker.submitOrder.bind(h.broker);
    h.broker.submitOrder = async (req) => {
      await submit({ ...req, clientOrderId: `${req.clientOrderId}-${++n}` });
      throw new BrokerError('timeout', { retryable: true });
    };
    h.broker.onAccepted((o) => h.broker.fillRemaining(o.clientOrderId, 1.1));
    const result = await h.finish(s);
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation?.status).toBe('phantom_position');
  });
});
