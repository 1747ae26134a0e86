/**
 * 2. Kill-switch reaction: N executions working (acknowledged, never filled); the time from
 * killSwitch.set('active') until the adapter has been asked to cancel every one of them, how long
 * the event loop is held at a stretch meanwhile, and the time until every execution has heard of
 * the switch (is in stopping). With and without a batch cancel (`cancelOrders`) at the adapter.
 */
import { pino } from 'pino';
import { createEngine, MemoryJournal, type BrokerAdapter, type JournalEntry, type OrderRef, type OrderReport } from '../src/index.js';
import { benchSnapshot, quick, stats, type Stat } from './util.js';

/** Acknowledges at once, never fills; counts cancels, and honours them once the measurement is over. */
class WorkingBroker implements BrokerAdapter {
  readonly name = 'working';
  cancels = 0;
  batchCalls = 0;
  private readonly cancelled = new Set<string>();
  private readonly held: (() => void)[] = [];
  onCancel: (() => void) | null = null;
  submitOrder(req: { clientOrderId: string }): Promise<OrderReport> {
    return Promise.resolve({ clientOrderId: req.clientOrderId, brokerOrderId: req.clientOrderId, status: 'pending', filledQuantity: 0, averageFillPrice: null });
  }
  cancelOrder(ref: { clientOrderId: string }): Promise<OrderReport> {
    this.cancels++;
    this.onCancel?.();
    // Answered only after the measurement: the answer is not part of the reaction time.
    return new Promise((resolve) =>
      this.held.push(() => {
        this.cancelled.add(ref.clientOrderId);
        resolve(this.report(ref.clientOrderId));
      }),
    );
  }
  release(): void {
    for (const answer of this.held.splice(0)) answer();
  }
  protected report(clientOrderId: string): OrderReport {
    return { clientOrderId, brokerOrderId: clientOrderId, status: this.cancelled.has(clientOrderId) ? 'cancelled' : 'pending', filledQuantity: 0, averageFillPrice: null };
  }
  protected hold(answer: () => void): void {
    this.held.push(answer);
  }
  protected markCancelled(clientOrderId: string): void {
    this.cancelled.add(clientOrderId);
  }
  getOrder(ref: { clientOrderId: string }): Promise<OrderReport | null> {
    return Promise.resolve(this.report(ref.clientOrderId));
  }
  getPosition(symbol: string) {
    return Promise.resolve({ symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null });
  }
  placeProtection(): never {
    throw new Error('never filled');
  }
}

/** The same venue with a batch cancel: one call for every order. */
class BatchBroker extends WorkingBroker {
  cancelOrders(refs: readonly OrderRef[]): Promise<OrderReport[]> {
    this.batchCalls++;
    this.cancels += refs.length;
    this.onCancel?.();
    return new Promise((resolve) =>
      this.hold(() => {
        for (const r of refs) this.markCancelled(r.clientOrderId);
        resolve(refs.map((r) => this.report(r.clientOrderId)));
      }),
    );
  }
}

export const killSwitchRuns = quick ? 3 : 7;

export interface KillSwitchFigures {
  n: number;
  batch: boolean;
  /** set('active') until the adapter was asked to cancel the last order. */
  ms: Stat;
  perExecutionUs: number;
  /** The longest stretch the event loop was held, from set() until every execution had heard. */
  blockMs: Stat;
  /** set('active') until every execution had heard and was in stopping. */
  toldMs: Stat;
}

export async function benchKillSwitch(): Promise<KillSwitchFigures[]> {
  const cases = quick
    ? [{ n: 100, batch: false }, { n: 1_000, batch: false }, { n: 1_000, batch: true }]
    : [{ n: 100, batch: false }, { n: 1_000, batch: false }, { n: 10_000, batch: false }, { n: 1_000, batch: true }, { n: 10_000, batch: true }];
  const runs = killSwitchRuns;
  const out: KillSwitchFigures[] = [];
  for (const { n, batch } of cases) {
    const samples: number[] = [];
    const blocks: number[] = [];
    const told: number[] = [];
    for (let run = 0; run < runs; run++) {
      const broker = batch ? new BatchBroker() : new WorkingBroker();
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
      const engine = createEngine({ broker, journal, logger: pino({ level: 'silent' }), pollIntervalMs: 3_600_000, minPollIntervalMs: 3_600_000 });
      for (let i = 0; i < n; i++) void engine.execute(benchSnapshot(`K${i % 100}`));
      // Every order acknowledged and working (a burst is started over several turns: the loop budget).
      while (working < n) await new Promise((r) => setImmediate(r));
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
      }
      if (lastCancelAt === 0) throw new Error(`only ${broker.cancels} of ${n} cancels requested`);
      samples.push(lastCancelAt - t);
      blocks.push(longest);
      told.push(performance.now() - t);
      // Let every execution finish (cancelled, reconciled) so nothing lingers into the next benchmark.
      broker.release();
      await engine.close();
    }
    const ms = stats(samples);
    out.push({ n, batch, ms, perExecutionUs: (ms.median * 1000) / n, blockMs: stats(blocks), toldMs: stats(told) });
    console.log(`  kill switch, ${n} working${batch ? ', batch cancel' : ''}: every cancel requested in ${ms.median.toFixed(2)} ms, longest block ${stats(blocks).median.toFixed(2)} ms, all told in ${stats(told).median.toFixed(1)} ms`);
  }
  return out;
}
