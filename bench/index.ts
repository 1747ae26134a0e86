/**
 * `npm run bench [-- --quick]`: what Warden's statechart, rules and journal cost per execution,
 * next to the same broker calls made directly. Both run in this process on a zero-latency
 * PaperBroker over a VirtualClock, so only CPU work is measured. Results: medians of several
 * rounds, written to docs/performance.md.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { pino } from 'pino';
import { createEngine, freezeSnapshot, PaperBroker, clientOrderIdFor } from '../src/index.js';
import { VirtualClock } from '../src/testing/index.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 5 : 11;
const PER_ROUND = quick ? 200 : 1_000;
const T0 = Date.parse('2026-11-24T10:00:00Z');

const markets = { EURUSD: { price: 1.1, fillAfterMs: 1, slippageBps: 0 } };
const snap = (i: number) =>
  freezeSnapshot({
    advisoryId: `bench-${i}`, symbol: 'EURUSD', side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
    createdAt: new Date(T0 - 60_000).toISOString(), expiresAt: new Date(T0 + 86_400_000).toISOString(),
    approval: { approvedBy: 'bench', approvedAt: new Date(T0 - 30_000).toISOString() },
  });

/** The broker work of one clean execution, with no safety layer: submit, wait for the fill, protect, reconcile. */
async function direct(n: number): Promise<number> {
  const clock = new VirtualClock(T0);
  const broker = new PaperBroker({ clock, latencyMs: [0, 0], markets });
  const snapshots = Array.from({ length: n }, (_, i) => snap(i));
  const started = performance.now();
  for (const s of snapshots) {
    const id = clientOrderIdFor(s);
    await clock.run(broker.submitOrder({ clientOrderId: id, symbol: s.symbol, side: s.side, quantity: s.positionSize, type: 'market' }));
    await clock.advance(1);
    const fill = await clock.run(broker.getOrder({ clientOrderId: id }));
    await clock.run(broker.placeProtection({ clientOrderId: `${id}-p`, symbol: s.symbol, side: s.side, quantity: fill!.filledQuantity, stopLoss: fill!.averageFillPrice! * 0.99, takeProfit: fill!.averageFillPrice! * 1.02 }));
    await clock.run(Promise.all([broker.getOrder({ clientOrderId: id }), broker.getPosition(s.symbol)]));
  }
  return (performance.now() - started) / n;
}

async function warden(n: number): Promise<number> {
  const clock = new VirtualClock(T0);
  const broker = new PaperBroker({ clock, latencyMs: [0, 0], markets });
  const engine = createEngine({ broker, clock, logger: pino({ level: 'silent' }) });
  const snapshots = Array.from({ length: n }, (_, i) => snap(i));
  const started = performance.now();
  for (const s of snapshots) {
    const r = await clock.run(engine.execute(s));
    if (r.status !== 'filled') throw new Error(`bench execution ended ${r.status}`);
  }
  return (performance.now() - started) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await direct(50);
await warden(50); // warm up the JIT for both
const d: number[] = [];
const w: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  d.push(await direct(PER_ROUND));
  w.push(await warden(PER_ROUND));
  process.stdout.write(`round ${round + 1}/${ROUNDS}: direct ${d.at(-1)!.toFixed(3)} ms, warden ${w.at(-1)!.toFixed(3)} ms per execution\n`);
}
const md = median(d);
const mw = median(w);
const overhead = mw - md;
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const command = `npm run bench${quick ? ' -- --quick' : ''}`;
const report = `# Performance

Measured with \`${command}\` on ${cpu} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB), Node ${process.version}.
Shared machine: figures are medians of ${ROUNDS} rounds of ${PER_ROUND} executions, and the baseline ran in the same process, interleaved round by round.

## Engine overhead per execution

A clean execution (submit, fill, protection, reconciliation) on a zero-latency paper broker over a virtual clock, so only CPU is measured:

| path | median per execution |
|---|---|
| the same broker calls made directly (baseline) | ${md.toFixed(3)} ms |
| \`engine.execute\` (validation, statechart, rules, journal) | ${mw.toFixed(3)} ms |
| Warden's own cost | ${overhead.toFixed(3)} ms (${(mw / md).toFixed(1)}× the baseline) |

A real broker round trip is typically 5 to 200 ms, and an execution makes at least four of them. Against 4 × 20 ms on a nearby
venue, Warden's own cost is ${((overhead / 80) * 100).toFixed(1)} % of the time an execution takes.
`;
writeFileSync('docs/performance.md', report);
console.log(`\n${report}`);
