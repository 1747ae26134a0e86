/**
 * 2. Kill-switch reaction: N executions working (acknowledged, never filled); the time from
 * killSwitch.set('active') until the adapter has been asked to cancel every one of them, how long
 * the event loop is held at a stretch meanwhile, and the time until every execution has heard of
 * the switch (is in stopping). With and without a batch cancel (`cancelOrders`) at the adapter,
 * and for venues of every speed: one that holds its cancel answers back until the measurement is
 * over (the reference, run in the same process), and venues that answer at once, after 1 ms and
 * after 10 ms. A fast venue is the case that hurts: its answers arrive while the fan-out is still
 * at work.
 *
 * `npx tsx bench/killSwitch.ts [--quick] [--only-1000 | --only-10000]` runs this section alone and prints PASS or FAIL per variant
 * (every cancel requested within the bar), with the longest loop hold's verdict beside it.
 */
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { createEngine, MemoryJournal, type BrokerAdapter, type Clock, type ExecutionResult, type FrozenSnapshot, type JournalEntry, type OrderRef, type OrderReport } from '../src/index.js';
import { pacedBacklog } from '../src/engine/loopBudget.js';
import { benchSnapshot, fmt, machine, quick, range, stats, type Stat } from './util.js';

/** How the venue answers a cancel (and, after the switch, any look-up): held back until the measurement is over, or after a delay. */
export type VenueSpeed = 'held' | 0 | 1 | 10;
export const VENUE_SPEEDS: readonly VenueSpeed[] = ['held', 0, 1, 10];
export const venueName = (s: VenueSpeed) => (s === 'held' ? 'answers held back' : s === 0 ? 'answers at once' : `answers after ${s} ms`);

/** Acknowledges at once, never fills; counts cancels and answers them as its speed says. */
class WorkingBroker implements BrokerAdapter {
  readonly name = 'working';
  cancels = 0;
  private readonly cancelled = new Set<string>();
  private readonly held: (() => void)[] = [];
  onCancel: (() => void) | null = null;
  constructor(private readonly speed: VenueSpeed) {}
  submitOrder(req: { clientOrderId: string }): Promise<OrderReport> {
    return Promise.resolve(this.report(req.clientOrderId));
  }
  cancelOrder(ref: OrderRef): Promise<OrderReport> {
    this.cancels++;
    this.onCancel?.();
    return this.answer(() => {
      this.cancelled.add(ref.clientOrderId);
      return this.report(ref.clientOrderId);
    });
  }
  /** Once the measurement is over, the venue answers nothing more. */
  private silent = false;
  /** Held: never answered during the measurement (the answer is not part of the reaction time). */
  protected answer<T>(value: () => T): Promise<T> {
    if (this.silent) return new Promise(() => undefined);
    if (this.speed === 'held') return new Promise((resolve) => this.held.push(() => resolve(value())));
    if (this.speed === 0) return Promise.resolve(value());
    return new Promise((resolve) => setTimeout(() => this.silent || resolve(value()), this.speed as number));
  }
  /** The measurement is over: nothing held is answered, nor anything asked from now on. */
  silence(): void {
    this.silent = true;
    this.held.length = 0;
  }
  protected report(clientOrderId: string): OrderReport {
    return { clientOrderId, brokerOrderId: clientOrderId, status: this.cancelled.has(clientOrderId) ? 'cancelled' : 'pending', filledQuantity: 0, averageFillPrice: null };
  }
  protected markCancelled(clientOrderId: string): void {
    this.cancelled.add(clientOrderId);
  }
  getOrder(ref: { clientOrderId: string }): Promise<OrderReport | null> {
    return this.speed === 'held' && !this.silent ? Promise.resolve(this.report(ref.clientOrderId)) : this.answer(() => this.report(ref.clientOrderId));
  }
  getPosition(symbol: string) {
    const flat = () => ({ symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null });
    return this.speed === 'held' && !this.silent ? Promise.resolve(flat()) : this.answer(flat);
  }
  placeProtection(): never {
    throw new Error('never filled');
  }
}

/** The same venue with a batch cancel: one call for every order. */
class BatchBroker extends WorkingBroker {
  batchCalls = 0;
  cancelOrders(refs: readonly OrderRef[]): Promise<OrderReport[]> {
    this.batchCalls++;
    this.cancels += refs.length;
    this.onCancel?.();
    return this.answer(() => {
      for (const r of refs) this.markCancelled(r.clientOrderId);
      return refs.map((r) => this.report(r.clientOrderId));
    });
  }
}

export const killSwitchRuns = quick ? 3 : 5;

/**
 * Engine time runs this many times slower than real time in a run. Starting 10,000 executions takes
 * a loaded machine longer than the 30 s deadline, which the first of them would reach before the
 * last was working (it is cancelled, reconciled, perhaps flagged: the switch would then find fewer
 * orders working, or none could start on a halted symbol). Timers are real timers: their cost is in
 * the figures.
 */
const TIME_DILATION = 50;

/** Real time and real timers, slowed down; `stop` clears every timer still set and sets no more, for the next run. */
function slowClock(factor: number): Clock & { stop(): void } {
  const origin = Date.now();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stopped = false;
  return {
    now: () => origin + (Date.now() - origin) / factor,
    setTimeout: (fn, ms) => {
      if (stopped) return undefined;
      const handle = setTimeout(() => {
        timers.delete(handle);
        fn();
      }, ms * factor);
      timers.add(handle);
      return handle;
    },
    clearTimeout: (handle) => {
      timers.delete(handle as ReturnType<typeof setTimeout>);
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
    stop: () => {
      stopped = true;
      for (const handle of timers) clearTimeout(handle);
      timers.clear();
    },
  };
}

/** The snapshots of a run, built once per size: each run is a new engine, where an advisory has not executed yet. */
const snapshots = new Map<number, readonly FrozenSnapshot[]>();
const snapshotsFor = (n: number): readonly FrozenSnapshot[] => {
  let list = snapshots.get(n);
  if (list === undefined) snapshots.set(n, (list = Array.from({ length: n }, (_, i) => benchSnapshot(`K${i % 100}`))));
  return list;
};

/** How long the orders may take to become working without any progress, or the executions to be told, before the run is given up. */
const SETUP_STALL_MS = 60_000;

/** The bar for every variant: every cancel requested, and the longest hold of the event loop, within this. */
export const killSwitchTargetMs = (n: number) => (n <= 1_000 ? 10 : 100);

export interface KillSwitchFigures {
  n: number;
  batch: boolean;
  venue: VenueSpeed;
  /** set('active') until the adapter was asked to cancel the last order. */
  ms: Stat;
  perExecutionUs: number;
  /** The longest stretch the event loop was held, from set() until every execution had heard. */
  blockMs: Stat;
  /** set('active') until every execution had heard and was in stopping. */
  toldMs: Stat;
  /** Medians against the reference (answers held back, same N and cancel kind) run alternately in this process. */
  ratio: { ms: number; blockMs: number; toldMs: number };
  /** Every cancel requested within `killSwitchTargetMs(n)`: the variant's PASS. */
  cancelsMet: boolean;
  /** The loop never held longer than `killSwitchTargetMs(n)` meanwhile: a standing target of its own, printed beside it. */
  holdMet: boolean;
}

interface Sample {
  ms: number;
  block: number;
  told: number;
}

async function once(n: number, batch: boolean, venue: VenueSpeed): Promise<Sample> {
  const broker = batch ? new BatchBroker(venue) : new WorkingBroker(venue);
  // Counts the executions that have entered stopping, to know when every one has heard.
  const inner = new MemoryJournal();
  let stopping = 0;
  let working = 0;
  const journal = Object.assign(Object.create(inner) as MemoryJournal, {
    append: (entry: JournalEntry) => {
      if (entry.kind === 'transition' && entry.to === 'live.trading.working') working++;
      if (entry.kind === 'transition' && entry.to === 'live.stopping.cancelling') stopping++;
      return inner.append(entry);
    },
  });
  const clock = slowClock(TIME_DILATION);
  const engine = createEngine({ broker, journal, clock, logger: pino({ level: 'silent' }), pollIntervalMs: 3_600_000, minPollIntervalMs: 3_600_000 });
  const early: { ended: ExecutionResult | null } = { ended: null };
  for (const snapshot of snapshotsFor(n)) void engine.execute(snapshot).then((r) => (early.ended ??= r));
  // Every order acknowledged and working (a burst is started over several turns: the loop budget).
  // A run that cannot get there says why, rather than waiting for ever.
  let progressAt = performance.now();
  for (let seen = working; working < n; ) {
    await new Promise((r) => setImmediate(r));
    const { ended } = early;
    if (ended !== null) throw new Error(`kill switch bench: an execution ended before the switch (${ended.status}, ${ended.error?.code ?? 'no error'}) with ${working} of ${n} working`);
    if (working > seen) {
      seen = working;
      progressAt = performance.now();
    } else if (performance.now() - progressAt > SETUP_STALL_MS) throw new Error(`kill switch bench: ${working} of ${n} working, no progress in ${SETUP_STALL_MS / 1000} s`);
  }
  let lastCancelAt = 0;
  broker.onCancel = () => {
    if (broker.cancels === n) lastCancelAt = performance.now();
  };
  const t = performance.now();
  engine.killSwitch.set('active', { reason: 'bench', operator: 'bench' });
  let tick = performance.now();
  let longest = tick - t;
  while (stopping < n) {
    await new Promise((r) => setImmediate(r));
    const now = performance.now();
    longest = Math.max(longest, now - tick);
    tick = now;
    if (now - t > SETUP_STALL_MS) throw new Error(`kill switch bench: ${stopping} of ${n} told after ${SETUP_STALL_MS / 1000} s (${broker.cancels} cancels requested)`);
  }
  const told = performance.now() - t;
  if (lastCancelAt === 0) throw new Error(`only ${broker.cancels} of ${n} cancels requested`);
  // The engine is left behind: its venue answers nothing more and its timers are stopped, so its
  // executions wait for ever and are collected with it. (Letting 10,000 finish would take as long
  // as starting them.) What it had taken in is let through first, so nothing lingers into the next run.
  broker.silence();
  clock.stop();
  while (pacedBacklog() > 0) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 20)); // the venue's own timers (answers after 1 or 10 ms)
  return { ms: lastCancelAt - t, block: longest, told };
}

export async function benchKillSwitch(options: { sizes?: readonly number[]; runs?: number } = {}): Promise<KillSwitchFigures[]> {
  const sizes = options.sizes ?? [1_000, 10_000];
  const runs = options.runs ?? killSwitchRuns;
  const out: KillSwitchFigures[] = [];
  for (const n of sizes) {
    for (const batch of [false, true]) {
      const samples = new Map<VenueSpeed, Sample[]>(VENUE_SPEEDS.map((v) => [v, []]));
      // Variants alternate run by run, so a busy moment of the machine falls on all of them alike.
      for (let run = 0; run < runs; run++) for (const venue of VENUE_SPEEDS) samples.get(venue)!.push(await once(n, batch, venue));
      const reference = samples.get('held')!;
      const median = (xs: Sample[], k: keyof Sample) => stats(xs.map((x) => x[k])).median;
      for (const venue of VENUE_SPEEDS) {
        const xs = samples.get(venue)!;
        const ms = stats(xs.map((x) => x.ms));
        const blockMs = stats(xs.map((x) => x.block));
        const toldMs = stats(xs.map((x) => x.told));
        const bar = killSwitchTargetMs(n);
        const f: KillSwitchFigures = {
          n,
          batch,
          venue,
          ms,
          perExecutionUs: (ms.median * 1000) / n,
          blockMs,
          toldMs,
          ratio: { ms: ms.median / median(reference, 'ms'), blockMs: blockMs.median / median(reference, 'block'), toldMs: toldMs.median / median(reference, 'told') },
          cancelsMet: ms.median <= bar,
          holdMet: blockMs.median <= bar,
        };
        out.push(f);
        console.log(`  ${killSwitchLine(f)}`);
      }
    }
  }
  return out;
}

/** One variant as the bench prints it: figures, ratios to the reference and the verdict. */
export function killSwitchLine(f: KillSwitchFigures): string {
  const bar = killSwitchTargetMs(f.n);
  const vs = f.venue === 'held' ? 'reference' : `×${fmt(f.ratio.ms, 2)} / ×${fmt(f.ratio.blockMs, 2)} / ×${fmt(f.ratio.toldMs, 2)} of the reference`;
  return `${f.cancelsMet ? 'PASS' : 'FAIL'}  kill switch, ${f.n.toLocaleString('en')} working${f.batch ? ', batch cancel' : ''}, ${venueName(f.venue)}: every cancel requested in ${range(f.ms, 2, ' ms')} (≤ ${bar} ms); longest loop hold ${range(f.blockMs, 1, ' ms')} (${f.holdMet ? 'within' : 'OVER'} the ${bar} ms bar), all told in ${range(f.toldMs, 0, ' ms')}; ${vs}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(`npx tsx bench/killSwitch.ts${quick ? ' --quick' : ''} on ${machine()}: medians (min–max) of ${killSwitchRuns} runs`);
  const sizes = process.argv.includes('--only-1000') ? [1_000] : process.argv.includes('--only-10000') ? [10_000] : undefined;
  const figures = await benchKillSwitch(sizes ? { sizes } : {});
  const passed = figures.filter((f) => f.cancelsMet).length;
  const held = figures.filter((f) => f.holdMet).length;
  console.log(`\n${passed} of ${figures.length} variants PASS (every cancel requested within the bar); the loop hold within the bar in ${held} of ${figures.length}`);
}
