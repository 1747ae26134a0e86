/**
 * Credentials never reach the journal or the logs, whatever path an execution takes: a broker
 * holding canary credentials, whose errors and raw answers carry them in every usual place, is
 * driven through the randomized fault model with a trace-level logger.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BrokerAdapter } from '../../src/index.js';
import { capturingLogger } from '../support/fixtures.js';
import { brokerScript, runFaultScript } from '../support/faults.js';

const CANARY_KEY = 'CANARY-API-KEY-7f3a9c';
const CANARY_SECRET = 'CANARY-SECRET-b41e20';

/** Wraps a broker the way an HTTP adapter looks from the inside: credentials on the instance, in request configs, in raw answers. */
function withCredentials(inner: BrokerAdapter): BrokerAdapter {
  const leak = (e: unknown) =>
    Object.assign(e instanceof Error ? e : new Error(String(e)), {
      config: { headers: { authorization: `Bearer ${CANARY_KEY}`, 'X-MBX-APIKEY': CANARY_KEY }, params: { apiKey: CANARY_KEY, signature: CANARY_SECRET } },
      request: { credentials: { apiKey: CANARY_KEY, secret: CANARY_SECRET } },
    });
  const call = <T>(p: Promise<T>) =>
    p.then(
      (answer) => (answer && typeof answer === 'object' ? ({ ...answer, raw: { apiKey: CANARY_KEY, secret: CANARY_SECRET, token: CANARY_KEY } } as T) : answer),
      (e: unknown) => Promise.reject(leak(e)),
    );
  return {
    name: 'credentialed',
    apiKey: CANARY_KEY,
    secret: CANARY_SECRET,
    submitOrder: (r) => call(inner.submitOrder(r)),
    cancelOrder: (r) => call(inner.cancelOrder(r)),
    getOrder: (r) => call(inner.getOrder(r)),
    getPosition: (s) => call(inner.getPosition(s)),
    placeProtection: (r) => call(inner.placeProtection(r)),
    subscribe: (l) => inner.subscribe!(l),
  } as BrokerAdapter;
}

describe('secrets', () => {
  it('canary credentials appear nowhere in the journal or the logs, on any path', async () => {
    const { logger, lines } = capturingLogger();
    let runs = 0;
    let journalText = '';
    await fc.assert(
      fc.asyncProperty(brokerScript, fc.scheduler(), async (sc, s) => {
        const { journal } = await runFaultScript(sc, s, { logger, wrap: withCredentials });
        journalText = JSON.stringify(journal);
        expect(journalText).not.toContain(CANARY_KEY);
        expect(journalText).not.toContain(CANARY_SECRET);
        runs++;
      }),
      { seed: 777, numRuns: 150 },
    );
    const logText = JSON.stringify(lines);
    expect(runs).toBe(150);
    expect(lines.length).toBeGreaterThan(100); // the logger did see the executions
    expect(logText).not.toContain(CANARY_KEY);
    expect(logText).not.toContain(CANARY_SECRET);
    expect(journalText).toContain('[redacted]'); // and the journal did see credential-bearing payloads
  }, 60_000);
});
