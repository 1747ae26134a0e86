import { systemClock, type Clock } from '../domain/clock.js';
import { chainRecord, GENESIS_HASH, verifyChain } from './hashChain.js';
import type { Journal, JournalEntry, JournalFilter, JournalRecord, JournalVerification } from './types.js';

/**
 * The default journal: hash-chained records in memory. Lost with the process; use a durable
 * store when the record of truth must survive a crash.
 *
 * @example
 * const journal = new MemoryJournal();
 * const engine = createEngine({ broker, journal });
 * (await journal.verify()).ok; // true
 */
export class MemoryJournal implements Journal {
  private readonly list: JournalRecord[] = [];
  private last = GENESIS_HASH;

  constructor(private readonly clock: Clock = systemClock) {}

  append(entry: JournalEntry): JournalRecord {
    const record = chainRecord(entry, this.list.length + 1, new Date(this.clock.now()).toISOString(), this.last);
    this.list.push(record);
    this.last = record.hash;
    return record;
  }

  recordsAfter(sequence: number, limit: number): readonly JournalRecord[] {
    const from = this.list.findIndex((r) => r.sequence > sequence);
    return from < 0 ? [] : this.list.slice(from, from + limit);
  }

  readAll(): readonly JournalRecord[] {
    return this.list;
  }

  async records(filter: JournalFilter = {}): Promise<JournalRecord[]> {
    return this.list.filter(
      (r) => (filter.advisoryId === undefined || r.advisoryId === filter.advisoryId) && (filter.executionId === undefined || r.executionId === filter.executionId),
    );
  }

  async verify(): Promise<JournalVerification> {
    return verifyChain(this.list);
  }

  async close(): Promise<void> {}

  /** Test hook: the stored array itself, to prove that editing a record breaks verification. */
  unsafeRecords(): JournalRecord[] {
    return this.list;
  }
}
