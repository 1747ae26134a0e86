/**
 * Watch a live execution's statechart, step by step.
 *
 *   npx tsx examples/inspect.ts          # local: the state tree printed here, no network
 *   npx tsx examples/inspect.ts --sky    # the Stately inspector (needs the network)
 *
 * Local mode is an XState inspection observer that prints each state the execution enters; it
 * needs nothing but this process. `--sky` uses `createSkyInspector` from @statelyai/inspect (the
 * XState v5 successor of @xstate/inspect), which streams the events to stately.ai and prints a
 * link to open; in a browser app use `createBrowserInspector()`, for a local viewer
 * `createWebSocketInspector({ url })`. Either way the example exits once the execution has ended.
 *
 * Warden keeps no broker or credentials in machine context, so nothing secret is streamed.
 * In your own project, import from 'warden' instead of '../src/index.js'.
 */
import { createSkyInspector } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import { createEngine, freezeSnapshot, PaperBroker } from '../src/index.js';

/** Prints every state the root of each execution enters, with the time since it started. */
function localInspector() {
  const started = Date.now();
  let last = '';
  const name = (v: unknown): string => (typeof v === 'string' ? v : Object.entries(v as object).map(([k, x]) => `${k}.${name(x)}`)[0] ?? '');
  return (ev: InspectionEvent) => {
    if (ev.type !== '@xstate.snapshot' || ev.actorRef.sessionId !== ev.rootId) return; // the execution, not its invoked calls
    const state = name((ev.snapshot as { value?: unknown }).value);
    if (state === '' || state === last) return;
    last = state;
    console.log(`  +${((Date.now() - started) / 1000).toFixed(2)} s  ${state}`);
  };
}

const sky = process.argv.includes('--sky')
  ? createSkyInspector({
      sanitizeContext: (context) => ({ ...context, attempts: `${(context.attempts as unknown[] | undefined)?.length ?? 0} attempts` }),
      onerror: (error) => console.error(`inspector: ${error.message}`),
    })
  : null;

const engine = createEngine({
  broker: new PaperBroker({ markets: { EURUSD: { price: 1.1, fillAfterMs: 300 } } }),
  inspect: sky ? sky.inspect : localInspector(),
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
if (sky) {
  await new Promise((resolve) => setTimeout(resolve, 500)); // the inspector forwards what is queued
  sky.stop();
  // The remote inspector's connection retries forever when its host cannot be reached: the
  // execution is over, so the example ends here whatever the network does.
  process.exit(0);
}
