/**
 * 6. Latency a trader feels, and durable throughput, with the durable journal (SqliteJournal, group
 * commit, fsync on) against an instant broker:
 * - execute() called → the adapter's submitOrder called (validation, claim, intent on disk);
 * - fill known (the submit answer carrying the fill returned by the adapter) → placeProtection
 *   called (levels from the fill price, the request on disk);
 * - executions per second with many in flight.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createEngine, type OrderReport, type ProtectionReport } from '../src/index.js';
import { SqliteJournal } from '../src/entries/sqlite.js';
import { InstantBroker } from './instantBroker.js';
import { benchSnapshot, quick, stats, type Stat } from './util.js';

/** Notes when Warden calls the adapter and when the fill is handed back. */
class TimedBroker extends InstantBroker {
  readonly submitCalled = new Map<string, number>();
  readonly fillKnown = new Map<string, number>();
  readonly protectionCalled = new Map<string, number>();
  override async submitOrder(req: { clientOrderId: string; symbol: string; side: 'buy' | 'sell'; quantity: number }): Promise<OrderReport> {
    this.submitCalled.set(req.clientOrderId, performance.now());
    const report = await super.submitOrder(req);
    this.fillKnown.set(req.clientOrderId, performance.now());
    return report;
  }
  override placeProtection(req: { clientOrderId: string; symbol: string; quantity: number; stopLoss: number; takeProfit: number }): Promise<ProtectionReport> {
    this.protectionCalled.set(req.clientOrderId.replace(/-p$/, ''), performance.now());
    return super.placeProtection(req);
  }
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export interface LatencyBench {
  readonly toSubmit: { p50: Stat; p99: Stat };
  readonly fillToProtection: { p50: Stat; p99: Stat };
  readonly perSecond: Stat;
  readonly runs: number;
  readonly executions: number;
  readonly concurrent: number;
}

export async function benchLatency(): Promise<LatencyBench> {
  const runs = quick ? 3 : 5;
  const n = quick ? 300 : 1_000;
  const throughputN = quick ? 2_000 : 5_000;
  const concurrent = 200;
  const toSubmit50: number[] = [];
  const toSubmit99: number[] = [];
  const fillToProt50: number[] = [];
  const fillToProt99: number[] = [];
  const perSecond: number[] = [];
  for (let run = 0; run < runs; run++) {
    const dir = mkdtempSync(join(tmpdir(), 'warden-latency-'));
    const broker = new TimedBroker();
    const engine = createEngine({ broker, journal: new SqliteJournal(join(dir, 'j.sqlite')), logger: pino({ level: 'silent' }) });
    // One at a time: what one execution waits for.
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const result = await engine.execute(benchSnapshot(`L${i % 50}`));
      const id = result.clientOrderId!;
      a.push((broker.submitCalled.get(id)! - t0) * 1000);
      b.push((broker.protectionCalled.get(id)! - broker.fillKnown.get(id)!) * 1000);
    }
    toSubmit50.push(percentile(a, 50));
    toSubmit99.push(percentile(a, 99));
    fillToProt50.push(percentile(b, 50));
    fillToProt99.push(percentile(b, 99));
    // Many in flight: completed executions per second, every record fsynced.
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < throughputN) {
        next++;
        const r = await engine.execute(benchSnapshot(`T${next % 200}`));
        if (r.status !== 'filled') throw new Error(`throughput execution ended ${r.status}`);
      }
    };
    await Promise.all(Array.from({ length: concurrent }, worker));
    perSecond.push(throughputN / ((performance.now() - started) / 1000));
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
    console.log(
      `  latency run ${run + 1}/${runs}: execute→submitOrder p50 ${toSubmit50.at(-1)!.toFixed(0)} µs p99 ${toSubmit99.at(-1)!.toFixed(0)} µs; fill→placeProtection p50 ${fillToProt50.at(-1)!.toFixed(0)} µs p99 ${fillToProt99.at(-1)!.toFixed(0)} µs; ${perSecond.at(-1)!.toFixed(0)} executions/s durable`,
    );
  }
  return {
    toSubmit: { p50: stats(toSubmit50), p99: stats(toSubmit99) },
    fillToProtection: { p50: stats(fillToProt50), p99: stats(fillToProt99) },
    perSecond: stats(perSecond),
    runs,
    executions: n,
    concurrent,
  };
}
