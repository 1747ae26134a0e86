/** 4. Journal throughput: records per second, in memory and durable (SQLite, WAL, synchronous=FULL: one fsync per record). */
import { rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryJournal, type Journal } from '../src/index.js';
import { SqliteJournal } from '../src/entries/sqlite.js';
import { quick, stats, type Stat } from './util.js';

const payload = { event: { type: 'ORDER_UPDATE', report: { clientOrderId: 'wd-0123456789abcdef01234567', brokerOrderId: 'P-1', status: 'partially_filled', filledQuantity: 5, averageFillPrice: 1.1001 } }, filledQuantity: 5, killSwitch: 'off' };

function rate(journal: Journal, n: number): number {
  const t = performance.now();
  for (let i = 0; i < n; i++) journal.append({ kind: 'transition', executionId: 'e', advisoryId: 'a', snapshotHash: 'h', from: 'live.trading.working', to: 'live.trading.working', event: 'ORDER_UPDATE', payload });
  return n / ((performance.now() - t) / 1000);
}

export async function benchJournal(): Promise<{ memory: Stat; sqlite: Stat; runs: number }> {
  const runs = quick ? 3 : 5;
  const memory: number[] = [];
  const sqlite: number[] = [];
  for (let r = 0; r < runs; r++) {
    memory.push(rate(new MemoryJournal(), quick ? 5_000 : 20_000));
    const dir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
    const j = new SqliteJournal(join(dir, 'bench.sqlite'));
    sqlite.push(rate(j, quick ? 300 : 1_000));
    await j.close();
    rmSync(dir, { recursive: true, force: true });
    console.log(`  journal run ${r + 1}/${runs}: memory ${memory.at(-1)!.toFixed(0)} records/s, sqlite ${sqlite.at(-1)!.toFixed(0)} records/s`);
  }
  return { memory: stats(memory), sqlite: stats(sqlite), runs };
}
