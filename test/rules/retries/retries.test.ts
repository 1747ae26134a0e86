import { describe, expect, it } from 'vitest';
import { BrokerError, HARD_TIMEOUT_MS, MAX_SUBMIT_ATTEMPTS, type OrderRequest } from '../../../src/index.js';
import { harness, snapshot, T0 } from '../../support/fixtures.js';


describe('rule 5: retries only inside the window, never a second order', () => {
  it('unknown outcome where the order exists: looked up and adopted, never resent', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'acceptThenFail' });
    h.fillOnAccept(200, 1.1);
    const result = await h.finish(s);
    expect(result.status).toBe('filled');
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(result.attempts.map((a) => [a.kind, a.outcome])).toEqual([
      ['submit', 'unknown'],
      ['lookup', 'found'],
    ]);
  });

  it('unknown outcome where the order does not exist: resent with the same clientOrderId and snapshot', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'fail' }, { kind: 'fail' });
    h.fillOnAccept(100, 1.1);
    const result = await h.finish(s);
    expect(result.status).toBe('filled');
    const sent = h.broker.callsOf('submitOrder').map((c) => c.args as OrderRequest);
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((r) => JSON.stringify(r))).size).toBe(1); // identical requests
    expect(sent[0]).toEqual({ clientOrderId: result.clientOrderId, symbol: 'EURUSD', side: 'buy', quantity: 10, type: 'market' });
    // Every resend was preceded by a look-up that found nothing.
    expect(result.attempts.map((a) => `${a.kind}:${a.outcome}`)).toEqual([
      'submit:unknown', 'lookup:not_found', 'submit:unknown', 'lookup:not_found', 'submit:acknowledged',
    ]);
  });

  it('a definitive rejection is not retried', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'refuse', reason: 'insufficient margin' });
    const result = await h.finish(s);
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({ code: 'broker_rejected', message: 'insufficient margin' });
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(h.broker.callsOf('getPosition')).toHaveLength(1); // the broker was reached: reconciled once
    expect(result.requiresManualResolution).toBe(false);
  });

  it('an order answered with status rejected is not retried', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'rejectedReport', reason: 'market closed' });
    const result = await h.finish(s);
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({ code: 'broker_rejected', message: 'market closed' });
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
  });

  it('a broker that throws non-Error values is treated as unknown outcome, never as a rejection', async () => {
    for (const thrown of ['socket hang up', 42, null, undefined, { weird: true }]) {
      const h = harness();
      const s = snapshot();
      h.broker.script.submit.push({ kind: 'acceptThenFail', error: thrown });
      h.fillOnAccept(100, 1.1);
      const result = await h.finish(s);
      expect(result.status, String(thrown)).toBe('filled');
      expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    }
  });

  it('attempts are bounded: a broker that never answers clearly gets MAX_SUBMIT_ATTEMPTS sends, one clientOrderId', async () => {
    const h = harness();
    const s = snapshot();
    for (let i = 0; i < 50; i++) h.broker.script.submit.push({ kind: 'fail', error: new BrokerError('503', { retryable: true }) });
    const result = await h.finish(s);
    expect(h.broker.callsOf('submitOrder')).toHaveLength(MAX_SUBMIT_ATTEMPTS);
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('retries_exhausted');
  });

  it('retries stop at the deadline', async () => {
    const h = harness({ latencyMs: 4_000 });
    const s = snapshot();
    for (let i = 0; i < 10; i++) h.broker.script.submit.push({ kind: 'fail' });
    const result = await h.finish(s);
    const sends = h.broker.callsOf('submitOrder');
    for (const c of sends) expect(c.at - T0).toBeLessThan(HARD_TIMEOUT_MS);
    expect(sends.length).toBeLessThan(MAX_SUBMIT_ATTEMPTS);
    expect(result.status).toBe('failed_timeout');
  });

  it('a failing look-up is repeated, never replaced by a blind resend', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'acceptThenFail' });
    h.broker.script.getOrder.push({ kind: 'fail' }, { kind: 'fail' });
    h.fillOnAccept(2_000, 1.1);
    const result = await h.finish(s);
    expect(result.status).toBe('filled');
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(result.attempts.filter((a) => a.kind === 'lookup').map((a) => a.outcome)).toEqual(['unknown', 'unknown', 'found']);
  });

  it('expiry is re-checked before a retry', async () => {
    const h = harness();
    const s = snapshot({ expiresAt: new Date(T0 + 100).toISOString() });
    h.broker.script.submit.push({ kind: 'fail' });
    const result = await h.finish(s);
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('snapshot_expired');
  });
});
