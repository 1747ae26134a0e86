/**
 * 3. Concurrency and memory: N executions in flight at once against PaperBroker with realistic
 * latency (ack 50 ms, fill 200 ms) on real timers. Completed executions per second, heap bytes
 * per in-flight execution, and event-loop delay (p99).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino } from 'pino';
import { createEngine, PaperBroker } from '../src/index.js';
import { floorRunner } from './floor.js';
import { InstantBroker } from './instantBroker.js';
import { benchSnapshot, CountingJournal, quick, stats } from './util.js';

/** A venue that never answers a submit: every execution stays in flight. */
class HangingBroker extends InstantBroker {
  override submitOrder(): Promise<never> {
    return new Promise(() => undefined);
  }
}

/**
 * The reference for the heap figure: the XState floor (bench/floor.ts, no journal kept) with n
 * executions in flight at once — its submit pending, its push-feed actor and 30 s timer live.
 */
async function floorHeap(n: number): Promise<number> {
  const run = floorRunner(new HangingBroker());
  const snapshots = Array.from({ length: n }, (_, i) => benchSnapshot(`F${i % 100}`));
  const before = heap();
  for (const s of snapshots) void run(s);
  await new Promise((r) => setImmediate(r));
  const bytes = (heap() - before) / n;
  run.stop(); // before their 30 s timers fire
  return bytes;
}

const gc = (globalThis as { gc?: () => void }).gc;
const heap = () => {
  gc?.();
  return process.memoryUsage().heapUsed;
};

async function pass(n: number, burst: number, measure: 'heap' | 'delay') {
  const symbols = 200;
  // For the heap figure nothing fills: every execution is measured while it works, all at once.
  const markets = Object.fromEntries(Array.from({ length: symbols }, (_, i) => [`C${i}`, measure === 'heap' ? { price: 1.1, noLiquidity: true } : { price: 1.1, fillAfterMs: 200, slippageBps: 0 }]));
  const broker = new PaperBroker({ seed: 1, latencyMs: [25, 25], markets }); // 25 ms each way: 50 ms to an acknowledgement
  const journal = new CountingJournal();
  const engine = createEngine({ broker, journal, logger: pino({ level: 'silent' }), pollIntervalMs: 1_000 });
  const snapshots = Array.from({ length: n }, (_, i) => benchSnapshot(`C${i % symbols}`));
  const before = measure === 'heap' ? heap() : 0;
  const delay = monitorEventLoopDelay({ resolution: 5 });
  if (measure === 'delay') delay.enable();
  let inFlight = 0;
  let peakInFlight = 0;
  const started = performance.now();
  const results: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += burst) {
    for (const s of snapshots.slice(i, i + burst)) {
      inFlight++;
      results.push(engine.execute(s).finally(() => inFlight--));
    }
    peakInFlight = Math.max(peakInFlight, inFlight);
    await new Promise((r) => setImmediate(r));
  }
  // Heap at the peak: every execution started and working (a burst starts over several turns).
  if (measure === 'heap') while (journal.working < n) await new Promise((r) => setImmediate(r));
  const inFlightAtPeak = inFlight;
  const peak = measure === 'heap' ? heap() : 0;
  if (measure === 'heap') engine.killSwitch.set('active', { reason: 'bench: end the heap pass', operator: 'bench' });
  const settled = await Promise.all(results);
  const seconds = (performance.now() - started) / 1000;
  delay.disable();
  const filled = settled.filter((r) => (r as { status: string }).status === 'filled').length;
  if (measure !== 'heap' && filled !== n) throw new Error(`only ${filled} of ${n} filled`);
  await engine.close();
  return { seconds, peakInFlight, inFlightAtPeak, bytes: (peak - before) / Math.max(1, inFlightAtPeak), p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
}

export async function benchConcurrency() {
  const n = quick ? 2_000 : 10_000;
  const runs = quick ? 1 : 5;
  const heapRuns: Awaited<ReturnType<typeof pass>>[] = [];
  const floorBytes: number[] = [];
  const onceRuns: Awaited<ReturnType<typeof pass>>[] = [];
  const spreadRuns: Awaited<ReturnType<typeof pass>>[] = [];
  for (let r = 0; r < runs; r++) {
    // All N started in one go: every one in flight at once (the heap figure), at the cost of one long start.
    heapRuns.push(await pass(n, n, 'heap'));
    floorBytes.push(await floorHeap(n));
    onceRuns.push(await pass(n, n, 'delay'));
    // Arrivals spread over ticks, as a service receives them: the loop-delay figure under load.
    spreadRuns.push(await pass(n, 100, 'delay'));
    console.log(`  concurrency run ${r + 1}/${runs}: ${(heapRuns.at(-1)!.bytes / 1024).toFixed(1)} KiB each; ${(n / spreadRuns.at(-1)!.seconds).toFixed(0)}/s in bursts, p99 ${spreadRuns.at(-1)!.p99Ms.toFixed(1)} ms`);
  }
  return {
    n,
    runs,
    allAtOnce: {
      perSecond: stats(onceRuns.map((x) => n / x.seconds)),
      peakInFlight: Math.max(...onceRuns.map((x) => x.peakInFlight)),
      bytesPerExecution: stats(heapRuns.map((x) => x.bytes)),
      floorBytesPerExecution: stats(floorBytes),
      p99Ms: stats(onceRuns.map((x) => x.p99Ms)),
      maxMs: stats(onceRuns.map((x) => x.maxMs)),
    },
    spread: {
      burst: 100,
      perSecond: stats(spreadRuns.map((x) => n / x.seconds)),
      peakInFlight: Math.max(...spreadRuns.map((x) => x.peakInFlight)),
      p99Ms: stats(spreadRuns.map((x) => x.p99Ms)),
      maxMs: stats(spreadRuns.map((x) => x.maxMs)),
    },
    gcExposed: gc !== undefined,
  };
}
