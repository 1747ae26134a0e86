/**
 * The durable journal: SQLite in WAL mode with synchronous=FULL. Records are chained as they are
 * appended and written in batches, one transaction and one fsync for everything appended in a turn
 * of the event loop (group commit); `flush()` resolves when they are on disk, and the engine awaits
 * it before every send. Records stay hash-chained; the `advisories` table makes "one execution per
 * advisory" hold for the file's whole life, across restarts.
 *
 * Opening verifies the schema and the chain from its last checkpoint on (src/journal/sqliteChain.ts):
 * the checkpoint must follow the record it signs off, every record it lists for a restart must be
 * intact, and every record after it must chain. Checkpoints are written every `checkpointEvery`
 * records (and on `checkpoint()`), so opening costs the same however long the history;
 * `verify()` checks every record and every checkpoint. A file that is not a Warden journal, has
 * another schema, was edited, is empty, ends before its head or has an advisories index that
 * disagrees with its claims (src/journal/sqliteIntegrity.ts) is refused with a JournalError and
 * never written to. The writer
 * lock lives in sqliteWriterLock.ts, the operators' command inbox in sqliteCommands.ts, the file's
 * layout in sqliteRows.ts, archiving settled history in archive.ts.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { systemClock, type Clock } from '../domain/clock.js';
import { RestartTracker, type CheckpointPayload } from './checkpoint.js';
import { chainPlainRecord, chainRecord, GENESIS_HASH } from './hashChain.js';
import { submitCommand, watchInbox } from './sqliteCommands.js';
import { restartRows, verifyChainOf } from './sqliteChain.js';
import { CLAIM_RECORD_QUERY, createJournalFile, EMPTY_HEAD, headStatement, readChainHead, writeHead, type ChainHead } from './sqliteIntegrity.js';
import { checkJournalHead, createAdditions, openJournalReadOnly, toRecord, type Row } from './sqliteRows.js';
import { liveWriter, releaseWriterLock, takeWriterLock, type JournalWriter } from './sqliteWriterLock.js';
import {
  JournalError,
  JournalKind,
  type CommandOutcome,
  type Journal,
  type JournalEntry,
  type JournalFilter,
  type JournalRecord,
  type JournalVerification,
  type OperatorCommand,
} from './types.js';

export type { JournalWriter } from './sqliteWriterLock.js';

/** Records between two checkpoints, by default: what a writer verifies at open, at most. */
export const DEFAULT_CHECKPOINT_EVERY = 2_000;

/**
 * One process writes a journal file at a time: opening it for writing takes a lock (the
 * `<journal>.lock` file beside it, naming the process), and a second writer — another process,
 * or a second `SqliteJournal` in the same one — gets a `JournalError` (`locked`) naming the holder.
 * A lock left by a process that died on the same host is taken over. Readers (`{ readOnly: true }`)
 * need no lock. Operators reach the writing process through {@link SqliteJournal.submitCommand}.
 *
 * @example
 * const engine = createEngine({ broker, journal: new SqliteJournal('data/warden.journal.sqlite') });
 */
export class SqliteJournal implements Journal {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement | null;
  private readonly insertAdvisory: Database.Statement | null;
  private last = GENESIS_HASH;
  private nextSequence = 1;
  private closed = false;
  private readonly lockToken: string | null;
  private readonly watchers = new Set<() => void>();
  private readonly findAdvisory: Database.Statement | null = null;
  private findClaimRecord: Database.Statement | undefined;
  private readonly updateHead: Database.Statement | null = null;
  /** Records chained and not yet written: this turn's batch. */
  private pending: JournalRecord[] = [];
  private readonly pendingClaims = new Set<string>();
  private waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private batch: NodeJS.Immediate | null = null;
  private failure: JournalError | null = null;
  /** What a checkpoint written now would hold (a writer only). */
  private tracker: RestartTracker | null = null;
  private sinceCheckpoint = 0;
  private readonly checkpointEvery: number;

  constructor(
    readonly path: string,
    private readonly clock: Clock = systemClock,
    readonly options: {
      readonly readOnly?: boolean;
      /** A checkpoint after this many records (default {@link DEFAULT_CHECKPOINT_EVERY}): what opening verifies, at most. */
      readonly checkpointEvery?: number;
    } = {},
  ) {
    const every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
    if (!Number.isSafeInteger(every) || every < 1) throw new JournalError('unreadable', `checkpointEvery must be a whole number of records, at least 1 (got ${String(options.checkpointEvery)})`);
    this.checkpointEvery = every;
    if (existsSync(path)) checkJournalHead(path);
    // An existing file is checked over a read-only connection first: nothing is written to a
    // file until it is known to be an intact Warden journal.
    const existing = existsSync(path);
    if (options.readOnly && !existing) throw new JournalError('unreadable', `no journal at ${path}`);
    let tail: JournalRecord | undefined;
    let tracker: RestartTracker | null = null;
    if (existing) {
      const ro = openJournalReadOnly(path);
      let check: JournalVerification;
      try {
        if (options.readOnly) {
          // A reader changes nothing, so it need not vouch for the chain at open: verify() does,
          // for the commands that report on it. Opening stays cheap however long the journal.
          check = { ok: true };
        } else {
          // A writer appends only to an intact chain: checked from its last checkpoint on
          // (streaming, constant memory), which signed off everything before it.
          const verified = verifyChainOf(ro, { full: false });
          check = verified.check;
          tail = verified.tail;
          tracker = verified.tracker;
        }
      } catch (e) {
        if (e instanceof JournalError) throw e;
        throw new JournalError('not_a_journal', `${path} is not a readable Warden journal: ${(e as Error).message}`);
      } finally {
        ro.close();
      }
      // A broken chain is never written to; a reader can still read it, for the forensics it is needed for.
      if (!check.ok) throw new JournalError('chain_broken', `journal ${path} fails verification at record ${check.brokenAt}: ${check.reason ?? 'it was edited or damaged'}; refusing to append to it`, check.brokenAt);
    }
    if (options.readOnly) {
      this.db = new Database(path, { readonly: true, fileMustExist: true });
      this.db.pragma('busy_timeout = 2000');
      this.insert = null;
      this.insertAdvisory = null;
      this.lockToken = null;
      return;
    }
    this.lockToken = takeWriterLock(path);
    try {
      if (!existing) createJournalFile(path);
      this.db = new Database(path, { fileMustExist: true });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 2000');
      createAdditions(this.db);
      // A journal from before heads were kept gets one now, naming the record it ends with.
      if (readChainHead(this.db) === null) writeHead(this.db, tail ? { sequence: tail.sequence, hash: tail.hash } : EMPTY_HEAD);
      // Its claims counted from the index where its checkpoints did not count them: trusted once, as it is upgraded.
      if (tracker !== null && tracker.claimed === undefined) tracker.adoptClaimed(this.db.prepare('SELECT COUNT(*) FROM advisories').pluck().get() as number);
    } catch (e) {
      releaseWriterLock(path, this.lockToken);
      throw new JournalError('unreadable', `cannot open journal ${path}: ${(e as Error).message}`);
    }
    if (tail) {
      this.last = tail.hash;
      this.nextSequence = tail.sequence + 1;
    }
    this.tracker = tracker ?? new RestartTracker();
    this.insert = this.db.prepare(
      `INSERT INTO records (sequence, at, kind, execution_id, advisory_id, snapshot_hash, from_state, to_state, event, payload, previous_hash, hash)
       VALUES (@sequence, @at, @kind, @executionId, @advisoryId, @snapshotHash, @from, @to, @event, @payload, @previousHash, @hash)`,
    );
    this.insertAdvisory = this.db.prepare('INSERT INTO advisories (advisory_id, execution_id, sequence) VALUES (?, ?, ?)');
    this.findAdvisory = this.db.prepare('SELECT 1 FROM advisories WHERE advisory_id = ?');
    this.updateHead = headStatement(this.db);
  }

  /** The live process writing `path`, or null when nobody does (or the holder died on this host). */
  static writerOf(path: string): JournalWriter | null {
    return liveWriter(path);
  }

  /**
   * Hands an operator's command to the process writing `path` and waits for its answer. Throws a
   * `JournalError`: `no_answer` when nobody writes the journal (open it yourself instead) or the
   * writer did not take the command within `timeoutMs` (withdrawn: nothing was changed);
   * `taken_unanswered` when the writer took it but its answer did not come in time (it may have applied it).
   *
   * @example
   * const outcome = await SqliteJournal.submitCommand(path, { kind: 'kill_switch', state: 'active', reason: 'news', operator: 'ops' });
   */
  static submitCommand(path: string, command: OperatorCommand, options: { timeoutMs?: number } = {}): Promise<CommandOutcome> {
    return submitCommand(path, command, options);
  }

  /** Hands each operator's command written by another process to `handler`, once, and stores its answer. */
  watchCommands(handler: (command: OperatorCommand) => CommandOutcome): () => void {
    if (!this.insert) return () => undefined; // a reader applies nothing
    const stopPolling = watchInbox(this.db, handler, { closed: () => this.closed, settle: () => this.settleNow() });
    const stop = () => {
      stopPolling();
      this.watchers.delete(stop);
    };
    this.watchers.add(stop);
    return stop;
  }

  /**
   * Chains the record at once and queues it; the queue is written in one transaction with one
   * fsync per batch (group commit), at the end of the current turn of the event loop or when
   * {@link flush} is awaited. Whoever must not act before the record is on disk (a send: intent
   * before send) awaits `flush()`. A claim of an advisory already claimed throws here, at once.
   */
  append(entry: JournalEntry): JournalRecord {
    if (this.closed) throw new JournalError('unreadable', `journal ${this.path} is closed`);
    if (!this.insert || !this.insertAdvisory || !this.findAdvisory) throw new JournalError('read_only', `journal ${this.path} is open read-only`);
    if (this.failure) throw this.failure;
    const record = chainRecord(entry, this.nextSequence, new Date(this.clock.now()).toISOString(), this.last);
    if (record.kind === JournalKind.Claim && record.advisoryId) {
      if (this.hasClaimed(record.advisoryId)) {
        throw new JournalError('duplicate_advisory', `advisory ${record.advisoryId} was already executed according to ${this.path}`);
      }
      this.pendingClaims.add(record.advisoryId);
    }
    this.push(record);
    this.tracker?.add(record);
    if (++this.sinceCheckpoint >= this.checkpointEvery) this.appendCheckpoint();
    return record;
  }

  private push(record: JournalRecord): void {
    this.pending.push(record);
    this.last = record.hash;
    this.nextSequence++;
    if (this.batch === null) this.batch = setImmediate(() => this.settleBatch());
  }

  /**
   * Appends a checkpoint now: a record in the chain that signs off the one before it and lists
   * what a restart needs. A writer opening the journal later verifies from the last one on.
   * Returns it; written with this turn's batch (await `flush()` for it to be on disk).
   *
   * @example
   * journal.checkpoint(); await journal.flush();
   */
  checkpoint(): JournalRecord {
    if (this.closed) throw new JournalError('unreadable', `journal ${this.path} is closed`);
    if (!this.insert || !this.tracker) throw new JournalError('read_only', `journal ${this.path} is open read-only`);
    if (this.failure) throw this.failure;
    if (this.nextSequence === 1) throw new JournalError('unreadable', `journal ${this.path} is empty: a checkpoint signs off records, and there are none`);
    return this.appendCheckpoint();
  }

  private appendCheckpoint(): JournalRecord {
    const payload: CheckpointPayload = { covers: [this.nextSequence - 1, this.last], state: this.tracker!.state() };
    const record = chainPlainRecord({ kind: JournalKind.Checkpoint, executionId: null, advisoryId: null, snapshotHash: null, event: 'checkpoint', payload }, this.nextSequence, new Date(this.clock.now()).toISOString(), this.last);
    this.push(record);
    this.sinceCheckpoint = 0;
    return record;
  }

  /**
   * Resolves once every record appended so far is on disk (this turn's batch written and fsynced);
   * rejects with the `JournalError` if the batch could not be written, after which the journal
   * refuses every append.
   */
  flush(): Promise<void> {
    if (this.pending.length === 0) return this.failure ? Promise.reject(this.failure) : Promise.resolve();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Writes the queued records now, in one transaction. Throws the failure (and keeps it). */
  private writePending(): void {
    if (this.failure) throw this.failure;
    if (this.pending.length === 0 || !this.insert || !this.insertAdvisory) return;
    const batch = this.pending;
    const insert = this.insert;
    const insertAdvisory = this.insertAdvisory;
    const updateHead = this.updateHead;
    this.pending = [];
    this.pendingClaims.clear();
    try {
      this.db.transaction(() => {
        for (const record of batch) {
          if (record.kind === JournalKind.Claim && record.advisoryId) insertAdvisory.run(record.advisoryId, record.executionId ?? '', record.sequence);
          insert.run({ ...record, payload: JSON.stringify(record.payload) });
        }
        // Where the chain ends, with the records: once a batch, so records removed from the end are seen.
        const last = batch[batch.length - 1]!;
        updateHead?.run(JSON.stringify({ sequence: last.sequence, hash: last.hash }));
      })();
    } catch (e) {
      // The batch is not on disk, and nothing that waited for it went ahead. The chain in memory now
      // runs ahead of the file, so nothing more is written: the engine treats this as an unwritable journal.
      this.failure = new JournalError('unreadable', `journal ${this.path} could not be written: ${(e as Error).message}`);
      throw this.failure;
    }
  }

  /** Writes this turn's batch now (a read sees everything appended before it). */
  private settleNow(): void {
    if (this.batch === null) return;
    clearImmediate(this.batch);
    this.settleBatch();
  }

  private settleBatch(): void {
    this.batch = null;
    const waiting = this.waiting;
    this.waiting = [];
    try {
      this.writePending();
    } catch (e) {
      for (const w of waiting) w.reject(e);
      return;
    }
    for (const w of waiting) w.resolve();
  }

  /**
   * Only what an engine needs at start, read through indexes. With a checkpoint: the last one
   * (its ledger stands for every execution settled before it), the records it lists (unfinished
   * executions, open flags, kill switch changes), and after it the claims, kill-switch changes,
   * resolutions, results, recoveries and every record of executions not finished — however long
   * the history. Without one: the same kinds from the first record on.
   */
  restartRecords(): readonly JournalRecord[] {
    this.settleNow();
    return restartRows(this.db);
  }

  recordsAfter(sequence: number, limit: number): readonly JournalRecord[] {
    this.settleNow();
    return (this.db.prepare('SELECT * FROM records WHERE sequence > ? ORDER BY sequence LIMIT ?').all(sequence, limit) as Row[]).map(toRecord);
  }

  readAll(): readonly JournalRecord[] {
    this.settleNow();
    return (this.db.prepare('SELECT * FROM records ORDER BY sequence').all() as Row[]).map(toRecord);
  }

  async records(filter: JournalFilter = {}): Promise<JournalRecord[]> {
    this.settleNow();
    const rows =
      filter.executionId !== undefined
        ? this.db.prepare('SELECT * FROM records WHERE execution_id = ? ORDER BY sequence').all(filter.executionId)
        : filter.advisoryId !== undefined
          ? this.db.prepare('SELECT * FROM records WHERE advisory_id = ? ORDER BY sequence').all(filter.advisoryId)
          : this.db.prepare('SELECT * FROM records ORDER BY sequence').all();
    return (rows as Row[]).map(toRecord).filter((r) => filter.advisoryId === undefined || r.advisoryId === filter.advisoryId);
  }

  /**
   * Advisories ever claimed in this journal (the `advisories` table): what a restart from a
   * checkpoint no longer reads from claim records.
   */
  claimedAdvisories(): readonly string[] {
    this.settleNow();
    return this.db.prepare('SELECT advisory_id FROM advisories').pluck().all() as string[];
  }

  /** Whether `advisoryId` was ever claimed in this journal (its index, and this turn's batch): one look-up, whatever the history. */
  hasClaimed(advisoryId: string): boolean {
    if (this.pendingClaims.has(advisoryId)) return true;
    if ((this.findAdvisory ?? this.db.prepare('SELECT 1 FROM advisories WHERE advisory_id = ?')).get(advisoryId) !== undefined) return true;
    // Not in the index: the chain's own claim still counts (an index row removed by hand), so an advisory never executes twice while its claim is here.
    return (this.findClaimRecord ??= this.db.prepare(CLAIM_RECORD_QUERY)).get(advisoryId) !== undefined;
  }

  /**
   * `{ full: true }` (the default): every record, streaming, and every checkpoint against what the
   * records before it say. `{ full: false }`: from the last checkpoint on, as a writer opens.
   */
  async verify(options: { readonly full?: boolean } = {}): Promise<JournalVerification> {
    this.settleNow();
    return verifyChainOf(this.db, { full: options.full !== false }).check;
  }

  /**
   * The journal's head as the file records it: its last record's sequence and hash (null for a
   * journal from before heads were kept). Noted or shipped elsewhere, it shows later whether the
   * newest records were removed together with the head.
   *
   * @example
   * const head = journal.head(); // { sequence: 1204, hash: '9f…' }
   */
  head(): ChainHead | null {
    this.settleNow();
    const head = readChainHead(this.db);
    return head === 'unreadable' ? null : head;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.settleNow();
    this.closed = true;
    for (const stop of [...this.watchers]) stop();
    this.db.close();
    if (this.lockToken) releaseWriterLock(this.path, this.lockToken);
  }
}
