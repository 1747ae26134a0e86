/** Rule 2 as fills land: a partial fill is protected within one protection round trip, and each later fill amends it. */
import { describe, expect, it } from 'vitest';
import { protectiveLevels } from '../src/rules/index.js';
import { harness, snapshot, T0 } from './support/fixtures.js';

const LATENCY = 10;

describe('protect each fill as it lands (ScriptedBroker)', () => {
  it('500 of 1,000 filled at 1 s: protection for 500 is requested at once, not at the deadline', async () => {
    const h = harness({ latencyMs: LATENCY });
    const s = snapshot({ positionSize: 1_000 });
    h.broker.onAccepted((o) => h.clock.setTimeout(() => h.broker.fill(o.clientOrderId, 500, 1.1), 1_000));
    const result = await h.finish(s);
    const protections = h.broker.callsOf('placeProtection');
    const filledAt = T0 + LATENCY + 1_000;
    expect(protections[0]!.at - filledAt).toBeLessThanOrEqual(LATENCY);
    expect(protections[0]!.args).toMatchObject({ quantity: 500, ...protectiveLevels('buy', 1.1, s.slOffsetPct, s.tpOffsetPct) });
    expect(result).toMatchObject({ status: 'partially_filled', filledQuantity: 500, protectionPlaced: true, requiresManualResolution: false });
    // Already protected for the final quantity at its average: no second request at the deadline.
    expect(protections).toHaveLength(1);
    console.log(protections.map((c) => [c.at - T0, (c.args as { quantity: number }).quantity]));
  });
});
