import { describe, expect, it } from 'vitest';
import { BrokerError, HARD_TIMEOUT_MS } from '../../src/index.js';
import { harness, snapshot } from '../support/fixtures.js';

describe('failure 1: ambiguous submit (timeout, 5xx, socket drop after the broker accepted)', () => {
  const drops: [string, unknown][] = [
    ['request timeout', new BrokerError('request timed out after 10000 ms', { retryable: true, code: 'timeout' })],
    ['HTTP 503 after accepting', new BrokerError('503 Service Unavailable', { retryable: true, code: 'http_503' })],
    ['socket hang up (plain Error)', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['a non-Error value', 'ETIMEDOUT'],
  ];
  for (const [name, error] of drops) {
    it(`${name}: the order is found by clientOrderId and adopted; no second order`, async () => {
      const h = harness();
      const s = snapshot();
      h.broker.script.submit.push({ kind: 'acceptThenFail', error });
      h.fillOnAccept(300, 1.1);
      const result = await h.finish(s);
      expect(result.status).toBe('filled');
      expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
      expect(h.broker.venue.snapshot().orders).toHaveLength(1);
    });
  }

  it('an answer that cannot be read is an unknown outcome too: looked up, never assumed', async () => {
    const h = harness();
    const s = snapshot();
    const original = h.broker.submitOrder.bind(h.broker);
    h.broker.submitOrder = async (req) => ({ ...(await original(req)), status: 'accepted!' as never });
    h.fillOnAccept(300, 1.1);
    const result = await h.finish(s);
    expect(result.status).toBe('filled');
    expect(result.attempts.map((a) => `${a.kind}:${a.outcome}`)).toEqual(['submit:unknown', 'lookup:found']);
  });

  it('an accepted submit that never answers: at the deadline it is cancelled by clientOrderId and its fills are kept', async () => {
    const h = harness();
    const s = snapshot();
    h.broker.script.submit.push({ kind: 'hang', accept: true });
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 4, 1.1), 1_000));
    const result = await h.finish(s);
    expect(result.status).toBe('partially_filled');
    expect(result.protectionPlaced).toBe(true);
    expect(h.broker.callsOf('cancelOrder')[0]!.at - h.broker.callsOf('submitOrder')[0]!.at).toBe(HARD_TIMEOUT_MS);
    expect(h.broker.callsOf('submitOrder')).toHaveLength(1);
  });
});
