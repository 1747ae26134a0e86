/**
 * The SQLite journal's file layout: its schema, its rows and how they read as records. Tables:
 * `meta` (the schema's name; `head`: the last record; after an archive, `archived`: the anchor, the last archived record),
 * `records` (the chain), `advisories` (every advisory ever claimed), `commands` (the operators'
 * inbox) and `retained` (copies of archived records the archive anchor or a checkpoint refers to:
 * what a restart still reads, such as kill switch changes and the limits as started and tightened).
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { readCheckpoint, type CheckpointState } from './checkpoint.js';
import { storedRecordHash } from './hashChain.js';
import { createCommandInbox } from './sqliteCommands.js';
import { JournalError, type JournalRecord } from './types.js';

export const SCHEMA = 'warden-journal/1';
export const SQLITE_MAGIC = 'SQLite format 3\0';

/** The first 16 bytes of a file (where SQLite writes its magic), without reading the rest of it. */
export function readHead(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(16);
    return buffer.subarray(0, readSync(fd, buffer, 0, 16, 0)).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses, with a JournalError naming it, a file at `path` that cannot be read (a folder, no
 * permission) or that is not an SQLite database. An empty file passes: it is a journal not yet
 * written. Nothing is opened as SQLite, so nothing can be written to a file that is not a journal.
 */
export function checkJournalHead(path: string): void {
  // SQLite would take an empty file for a new database; ours are never empty (createJournalFile).
  if (statSync(path).size === 0) {
    throw new JournalError('truncated', `journal ${path} is empty (0 bytes): it may be a journal truncated to nothing; refusing to use it (a new journal is created only where no file exists)`);
  }
  let head: string;
  try {
    head = readHead(path);
  } catch (e) {
    throw new JournalError('unreadable', `cannot read journal ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (head.length > 0 && head !== SQLITE_MAGIC) throw new JournalError('not_a_journal', `${path} is not a Warden journal (not an SQLite database); refusing to touch it`);
}

/**
 * An existing journal file opened read-only, its schema checked: a missing or empty file, one that
 * cannot be read, is not SQLite or has another schema is refused with a JournalError naming it,
 * never a raw SQLite error. What `SqliteJournal` checks before it opens a file.
 *
 * @example
 * const db = openJournalReadOnly('data/warden.journal.sqlite');
 * try { console.log(readAnchor(db)); } finally { db.close(); }
 */
export function openJournalReadOnly(path: string): Database.Database {
  if (!existsSync(path)) throw new JournalError('unreadable', `no journal at ${path}`);
  checkJournalHead(path);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new JournalError('unreadable', `cannot open journal ${path}: ${(e as Error).message}`);
  }
  try {
    checkSchema(db, path);
    return db;
  } catch (e) {
    db.close();
    if (e instanceof JournalError) throw e;
    throw new JournalError('not_a_journal', `${path} is not a readable Warden journal: ${(e as Error).message}`);
  }
}

export interface Row {
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

export const toRecord = (r: Row): JournalRecord => ({
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
export const toStoredRecord = (r: Row): StoredRecord => {
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
/** The hash of a record read by {@link toStoredRecord}, from its stored payload text. */
export const storedHash = (r: JournalRecord): string => storedRecordHash(r as StoredRecord);

/** Rows after `sequence`, in order, read a page at a time: constant memory, and far fewer native calls than a row-by-row cursor. */
export function* rowsAfter(db: Database.Database, sequence: number): Generator<Row> {
  const page = db.prepare('SELECT * FROM records WHERE sequence > ? ORDER BY sequence LIMIT 4096');
  for (let after = sequence; ; ) {
    const rows = page.all(after) as Row[];
    yield* rows;
    if (rows.length < 4096) return;
    after = rows[rows.length - 1]!.sequence;
  }
}

const RECORD_COLUMNS = `sequence INTEGER PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL,
      execution_id TEXT, advisory_id TEXT, snapshot_hash TEXT,
      from_state TEXT, to_state TEXT, event TEXT, payload TEXT NOT NULL,
      previous_hash TEXT NOT NULL, hash TEXT NOT NULL`;

export function createSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE records (${RECORD_COLUMNS});
    CREATE INDEX records_by_advisory ON records (advisory_id);
    CREATE INDEX records_by_execution ON records (execution_id);
    CREATE INDEX records_by_kind ON records (kind);
    CREATE TABLE advisories (advisory_id TEXT PRIMARY KEY, execution_id TEXT NOT NULL, sequence INTEGER NOT NULL);
  `);
  createAdditions(db);
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', SCHEMA);
}

/** What later versions added to the schema; a writer adds it to an older file when it opens it. */
export function createAdditions(db: Database.Database): void {
  createCommandInbox(db);
  db.exec('CREATE INDEX IF NOT EXISTS records_by_kind ON records (kind)'); // for restartRecords
  db.exec(`CREATE TABLE IF NOT EXISTS retained (${RECORD_COLUMNS})`);
}

export function checkSchema(db: Database.Database, path: string): void {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
  const schema = tables.includes('meta') ? (db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined)?.value : undefined;
  if (schema !== SCHEMA) throw new JournalError('unsupported_schema', `${path} has schema ${schema ?? 'unknown'}, expected ${SCHEMA}; refusing to touch it`);
}

const hasTable = (db: Database.Database, name: string): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

/**
 * Where the live chain starts after an archive: the last record moved out (its sequence and hash,
 * which the first record kept names as its `previousHash`), and the file it went to. Null for a
 * journal that was never archived (its chain starts at record 1).
 *
 * @example
 * const anchor = readAnchor(db); // { sequence: 45000, hash: '…', archive: 'archive-2026-01.jsonl.gz', state: { … } }
 */
export interface ArchiveAnchor {
  readonly sequence: number;
  readonly hash: string;
  readonly archive: string;
  /** What a checkpoint after the last archived record would hold: where verifying the journal alone starts from. */
  readonly state: CheckpointState;
}

export function readAnchor(db: Database.Database): ArchiveAnchor | null {
  const text = (db.prepare("SELECT value FROM meta WHERE key = 'archived'").get() as { value: string } | undefined)?.value;
  if (text === undefined) return null;
  try {
    const a = JSON.parse(text) as ArchiveAnchor;
    const fits = readCheckpoint({ kind: 'checkpoint', payload: { covers: [a.sequence, a.hash], state: a.state } } as JournalRecord) !== null;
    if (Number.isSafeInteger(a.sequence) && a.sequence > 0 && typeof a.hash === 'string' && typeof a.archive === 'string' && fits) return a;
  } catch {
    // refused below
  }
  throw new JournalError('unreadable', `the journal's archive anchor is unreadable (${text.slice(0, 100)}); it was edited`);
}

/** The record at `sequence`: in the chain, else a retained copy of an archived one. */
export function rowAt(db: Database.Database, sequence: number): Row | undefined {
  const row = db.prepare('SELECT * FROM records WHERE sequence = ?').get(sequence) as Row | undefined;
  if (row !== undefined || !hasTable(db, 'retained')) return row;
  return db.prepare('SELECT * FROM retained WHERE sequence = ?').get(sequence) as Row | undefined;
}

/** The rows with these sequences, from the chain and the retained copies. */
export function rowsAt(db: Database.Database, sequences: readonly number[]): Row[] {
  const listed = JSON.stringify(sequences);
  const live = db.prepare('SELECT * FROM records WHERE sequence IN (SELECT value FROM json_each(?))').all(listed) as Row[];
  if (!hasTable(db, 'retained')) return live;
  return [...live, ...(db.prepare('SELECT * FROM retained WHERE sequence IN (SELECT value FROM json_each(?))').all(listed) as Row[])];
}
