/**
 * Watch a live execution in the Stately inspector.
 *
 *   npx tsx examples/inspect.ts
 *
 * `createSkyInspector` streams inspection events to stately.ai and prints a link to open. In
 * a browser app use `createBrowserInspector()`; for a local viewer use
 * `createWebSocketInspector({ url })`. All three come from @statelyai/inspect, the XState v5
 * successor of @xstate/inspect (which only works with XState v4).
 *
 * Warden keeps no broker or credentials in machine context, so nothing secret is streamed.
 * `sanitizeContext` is there to trim what a human looks at.
 */
import { createSkyInspector } from '@statelyai/inspect';
import { createEngine, freezeSnapshot, PaperBroker } from '../src/index.js';

const inspector = createSkyInspector({
  sanitizeContext: (context) => ({ ...context, attempts: `${(context.attempts as unknown[] | undefined)?.length ?? 0} attempts` }),
  onerror: (error) => console.error(`inspector: ${error.message}`),
});

const engine = createEngine({
  broker: new PaperBroker({ markets: { EURUSD: { price: 1.1, fillAfterMs: 2_000 } } }),
  inspect: inspector.inspect,
});

const now = Date.now();
const result = await engine.execute(
  freezeSnapshot({
    advisoryId: `inspect-${now}`,
    symbol: 'EURUSD',
    side: 'buy',
    positionSize: 1_000,
    referencePrice: 1.1,
    slOffsetPct: -0.005,
    tpOffsetPct: 0.01,
    createdAt: new Date(now - 1_000).toISOString(),
    expiresAt: new Date(now + 60_000).toISOString(),
    approval: { approvedBy: 'you', approvedAt: new Date(now - 500).toISOString() },
  }),
);
console.log(`${result.status}: ${result.filledQuantity} @ ${result.fillPrice} (SL ${result.stopLoss}, TP ${result.takeProfit})`);
await engine.close();
await new Promise((resolve) => setTimeout(resolve, 0)); // the inspector forwards events on the next tick
inspector.stop();
