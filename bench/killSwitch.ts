/**
 * 2. Kill-switch reaction: N executions working (acknowledged, never filled); the time from
 * killSwitch.set('active') until every one has issued its cancel.
 */
import { pino } from 'pino';
import { createEngine, type BrokerAdapter, type OrderReport } from '../src/index.js';
import { benchSnapshot, quick, stats, type Stat } from './util.js';

/** Acknowledges at once, never fills; counts cancels, and honours them once the measurement is over. */
class WorkingBroker implements BrokerAdapter {
  readonly name = 'working';
  cancels = 0;
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
  private report(clientOrderId: string): OrderReport {
    return { clientOrderId, brokerOrderId: clientOrderId, status: this.cancelled.has(clientOrderId) ? 'cancelled' : 'pending', filledQuantity: 0, averageFillPrice: null };
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

export async function benchKillSwitch(): Promise<{ n: number; ms: Stat; perExecutionUs: number }[]> {
  const sizes = quick ? [100, 1_000] : [100, 1_000, 10_000];
  const runs = quick ? 3 : 5;
  const out = [];
  for (const n of sizes) {
    const samples: number[] = [];
    for (let run = 0; run < runs; run++) {
      const broker = new WorkingBroker();
      const engine = createEngine({ broker, logger: pino({ level: 'silent' }), pollIntervalMs: 3_600_000 });
      for (let i = 0; i < n; i++) void engine.execute(benchSnapshot(`K${i % 100}`));
      await new Promise((r) => setImmediate(r)); // every order acknowledged and working
      let done!: () => void;
      const allCancelled = new Promise<void>((r) => (done = r));
      broker.onCancel = () => broker.cancels === n && done();
      const t = performance.now();
      engine.killSwitch.set('active', { reason: 'bench', operator: 'bench' });
      await allCancelled;
      samples.push(performance.now() - t);
      // Let every execution finish (cancelled, reconciled) so nothing lingers into the next benchmark.
      broker.release();
      await engine.close();
    }
    const ms = stats(samples);
    out.push({ n, ms, perExecutionUs: (ms.median * 1000) / n });
    console.log(`  kill switch, ${n} working: ${ms.median.toFixed(2)} ms`);
  }
  return out;
}
