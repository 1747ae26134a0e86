/**
 * 4c. Heap held per finished execution, by journal: 10,000 executions against an instant broker,
 * heap measured after a forced collection (run with --expose-gc), with the engine and journal
 * still alive. The difference to a journal that keeps nothing is what the journal itself holds.
 */
import { pino } from 'pino';
import { createEngine, MemoryJournal, type Journal } from '../src/index.js';
import { InstantBroker } from './instantBroker.js';
import { benchSnapshot, CountingJournal, quick } from './util.js';

export interface JournalMemoryRow {
  label: string;
  /** Records the journal held at the end. */
  kept: number;
  /** Heap held per finished execution (engine, broker and journal). */
  bytesPerExecution: number;
  /** Of which the journal's records. */
  journalBytesPerExecution: number;
}

const gc = () => (globalThis as { gc?: () => void }).gc?.();

async function heldPerExecution(journal: Journal, n: number): Promise<number> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const engine = createEngine({ broker: new InstantBroker(), journal, logger: pino({ level: 'silent' }) });
  for (let done = 0; done < n; done += 100) await Promise.all(Array.from({ length: Math.min(100, n - done) }, () => engine.execute(benchSnapshot())));
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  await engine.close();
  return (after - before) / n;
}

export async function benchJournalMemory(): Promise<{ n: number; gcExposed: boolean; rows: JournalMemoryRow[] }> {
  const n = quick ? 2_000 : 10_000;
  const baseline = await heldPerExecution(new CountingJournal(), n);
  const rows: JournalMemoryRow[] = [{ label: 'a journal that keeps nothing (baseline)', kept: 0, bytesPerExecution: baseline, journalBytesPerExecution: 0 }];
  const cases: [string, number][] = [
    ['`MemoryJournal` without a bound (as before)', Number.MAX_SAFE_INTEGER],
    ['`MemoryJournal`, default bound (100,000 records)', 100_000],
    ['`MemoryJournal({ maxRecords: 10_000 })`', 10_000],
  ];
  for (const [label, maxRecords] of cases) {
    const journal = new MemoryJournal(undefined, { maxRecords });
    const bytes = await heldPerExecution(journal, n);
    rows.push({ label, kept: journal.size, bytesPerExecution: bytes, journalBytesPerExecution: bytes - baseline });
    console.log(`  ${label}: ${(bytes / 1024).toFixed(1)} KiB per execution, ${journal.size} records kept`);
  }
  return { n, gcExposed: typeof (globalThis as { gc?: unknown }).gc === 'function', rows };
}
