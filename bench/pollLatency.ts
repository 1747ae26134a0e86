/**
 * 7. A poll-only venue: how long after a fill happens Warden knows of it. The venue pushes nothing;
 * each order fills at a random moment in its first three seconds; the delay is from that moment to
 * the first look-up that sees the fill. Real timers, the default engine (default polling).
 */
import { pino } from 'pino';
import { createEngine, type BrokerAdapter, type OrderReport, type PositionReport, type ProtectionReport } from '../src/index.js';
import { benchSnapshot, quick, stats, type Stat } from './util.js';

/** Acknowledges, fills later by itself, and only answers look-ups: no push. */
class PollOnlyBroker implements BrokerAdapter {
  readonly name = 'poll-only';
  readonly clientOrderIdDurability = 'durable' as const;
  readonly delaysMs: number[] = [];
  private readonly orders = new Map<string, { report: OrderReport; filledAt: number | null; seen: boolean }>();
  private readonly positions = new Map<string, number>();

  constructor(private readonly fillWithinMs: number) {}

  submitOrder(req: { clientOrderId: string; symbol: string; side: 'buy' | 'sell'; quantity: number }): Promise<OrderReport> {
    const existing = this.orders.get(req.clientOrderId);
    if (existing) return Promise.resolve(existing.report);
    const entry = { report: { clientOrderId: req.clientOrderId, brokerOrderId: req.clientOrderId, status: 'pending', filledQuantity: 0, averageFillPrice: null } as OrderReport, filledAt: null as number | null, seen: false };
    this.orders.set(req.clientOrderId, entry);
    setTimeout(() => {
      entry.report = { ...entry.report, status: 'filled', filledQuantity: req.quantity, averageFillPrice: 1.1 };
      entry.filledAt = performance.now();
      this.positions.set(req.symbol, (this.positions.get(req.symbol) ?? 0) + (req.side === 'buy' ? req.quantity : -req.quantity));
    }, Math.random() * this.fillWithinMs);
    return Promise.resolve(entry.report);
  }
  getOrder(ref: { clientOrderId: string }): Promise<OrderReport | null> {
    const entry = this.orders.get(ref.clientOrderId);
    if (entry && entry.filledAt !== null && !entry.seen) {
      entry.seen = true;
      this.delaysMs.push(performance.now() - entry.filledAt);
    }
    return Promise.resolve(entry?.report ?? null);
  }
  cancelOrder(ref: { clientOrderId: string }): Promise<OrderReport> {
    return Promise.resolve(this.orders.get(ref.clientOrderId)!.report);
  }
  getPosition(symbol: string): Promise<PositionReport> {
    return Promise.resolve({ symbol, quantity: this.positions.get(symbol) ?? 0, averagePrice: 1.1, stopLoss: null, takeProfit: null });
  }
  placeProtection(req: { clientOrderId: string; quantity: number; stopLoss: number; takeProfit: number }): Promise<ProtectionReport> {
    return Promise.resolve({ clientOrderId: req.clientOrderId, status: 'placed', stopLoss: req.stopLoss, takeProfit: req.takeProfit, quantity: req.quantity });
  }
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export interface PollLatencyBench {
  readonly p50: Stat;
  readonly p99: Stat;
  readonly runs: number;
  readonly executions: number;
  readonly fillWithinMs: number;
}

export async function benchPollLatency(): Promise<PollLatencyBench> {
  const runs = quick ? 2 : 4;
  const executions = 200;
  const fillWithinMs = 3_000;
  const p50: number[] = [];
  const p99: number[] = [];
  for (let run = 0; run < runs; run++) {
    const broker = new PollOnlyBroker(fillWithinMs);
    const engine = createEngine({ broker, logger: pino({ level: 'silent' }) });
    await Promise.all(Array.from({ length: executions }, (_, i) => engine.execute(benchSnapshot(`Q${i % 50}`))));
    await engine.close();
    p50.push(percentile(broker.delaysMs, 50));
    p99.push(percentile(broker.delaysMs, 99));
    console.log(`  poll-only run ${run + 1}/${runs}: fill known after p50 ${p50.at(-1)!.toFixed(0)} ms, p99 ${p99.at(-1)!.toFixed(0)} ms`);
  }
  return { p50: stats(p50), p99: stats(p99), runs, executions, fillWithinMs };
}
