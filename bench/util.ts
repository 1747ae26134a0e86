import { cpus } from 'node:os';
import { freezeSnapshot, type FrozenSnapshot, type Journal, type JournalEntry, type JournalRecord } from '../src/index.js';

export const quick = process.argv.includes('--quick');
export const machine = () => `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`;

export interface Stat {
  median: number;
  min: number;
  max: number;
}
export function stats(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s.at(-1)! };
}
export const fmt = (x: number, digits = 1) => x.toFixed(digits);
export const range = (s: Stat, digits = 1, unit = '') => `${fmt(s.median, digits)}${unit} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;

const T0 = Date.now();
let serial = 0;
/** A valid, approved snapshot; every call a new advisory. */
export function benchSnapshot(symbol = 'EURUSD', side: 'buy' | 'sell' = 'buy'): FrozenSnapshot {
  serial++;
  return freezeSnapshot({
    advisoryId: `bench-${process.pid}-${serial}`, symbol, side, positionSize: 1, referencePrice: 1.1,
    slOffsetPct: side === 'buy' ? -0.01 : 0.01, tpOffsetPct: side === 'buy' ? 0.02 : -0.02,
    createdAt: new Date(T0 - 60_000).toISOString(), expiresAt: new Date(T0 + 86_400_000).toISOString(),
    approval: { approvedBy: 'bench', approvedAt: new Date(T0 - 30_000).toISOString() },
  });
}

/**
 * A journal that keeps nothing: heap measured with it is the executions' own. It counts records,
 * and the executions that reached `live.trading.working`.
 */
export class CountingJournal implements Journal {
  count = 0;
  working = 0;
  append(entry: JournalEntry): JournalRecord {
    this.count++;
    if (entry.kind === 'transition' && entry.to === 'live.trading.working') this.working++;
    return entry as unknown as JournalRecord;
  }
  readAll(): readonly JournalRecord[] {
    return [];
  }
  async records(): Promise<JournalRecord[]> {
    return [];
  }
  async verify() {
    return { ok: true };
  }
  async close() {}
}
