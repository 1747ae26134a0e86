/**
 * A venue that keeps client ids among open orders only (Binance) accepts the order
 * but the answer is lost, and its look-ups do not show it yet. Docs (safety.md "A venue that forgets
 * client ids", rules.md rule 5): Warden keeps looking until the deadline and flags the execution if
 * the order is still unknown. A `warning` (no new orders, working orders left alone) set meanwhile
 * should change nothing about that: the outcome is still unknown.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

async function run(withWarning: boolean | 'active' | 'expiry') {
  const clock = new VirtualClock(T0);
  const broker = new ScriptedBroker({ clock, push: false, clientOrderIdDurability: 'openOrdersOnly' });
  broker.script.submit.push({ kind: 'acceptThenFail' }); // the venue holds a working order; the answer is lost
  for (let i = 0; i < 500; i++) broker.script.getOrder.push({ kind: 'notFound' }); // the venue does not show it yet
  for (let i = 0; i < 10; i++) broker.script.cancel.push({ kind: 'fail' });
  const engine = createEngine({ broker, clock, logger: silentLogger() });
  const started = engine.execute(withWarning === 'expiry' ? snapshot({ expiresAt: new Date(T0 + 5_000).toISOString() }) : snapshot());
  await clock.advance(15); // the submit went out; its answer is lost
  if (withWarning === 'active') engine.killSwitch.set('active', { reason: 'stop', operator: 'ana' });
  if (withWarning === true) engine.killSwitch.set('warning', { symbol: 'EURUSD', reason: 'news in 10 min', operator: 'ana' });
  const result = await clock.run(started);
  await engine.close();
  return { result, order: broker.venue.snapshot().orders[0] };
}

describe('rule 5: a stop before a resend (switch, expiry) leaves an unknown outcome flagged on a venue that forgets ids', () => {
  it('control, no switch: flagged (order.outcome) — a human is asked', async () => {
    const { result, order } = await run(false);
    expect(order?.status).toBe('pending'); // the order still works at the venue
    expect(result.requiresManualResolution).toBe(true);
  });

  it('with a warning: still flagged, the order may work at the venue', async () => {
    const { result, order } = await run(true);
    expect(order?.status).toBe('pending');
    expect({ status: result.status, flagged: result.requiresManualResolution }).toEqual({ status: expect.any(String), flagged: true });
  });

  it('with an active switch: flagged too', async () => {
    const { result, order } = await run('active');
    expect(order?.status).toBe('pending');
    expect({ status: result.status, flagged: result.requiresManualResolution }).toEqual({ status: expect.any(String), flagged: true });
  });

  it('the snapshot expiring during the look-ups: flagged too', async () => {
    const { result, order } = await run('expiry');
    expect(order?.status).toBe('pending');
    expect({ status: result.status, flagged: result.requiresManualResolution }).toEqual({ status: expect.any(String), flagged: true });
  });
});
