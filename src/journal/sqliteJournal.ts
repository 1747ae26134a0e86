/**
 * The durable journal: SQLite in WAL mode with synchronous=FULL, so `append` returns only once
 * the record is on disk. Records stay hash-chained; the `advisories` table makes "one execution
 * per advisory" hold for the file's whole life, across restarts.
 *
 * Opening verifies the schema and the whole chain. A file that is not a Warden journal, has
 * another schema, or was edited is refused with a JournalError and never written to.
 */
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { systemClock, type Clock } from '../domain/clock.js';
import { chainRecord, GENESIS_HASH, verifyChain } from './hashChain.js';
import { JournalError, JournalKind, type Journal, type JournalEntry, type JournalFilter, type JournalRecord, type JournalVerification } from './types.js';

const SCHEMA = 'warden-journal/1';
const SQLITE_MAGIC = 'SQLite format 3\0';

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
  payload: JSON.parse(r.payload) as unknown,
  previousHash: r.previous_hash,
  hash: r.hash,
});

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
    CREATE TABLE advisories (advisory_id TEXT PRIMARY KEY, execution_id TEXT NOT NULL, sequence INTEGER NOT NULL);
  `);
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA);
}

function checkSchema(db: Database.Database, path: string): void {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
  const schema = tables.includes('meta') ? (db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined)?.value : undefined;
  if (schema !== SCHEMA) throw new JournalError('unsupported_schema', `${path} has schema ${schema ?? 'unknown'}, expected ${SCHEMA}; refusing to touch it`);
}

/**
 * @example
 * const engine = createEngine({ broker, journal: new SqliteJournal('data/warden.journal.sqlite') });
 */
export class SqliteJournal implements Journal {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly insertAdvisory: Database.Statement;
  private last = GENESIS_HASH;
  private nextSequence = 1;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly clock: Clock = systemClock,
  ) {
    if (existsSync(path)) {
      let head: string;
      try {
        head = readFileSync(path).subarray(0, 16).toString('latin1');
      } catch (e) {
        throw new JournalError('unreadable', `cannot read journal ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (head.length > 0 && head !== SQLITE_MAGIC) throw new JournalError('not_a_journal', `${path} is not a Warden journal (not an SQLite database); refusing to touch it`);
    }
    // An existing file is checked over a read-only connection first: nothing is written to a
    // file until it is known to be an intact Warden journal.
    const existing = existsSync(path) && readFileSync(path).length > 0;
    let records: JournalRecord[] = [];
    if (existing) {
      let ro: Database.Database;
      try {
        ro = new Database(path, { readonly: true, fileMustExist: true });
      } catch (e) {
        throw new JournalError('unreadable', `cannot open journal ${path}: ${(e as Error).message}`);
      }
      try {
        checkSchema(ro, path);
        records = (ro.prepare('SELECT * FROM records ORDER BY sequence').all() as Row[]).map(toRecord);
      } catch (e) {
        if (e instanceof JournalError) throw e;
        throw new JournalError('not_a_journal', `${path} is not a readable Warden journal: ${(e as Error).message}`);
      } finally {
        ro.close();
      }
      const check = verifyChain(records);
      if (!check.ok) throw new JournalError('chain_broken', `journal ${path} fails verification at record ${check.brokenAt}: it was edited or damaged; refusing to append to it`, check.brokenAt);
    }
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      if (!existing) createSchema(this.db);
    } catch (e) {
      throw new JournalError('unreadable', `cannot open journal ${path}: ${(e as Error).message}`);
    }
    const tail = records.at(-1);
    if (tail) {
      this.last = tail.hash;
      this.nextSequence = tail.sequence + 1;
    }
    this.insert = this.db.prepare(
      `INSERT INTO records (sequence, at, kind, execution_id, advisory_id, snapshot_hash, from_state, to_state, event, payload, previous_hash, hash)
       VALUES (@sequence, @at, @kind, @executionId, @advisoryId, @snapshotHash, @from, @to, @event, @payload, @previousHash, @hash)`,
    );
    this.insertAdvisory = this.db.prepare('INSERT INTO advisories (advisory_id, execution_id, sequence) VALUES (?, ?, ?)');
  }

  append(entry: JournalEntry): JournalRecord {
    if (this.closed) throw new JournalError('unreadable', `journal ${this.path} is closed`);
    const record = chainRecord(entry, this.nextSequence, new Date(this.clock.now()).toISOString(), this.last);
    const write = this.db.transaction(() => {
      if (record.kind === JournalKind.Claim && record.advisoryId) {
        try {
          this.insertAdvisory.run(record.advisoryId, record.executionId ?? '', record.sequence);
        } catch {
          throw new JournalError('duplicate_advisory', `advisory ${record.advisoryId} was already executed according to ${this.path}`);
        }
      }
      this.insert.run({ ...record, payload: JSON.stringify(record.payload) });
    });
    write();
    this.last = record.hash;
    this.nextSequence++;
    return record;
  }

  readAll(): readonly JournalRecord[] {
    return (this.db.prepare('SELECT * FROM records ORDER BY sequence').all() as Row[]).map(toRecord);
  }

  async records(filter: JournalFilter = {}): Promise<JournalRecord[]> {
    const rows =
      filter.executionId !== undefined
        ? this.db.prepare('SELECT * FROM records WHERE execution_id = ? ORDER BY sequence').all(filter.executionId)
        : filter.advisoryId !== undefined
          ? this.db.prepare('SELECT * FROM records WHERE advisory_id = ? ORDER BY sequence').all(filter.advisoryId)
          : this.db.prepare('SELECT * FROM records ORDER BY sequence').all();
    return (rows as Row[]).map(toRecord).filter((r) => filter.advisoryId === undefined || r.advisoryId === filter.advisoryId);
  }

  async verify(): Promise<JournalVerification> {
    return verifyChain(this.readAll());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
