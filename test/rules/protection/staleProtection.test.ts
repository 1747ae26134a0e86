/**
 * Rule 2: a protection request is never overtaken by the next one for the same protective id.
 * Two requests out at once may reach the venue in either order; when they are for the same
 * quantity (a larger fill first reported without its price is protected at the price known, then
 * the order's final report prices it), the venue cannot tell the older from the newer, and the older
 * landing last leaves its levels in place — after reconciliation has said `matched`. The final
 * request therefore waits for the answer of the one still out (or for its call's time limit).
 */
import { describe, expect, it } from 'vitest';
import { createEngine, type BrokerAdapter, type OrderReport, type ProtectionRequest } from '../../../src/index.js';
import { ScriptedBroker, VirtualClock } from '../../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../../support/fixtures.js';

/** How long the venue takes to apply (and answer) the request made at the price known before the final report. */
const SLOW_MS = 600;

function setUp() {
  const clock = new VirtualClock(T0);
  const venue = new ScriptedBroker({ clock, latencyMs: 10, push: true });
  /** While the order works, the venue's reports of the 800 carry no price (its order endpoint lags on it). */
  let priceLags = false;
  const hide = (r: OrderReport | null): OrderReport | null => (r !== null && priceLags && r.status !== 'cancelled' && r.filledQuantity === 800 ? { ...r, averageFillPrice: null } : r);
  const sent: { at: number; req: ProtectionRequest }[] = [];
  const applied: { at: number; req: ProtectionRequest }[] = [];
  const broker: BrokerAdapter = {
    name: 'lagging-price',
    submitOrder: (req) => venue.submitOrder(req),
    cancelOrder: (ref) => venue.cancelOrder(ref),
    getOrder: async (ref) => hide(await venue.getOrder(ref)),
    getPosition: (symbol) => venue.getPosition(symbol),
    subscribe: (listener) => venue.subscribe((r) => listener(hide(r)!)),
    placeProtection: async (req) => {
      sent.push({ at: clock.now() - T0, req });
      // The request made at the first fill's price for the whole 800 is slow to apply.
      if (req.quantity === 800 && req.stopLoss < 1.1) await new Promise<void>((r) => clock.setTimeout(() => r(), SLOW_MS));
      const answer = await venue.placeProtection(req);
      applied.push({ at: clock.now() - T0, req });
      return answer;
    },
  };
  venue.onAccepted((o) => {
    clock.setTimeout(() => venue.fill(o.clientOrderId, 500, 1.1), 1_000);
    clock.setTimeout(() => {
      priceLags = true;
      venue.fill(o.clientOrderId, 300, 1.3);
    }, 29_500);
  });
  const engine = createEngine({ broker, clock, logger: silentLogger(), pollIntervalMs: 5_000 });
  return { clock, venue, engine, sent, applied };
}

describe('rule 2: the final protection request waits for the one still out', () => {
  it('800 protected at the known price is slow; the final 800 at the true average goes after its answer and is what the venue holds', async () => {
    const { clock, venue, engine, sent, applied } = setUp();
    const result = await clock.run(engine.execute(snapshot({ positionSize: 1_000 })));
    for (let i = 0; i < 50 && (await clock.step()); i++); // anything still out lands

    expect(result.filledQuantity).toBe(800);
    expect(result.fillPrice).toBeCloseTo(1.175, 9);
    const finalStop = result.stopLoss!;
    expect(finalStop).toBeCloseTo(1.175 * 0.99, 5);
    // What the venue holds is what the result says.
    const position = await clock.run(venue.getPosition('EURUSD'));
    expect(position.quantity).toBe(800);
    expect(position.stopLoss).toBe(finalStop);
    // Never two requests out at once: each went after the previous one's answer.
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.at).toBeGreaterThanOrEqual(applied[i - 1]!.at);
    expect(applied.at(-1)!.req.stopLoss).toBe(finalStop);
    expect(result.reconciliation?.status).toBe('matched');
    await engine.close();
  });
});
