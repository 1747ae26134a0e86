/**
 * The durable journal: SQLite in WAL mode with synchronous=FULL. Records are chained as they are
 * appended and written in batches, one transaction and one fsync for everything appended in a turn
 * of the event loop (group commit); `flush()` resolves when they are on disk, and the engine awaits
 * it before every send. Records stay hash-chained; the `advisories` table makes "one execution per
 * advisory" hold for the file's whole life, across restarts.
 *
 * Opening verifies the schema and the chain from its last checkpoint on (src/journal/checkpoint.ts):
 * the checkpoint must follow the record it signs off, every record it lists for a restart must be
 * intact, and every record after it must chain. Checkpoints are written every `checkpointEvery`
 * records (and on `checkpoint()`), so opening costs the same however long the history;
 * `verify()` checks every record and every checkpoint. A file that is not a Warden journal, has
 * another schema, or was edited is refused with a JournalError and never written to.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { systemClock, type Clock } from '../domain/clock.js';
import { LimitsSchema } from '../domain/limits.js';
import { checkpointFits, readCheckpoint, referencedRecords, RestartTracker, verifyWithCheckpoints, type CheckpointPayload } from './checkpoint.js';
import { chainPlainRecord, chainRecord, GENESIS_HASH, recordHashIntact, storedRecordHash } from './hashChain.js';
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

/**
 * Who holds a journal's writer lock (the `<journal>.lock` file beside it).
 *
 * @example
 * const writer: JournalWriter | null = SqliteJournal.writerOf('data/warden.journal.sqlite');
 * if (writer) console.log(`written by pid ${writer.pid} on ${writer.host} since ${writer.since}`);
 */
export interface JournalWriter {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly token: string;
}

const WriterSchema = z.object({ pid: z.number().int().positive(), host: z.string().max(256), since: z.string().max(64), token: z.string().max(64) });

const CommandSchema: z.ZodType<OperatorCommand> = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('kill_switch'),
    state: z.enum(['off', 'warning', 'active']),
    symbol: z.string().min(1).max(32).optional(),
    reason: z.string().min(1).max(500),
    operator: z.string().min(1).max(100),
  }),
  z.object({ kind: z.literal('resolve'), advisoryId: z.string().min(1).max(128), operator: z.string().min(1).max(100), note: z.string().min(1).max(2000) }),
  z.object({ kind: z.literal('limits'), change: LimitsSchema, operator: z.string().min(1).max(100), reason: z.string().min(1).max(500) }),
]);

/** How often a writer looks for operators' commands. */
const COMMAND_POLL_MS = 200;

const lockPathOf = (path: string) => `${path}.lock`;

/** Records between two checkpoints, by default: what a writer verifies at open, at most. */
export const DEFAULT_CHECKPOINT_EVERY = 5_000;

const RESTART_KINDS = "('claim', 'kill_switch', 'resolution', 'result', 'recovery')";

/**
 * The chain from the second-to-last checkpoint on (from the first record when there is no such
 * checkpoint): that checkpoint checked where it stands (its own hash, the record it signs off, the
 * records it lists for a restart), then every later record chained to it and the last checkpoint
 * checked against what they say. So opening verifies at most about two checkpoints' worth of
 * records, and a last checkpoint that does not follow from the one before is refused.
 * `tracker` knows what a checkpoint at the end would hold; `tail` is the last record.
 */
function verifyFromCheckpoint(db: Database.Database): { check: JournalVerification; tail?: JournalRecord; tracker: RestartTracker } {
  const lastTwo = db.prepare("SELECT * FROM records WHERE kind = 'checkpoint' ORDER BY sequence DESC LIMIT 2").all() as Row[];
  const startRow = lastTwo[1];
  let tail: JournalRecord | undefined;
  if (startRow === undefined) {
    const tracker = new RestartTracker();
    const records = function* () {
      for (const row of rowsAfter(db, 0)) yield (tail = toStoredRecord(row));
    };
    const check = verifyWithCheckpoints(records(), { tracker }, storedHash);
    return { check, tracker, ...(tail ? { tail } : {}) };
  }
  const bySequence = db.prepare('SELECT * FROM records WHERE sequence = ?');
  const start = toRecord(startRow);
  const broken = (at: number) => ({ check: { ok: false, brokenAt: at }, tracker: new RestartTracker() });
  const coveredRow = bySequence.get(start.sequence - 1) as Row | undefined;
  const covered = coveredRow ? toRecord(coveredRow) : undefined;
  // A checkpoint is trusted only where it stands: its own hash, and the record it signs off.
  if (!recordHashIntact(start) || !checkpointFits(start, covered) || !recordHashIntact(covered!)) return broken(start.sequence);
  const payload = readCheckpoint(start) as CheckpointPayload;
  // What a restart reads from before the checkpoint must be what the checkpoint signed off.
  for (const [sequence, hash] of referencedRecords(payload.state)) {
    const row = bySequence.get(sequence) as Row | undefined;
    if (!row || row.hash !== hash || !recordHashIntact(toRecord(row))) return broken(sequence);
  }
  const tracker = RestartTracker.from(payload.state);
  const records = function* () {
    yield (tail = start);
    for (const row of rowsAfter(db, start.sequence)) yield (tail = toStoredRecord(row));
  };
  const check = verifyWithCheckpoints(records(), { checkpoint: start, tracker }, (r) => (r === start ? r.hash : storedHash(r)));
  return { check: check.ok ? { ok: true, from: start.sequence } : check, tracker, ...(tail ? { tail } : {}) };
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
};

/** The live writer of `path`, or null. A lock left by a process that died on this host is stale. */
function liveWriter(path: string): JournalWriter | null {
  let text: string;
  try {
    text = readFileSync(lockPathOf(path), 'utf8');
  } catch {
    return null;
  }
  let parsed;
  try {
    parsed = WriterSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = { success: false as const };
  }
  // An unreadable lock (a crash mid-write) proves nobody; one from another host cannot be checked, so it holds.
  if (!parsed.success) return null;
  const w = parsed.data;
  if (w.host === hostname() && !pidAlive(w.pid)) return null;
  return w;
}

const SCHEMA = 'warden-journal/1';
const SQLITE_MAGIC = 'SQLite format 3\0';

/** The first 16 bytes of a file (where SQLite writes its magic), without reading the rest of it. */
function readHead(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(16);
    return buffer.subarray(0, readSync(fd, buffer, 0, 16, 0)).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

interface Row {
  sequence: number;
  at: string;
  kind: JournalRecord['kind'];
  execution_id: string | null;
  advisory_id: string | null;
  snapshot_hash: string | null;
  from_state: string | null;
  to_state: string | null;
  event: string | null;
  payload: string;
  previous_hash: string;
  hash: string;
}

/** A payload that is not JSON (edited by hand) is read as a marked text, never a throw; its hash no longer matches. */
function parseStoredPayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { unreadablePayload: String(text).slice(0, 1_000) };
  }
}

const toRecord = (r: Row): JournalRecord => ({
  sequence: r.sequence,
  at: r.at,
  kind: r.kind,
  executionId: r.execution_id,
  advisoryId: r.advisory_id,
  snapshotHash: r.snapshot_hash,
  from: r.from_state,
  to: r.to_state,
  event: r.event,
  payload: parseStoredPayload(r.payload),
  previousHash: r.previous_hash,
  hash: r.hash,
});

/**
 * A record for verification: its payload parsed only if something reads it (the restart tracker
 * reads claims and results; most records are only hashed, from their stored text).
 */
type StoredRecord = JournalRecord & { readonly payloadText: string };
const toStoredRecord = (r: Row): StoredRecord => {
  let payload: unknown;
  let parsed = false;
  return {
    sequence: r.sequence,
    at: r.at,
    kind: r.kind,
    executionId: r.execution_id,
    advisoryId: r.advisory_id,
    snapshotHash: r.snapshot_hash,
    from: r.from_state,
    to: r.to_state,
    event: r.event,
    get payload() {
      if (!parsed) {
        payload = parseStoredPayload(r.payload);
        parsed = true;
      }
      return payload;
    },
    payloadText: r.payload,
    previousHash: r.previous_hash,
    hash: r.hash,
  };
};
const storedHash = (r: JournalRecord): string => storedRecordHash(r as StoredRecord);

/** Rows after `sequence`, in order, read a page at a time: constant memory, and far fewer native calls than a row-by-row cursor. */
function* rowsAfter(db: Database.Database, sequence: number): Generator<Row> {
  const page = db.prepare('SELECT * FROM records WHERE sequence > ? ORDER BY sequence LIMIT 4096');
  for (let after = sequence; ; ) {
    const rows = page.all(after) as Row[];
    yield* rows;
    if (rows.length < 4096) return;
    after = rows[rows.length - 1]!.sequence;
  }
}

function createSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE records (
      sequence INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL,
      execution_id TEXT, advisory_id TEXT, snapshot_hash TEXT,
      from_state TEXT, to_state TEXT, event TEXT, payload TEXT NOT NULL,
      previous_hash TEXT NOT NULL, hash TEXT NOT NULL
    );
    CREATE INDEX records_by_advisory ON records (advisory_id);
    CREATE INDEX records_by_execution ON records (execution_id);
    CREATE INDEX records_by_kind ON records (kind);
    CREATE TABLE advisories (advisory_id TEXT PRIMARY KEY, execution_id TEXT NOT NULL, sequence INTEGER NOT NULL);
  `);
  createCommandInbox(db);
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA);
}

/** Operators' commands for the process that writes the journal (kill switch, resolve). Additive: older files gain it. */
function createCommandInbox(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, payload TEXT NOT NULL, applied_at TEXT, outcome TEXT
  )`);
}

function checkSchema(db: Database.Database, path: string): void {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
  const schema = tables.includes('meta') ? (db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined)?.value : undefined;
  if (schema !== SCHEMA) throw new JournalError('unsupported_schema', `${path} has schema ${schema ?? 'unknown'}, expected ${SCHEMA}; refusing to touch it`);
}

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
    if (existsSync(path)) {
      let head: string;
      try {
        head = readHead(path);
      } catch (e) {
        throw new JournalError('unreadable', `cannot read journal ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (head.length > 0 && head !== SQLITE_MAGIC) throw new JournalError('not_a_journal', `${path} is not a Warden journal (not an SQLite database); refusing to touch it`);
    }
    // An existing file is checked over a read-only connection first: nothing is written to a
    // file until it is known to be an intact Warden journal.
    const existing = existsSync(path) && statSync(path).size > 0;
    if (options.readOnly && !existing) throw new JournalError('unreadable', `no journal at ${path}`);
    let tail: JournalRecord | undefined;
    let tracker: RestartTracker | null = null;
    if (existing) {
      let ro: Database.Database;
      try {
        ro = new Database(path, { readonly: true, fileMustExist: true });
      } catch (e) {
        throw new JournalError('unreadable', `cannot open journal ${path}: ${(e as Error).message}`);
      }
      let check: JournalVerification;
      try {
        checkSchema(ro, path);
        if (options.readOnly) {
          // A reader changes nothing, so it need not vouch for the chain at open: verify() does,
          // for the commands that report on it. Opening stays cheap however long the journal.
          check = { ok: true };
        } else {
          // A writer appends only to an intact chain: checked from its last checkpoint on
          // (streaming, constant memory), which signed off everything before it.
          const verified = verifyFromCheckpoint(ro);
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
      if (!check.ok) throw new JournalError('chain_broken', `journal ${path} fails verification at record ${check.brokenAt}: it was edited or damaged; refusing to append to it`, check.brokenAt);
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
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 2000');
      if (!existing) createSchema(this.db);
      else {
        createCommandInbox(this.db);
        this.db.exec('CREATE INDEX IF NOT EXISTS records_by_kind ON records (kind)'); // additive, for restartRecords
      }
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
  }

  /** The live process writing `path`, or null when nobody does (or the holder died on this host). */
  static writerOf(path: string): JournalWriter | null {
    return liveWriter(path);
  }

  /**
   * Hands an operator's command to the process writing `path` and waits for its answer. Throws a
   * `JournalError`: `no_answer` when nobody writes the journal (open it yourself instead) or the
   * writer did not answer within `timeoutMs`.
   *
   * @example
   * const outcome = await SqliteJournal.submitCommand(path, { kind: 'kill_switch', state: 'active', reason: 'news', operator: 'ops' });
   */
  static async submitCommand(path: string, command: OperatorCommand, options: { timeoutMs?: number } = {}): Promise<CommandOutcome> {
    const parsed = CommandSchema.safeParse(command);
    if (!parsed.success) throw new JournalError('unreadable', `not a valid command: ${parsed.error.message.slice(0, 300)}`);
    const writer = liveWriter(path);
    if (!writer) throw new JournalError('no_answer', `nobody is writing ${path}: open the journal directly`);
    const db = new Database(path, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 2000');
      createCommandInbox(db);
      const id = db.prepare('INSERT INTO commands (at, payload) VALUES (?, ?)').run(new Date().toISOString(), JSON.stringify(parsed.data)).lastInsertRowid;
      const read = db.prepare('SELECT applied_at, outcome FROM commands WHERE id = ?');
      const deadline = Date.now() + (options.timeoutMs ?? 3_000);
      for (;;) {
        const row = read.get(id) as { applied_at: string | null; outcome: string | null } | undefined;
        if (row?.applied_at) return JSON.parse(row.outcome ?? '{"ok":false,"message":"no outcome"}') as CommandOutcome;
        if (Date.now() >= deadline) {
          // Withdrawn, so a writer that wakes later does not act on a command nobody waits for.
          const withdrawn = db.prepare("UPDATE commands SET applied_at = ?, outcome = ? WHERE id = ? AND applied_at IS NULL").run(new Date().toISOString(), JSON.stringify({ ok: false, message: 'withdrawn: no answer in time' }), id);
          if (withdrawn.changes === 0) continue; // answered just now
          throw new JournalError('no_answer', `the process writing ${path} (pid ${writer.pid} on ${writer.host}) did not apply the command within ${options.timeoutMs ?? 3_000} ms; nothing was changed`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      db.close();
    }
  }

  /** Hands each operator's command written by another process to `handler`, once, and stores its answer. */
  watchCommands(handler: (command: OperatorCommand) => CommandOutcome): () => void {
    if (!this.insert) return () => undefined; // a reader applies nothing
    const pending = this.db.prepare('SELECT id, payload FROM commands WHERE applied_at IS NULL ORDER BY id');
    const done = this.db.prepare('UPDATE commands SET applied_at = ?, outcome = ? WHERE id = ? AND applied_at IS NULL');
    const poll = () => {
      if (this.closed) return;
      try {
        for (const row of pending.all() as { id: number; payload: string }[]) {
          let outcome: CommandOutcome;
          try {
            const parsed = CommandSchema.safeParse(JSON.parse(row.payload));
            outcome = parsed.success ? handler(parsed.data) : { ok: false, message: `refused: ${parsed.error.message.slice(0, 200)}` };
          } catch (e) {
            outcome = { ok: false, message: `refused: ${(e as Error).message?.slice(0, 200) ?? 'unreadable'}` };
          }
          // What the command changed is on disk before the operator is told it was applied.
          this.settleNow();
          done.run(new Date().toISOString(), JSON.stringify(outcome), row.id);
        }
      } catch {
        // A busy or failing database: the next poll tries again; the operator's wait is bounded.
      }
    };
    const timer = setInterval(poll, COMMAND_POLL_MS);
    timer.unref();
    const stop = () => {
      clearInterval(timer);
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
      if (this.pendingClaims.has(record.advisoryId) || this.findAdvisory.get(record.advisoryId) !== undefined) {
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
    this.pending = [];
    this.pendingClaims.clear();
    try {
      this.db.transaction(() => {
        for (const record of batch) {
          if (record.kind === JournalKind.Claim && record.advisoryId) insertAdvisory.run(record.advisoryId, record.executionId ?? '', record.sequence);
          insert.run({ ...record, payload: JSON.stringify(record.payload) });
        }
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
    const last = this.db.prepare("SELECT * FROM records WHERE kind = 'checkpoint' ORDER BY sequence DESC LIMIT 1").get() as Row | undefined;
    const payload = last ? readCheckpoint(toRecord(last)) : null;
    if (last && payload) {
      const listed = referencedRecords(payload.state).map(([sequence]) => sequence);
      const open = payload.state.unfinished.map((e) => e.executionId);
      const rows = this.db
        .prepare(
          `SELECT * FROM records WHERE sequence IN (SELECT value FROM json_each(@listed))
           UNION
           SELECT * FROM records WHERE sequence > @from AND (kind IN ${RESTART_KINDS}
             OR execution_id IN (SELECT value FROM json_each(@open))
             OR execution_id IN (
               SELECT execution_id FROM records WHERE sequence > @from AND kind = 'claim'
               EXCEPT SELECT execution_id FROM records WHERE sequence > @from AND kind = 'result'))
           ORDER BY sequence`,
        )
        .all({ listed: JSON.stringify(listed), open: JSON.stringify(open), from: last.sequence }) as Row[];
      // The checkpoint opens the set: restoreFromJournal starts from its ledger.
      return [toRecord(last), ...rows.map(toRecord)];
    }
    return (
      this.db
        .prepare(
          `SELECT * FROM records WHERE kind IN ${RESTART_KINDS}
           UNION
           SELECT * FROM records WHERE execution_id IN (
             SELECT execution_id FROM records WHERE kind = 'claim'
             EXCEPT SELECT execution_id FROM records WHERE kind = 'result')
           ORDER BY sequence`,
        )
        .all() as Row[]
    ).map(toRecord);
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

  /**
   * `{ full: true }` (the default): every record, streaming, and every checkpoint against what the
   * records before it say. `{ full: false }`: from the last checkpoint on, as a writer opens.
   */
  async verify(options: { readonly full?: boolean } = {}): Promise<JournalVerification> {
    this.settleNow();
    if (options.full === false) return verifyFromCheckpoint(this.db).check;
    const db = this.db;
    const records = function* () {
      for (const row of rowsAfter(db, 0)) yield toStoredRecord(row);
    };
    return verifyWithCheckpoints(records(), undefined, storedHash);
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

/** Takes `path`'s writer lock (atomically creating the lock file), or throws `locked` naming the holder. */
function takeWriterLock(path: string): string {
  const token = randomUUID();
  const me: JournalWriter = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPathOf(path), 'wx');
      try {
        writeSync(fd, JSON.stringify(me));
      } finally {
        closeSync(fd);
      }
      return token;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new JournalError('unreadable', `cannot lock journal ${path}: ${(e as Error).message}`);
    }
    const holder = liveWriter(path);
    if (holder) {
      throw new JournalError(
        'locked',
        `${path} is being written by pid ${holder.pid} on ${holder.host} since ${holder.since}; one process writes a journal at a time. ` +
          'Operators reach that process with `warden kill-switch set` and `warden resolve`, which hand it the command.',
      );
    }
    try {
      unlinkSync(lockPathOf(path)); // stale: its process is gone
    } catch {
      // someone else removed it first; try again
    }
  }
  throw new JournalError('locked', `${path}: could not take the writer lock`);
}

function releaseWriterLock(path: string, token: string): void {
  try {
    const w = WriterSchema.safeParse(JSON.parse(readFileSync(lockPathOf(path), 'utf8')));
    if (w.success && w.data.token === token) unlinkSync(lockPathOf(path));
  } catch {
    // already gone
  }
}
