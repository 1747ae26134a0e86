import { systemClock, type Clock } from '../domain/clock.js';
import { chainRecord, GENESIS_HASH, verifyChain } from './hashChain.js';
import { JournalError, type Journal, type JournalEntry, type JournalFilter, type JournalRecord, type JournalVerification } from './types.js';

/**
 * How many records a {@link MemoryJournal} keeps unless told otherwise (a few KB each; figures in docs/performance.md).
 *
 * @example
 * new MemoryJournal().maxRecords === MEMORY_JOURNAL_DEFAULT_MAX_RECORDS; // true: 100_000 records
 */
export const MEMORY_JOURNAL_DEFAULT_MAX_RECORDS = 100_000;

/**
 * How many records a {@link MemoryJournal} keeps.
 *
 * @example
 * const options: MemoryJournalOptions = { maxRecords: 10_000 };
 * const engine = createEngine({ broker, journal: new MemoryJournal(systemClock, options) });
 */
export interface MemoryJournalOptions {
  /**
   * The most records kept: beyond it the oldest are dropped, one for each new one (default
   * {@link MEMORY_JOURNAL_DEFAULT_MAX_RECORDS}). An engine writes about 17 per execution.
   */
  readonly maxRecords?: number;
}

/**
 * The default journal: hash-chained records in memory, **bounded**. It keeps the last
 * `maxRecords` records (default 100,000) and drops the oldest beyond that, so a long-running
 * process does not grow without bound. Lost with the process; use a durable store when the record
 * of truth must survive a crash or be kept whole.
 *
 * What is kept is what `records()`, `readAll()` and `verify()` see. `verify()` checks every kept
 * record's own hash, each link between consecutive kept records and the sequence numbers; once
 * records have been dropped, the first kept record's `previousHash` is the anchor: it is compared
 * with the hash this journal computed for the last record it dropped (held in memory), and
 * nothing before it can be checked any more. A running engine never reads old records (it keeps
 * its claims, switches and flags itself); only a new engine started over the same journal would,
 * and {@link MemoryJournal.restartRecords} refuses that once anything was dropped.
 *
 * @example
 * const journal = new MemoryJournal(systemClock, { maxRecords: 50_000 });
 * const engine = createEngine({ broker, journal });
 * (await journal.verify()).ok; // true
 */
export class MemoryJournal implements Journal {
  /** Kept records from `head` on; slots before it are emptied and reclaimed from time to time. */
  private list: (JournalRecord | undefined)[] = [];
  private head = 0;
  private sequence = 0;
  private last = GENESIS_HASH;
  /** Hash of the last dropped record: what the first kept record must link to. */
  private anchor = GENESIS_HASH;
  readonly maxRecords: number;

  constructor(
    private readonly clock: Clock = systemClock,
    options: MemoryJournalOptions = {},
  ) {
    const max = options.maxRecords ?? MEMORY_JOURNAL_DEFAULT_MAX_RECORDS;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxRecords must be a positive integer, got ${String(max)}`);
    this.maxRecords = max;
  }

  append(entry: JournalEntry): JournalRecord {
    const record = chainRecord(entry, this.sequence + 1, new Date(this.clock.now()).toISOString(), this.last);
    this.sequence++;
    this.list.push(record);
    this.last = record.hash;
    if (this.list.length - this.head > this.maxRecords) {
      this.anchor = this.list[this.head]!.hash;
      this.list[this.head] = undefined; // the record itself is released now
      this.head++;
      // The emptied slots are reclaimed in one copy once they are as many as the kept ones: O(1) per append.
      if (this.head >= this.maxRecords) this.compact();
    }
    return record;
  }

  /** How many records have been dropped to keep the bound. */
  get dropped(): number {
    return this.sequence - this.size;
  }

  /** How many records are kept. */
  get size(): number {
    return this.list.length - this.head;
  }

  recordsAfter(sequence: number, limit: number): readonly JournalRecord[] {
    const kept = this.readAll();
    const from = kept.findIndex((r) => r.sequence > sequence);
    return from < 0 ? [] : kept.slice(from, from + limit);
  }

  readAll(): readonly JournalRecord[] {
    this.compact();
    return this.list as JournalRecord[];
  }

  /**
   * Everything, for an engine starting over this journal — unless records were dropped: then the
   * claims that stop an advisory from executing twice may be gone, and no engine may start over it.
   */
  restartRecords(): readonly JournalRecord[] {
    if (this.dropped > 0) throw new JournalError('truncated', `this MemoryJournal dropped its ${this.dropped} oldest records to stay within ${this.maxRecords}; an engine cannot safely start over it (use a durable journal to restart)`);
    return this.readAll();
  }

  async records(filter: JournalFilter = {}): Promise<JournalRecord[]> {
    return this.readAll().filter(
      (r) => (filter.advisoryId === undefined || r.advisoryId === filter.advisoryId) && (filter.executionId === undefined || r.executionId === filter.executionId),
    );
  }

  async verify(): Promise<JournalVerification> {
    const kept = this.readAll();
    const first = kept[0];
    if (first === undefined || this.anchor === GENESIS_HASH) return verifyChain(kept);
    // Records were dropped: the kept suffix must start where the dropped part ended.
    if (first.previousHash !== this.anchor || first.sequence !== this.sequence - kept.length + 1) return { ok: false, brokenAt: first.sequence };
    return verifyChain(kept, { segment: true });
  }

  async close(): Promise<void> {}

  /** Test hook: the stored array of kept records itself, to prove that editing a record breaks verification. */
  unsafeRecords(): JournalRecord[] {
    this.compact();
    return this.list as JournalRecord[];
  }

  private compact(): void {
    if (this.head === 0) return;
    this.list = this.list.slice(this.head);
    this.head = 0;
  }
}
