/**
 * 4. Journal throughput: records per second, in memory and durable (SQLite, WAL,
 * synchronous=FULL). The durable journal writes in batches (group commit: one transaction and one
 * fsync per turn of the event loop); measured with every record awaited alone (one fsync each, the
 * worst case: a single execution's sends), and with batches of 100 and 1,000 records (many
 * executions in flight), every record on disk before the figure counts it.
 */
import { rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryJournal, type Journal } from '../src/index.js';
import { SqliteJournal } from '../src/entries/sqlite.js';
import { quick, stats, type Stat } from './util.js';

const payload = { event: { type: 'ORDER_UPDATE', report: { clientOrderId: 'wd-0123456789abcdef01234567', brokerOrderId: 'P-1', status: 'partially_filled', filledQuantity: 5, averageFillPrice: 1.1001 } }, filledQuantity: 5, killSwitch: 'off' };
const append = (journal: Journal) => journal.append({ kind: 'transition', executionId: 'e', advisoryId: 'a', snapshotHash: 'h', from: 'live.trading.working', to: 'live.trading.working', event: 'ORDER_UPDATE', payload });

function memoryRate(n: number): number {
  const journal = new MemoryJournal();
  const t = performance.now();
  for (let i = 0; i < n; i++) append(journal);
  return n / ((performance.now() - t) / 1000);
}

/** Durable records per second: `n` records in batches of `batch`, each batch flushed (fsynced) before the next. */
async function durableRate(n: number, batch: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const journal = new SqliteJournal(join(dir, 'bench.sqlite'));
  const t = performance.now();
  for (let i = 0; i < n; i += batch) {
    for (let j = 0; j < batch; j++) append(journal);
    await journal.flush();
  }
  const rate = n / ((performance.now() - t) / 1000);
  await journal.close();
  rmSync(dir, { recursive: true, force: true });
  return rate;
}

export interface JournalBench {
  readonly memory: Stat;
  /** Every record awaited alone: one fsync per record. */
  readonly sqlite: Stat;
  readonly batch100: Stat;
  readonly batch1000: Stat;
  readonly runs: number;
}

export async function benchJournal(): Promise<JournalBench> {
  const runs = quick ? 3 : 5;
  const memory: number[] = [];
  const single: number[] = [];
  const b100: number[] = [];
  const b1000: number[] = [];
  for (let r = 0; r < runs; r++) {
    memory.push(memoryRate(quick ? 5_000 : 20_000));
    single.push(await durableRate(quick ? 300 : 1_000, 1));
    b100.push(await durableRate(quick ? 5_000 : 20_000, 100));
    b1000.push(await durableRate(quick ? 20_000 : 100_000, 1_000));
    console.log(`  journal run ${r + 1}/${runs}: memory ${memory.at(-1)!.toFixed(0)}/s; durable: alone ${single.at(-1)!.toFixed(0)}/s, batches of 100 ${b100.at(-1)!.toFixed(0)}/s, of 1,000 ${b1000.at(-1)!.toFixed(0)}/s`);
  }
  return { memory: stats(memory), sqlite: stats(single), batch100: stats(b100), batch1000: stats(b1000), runs };
}
