/**
 * Retention: moving settled history out of a SQLite journal into a gzip JSON Lines archive, with
 * a verifiable link. The archive takes a prefix of the chain, records 1 (or the last archive's
 * end) to K: the journal then starts at record K+1, whose `previousHash` is the archive's last
 * hash. The journal's `meta` keeps the anchor: K, that hash, the archive's name and what a
 * checkpoint after K would hold (the ledger of settled fills, and references to the records a
 * restart still reads: kill switch changes, the limits as last started and tightened). Every
 * archived record that the anchor or a checkpoint left in the journal refers to stays as a copy
 * in the `retained` table, vouched for by its hash. A prefix is
 * archived only if every record in it is older than the cut-off date, it ends before the
 * journal's last checkpoint, and every execution with a record in it settled in it: no execution
 * in flight and no open flag is ever archived.
 *
 * Nothing is lost on a crash: the archive is written beside its name, fsynced, renamed, read
 * back and verified against the journal; only then are the records deleted, in one transaction
 * that also sets the anchor. A rerun after a crash finds the archive it wrote and completes.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { ChainAudit, readArchive } from './archiveAudit.js';
import { readCheckpoint, referencedRecords, RestartTracker, type CheckpointState } from './checkpoint.js';
import { GENESIS_HASH } from './hashChain.js';
import { SqliteJournal } from './sqliteJournal.js';
import { verifyChainOf } from './sqliteChain.js';
import { readAnchor, rowsAfter, toRecord, toStoredRecord, type ArchiveAnchor, type Row } from './sqliteRows.js';
import { JournalError, JournalKind } from './types.js';

/**
 * What `archiveJournal` did.
 *
 * @example
 * const done = await archiveJournal('data/warden.journal.sqlite', { before: new Date('2026-01-01T00:00:00Z'), to: 'archive-2025.jsonl.gz' });
 * console.log(done.archived === 0 ? done.message : `records ${done.from}–${done.through} moved to ${done.file}`);
 */
export interface ArchiveOutcome {
  /** Records moved out (0: nothing was settled before the date, and nothing changed). */
  readonly archived: number;
  readonly from: number;
  readonly through: number;
  readonly file: string;
  /** This run completed an archive an earlier, interrupted run had written. */
  readonly resumed: boolean;
  readonly message: string;
}

/**
 * What to archive, and where.
 *
 * @example
 * const options: ArchiveOptions = { before: new Date('2026-01-01T00:00:00Z'), to: 'data/archive-2025.jsonl.gz' };
 */
export interface ArchiveOptions {
  /** Executions settled before this instant are archived. */
  readonly before: Date;
  /** The archive to write (`….jsonl.gz`); never overwritten. */
  readonly to: string;
  /** For tests: runs once the archive is on disk and verified, before the journal changes (a crash there). */
  readonly afterArchiveWritten?: () => void;
}

const fsyncPath = (path: string) => {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

/**
 * The last record K that can be archived, and what a checkpoint after it would hold: K is before
 * the journal's last checkpoint (so a restart still starts from one), every record up to K is
 * older than `before`, no execution is in flight and no flag open at K, and no execution with a
 * record up to K has one after it. Null if there is none.
 */
function pickCut(db: Database.Database, before: Date, anchor: ArchiveAnchor | null): { cut: number; state: CheckpointState } | null {
  const lastCheckpoint = db.prepare("SELECT MAX(sequence) FROM records WHERE kind = 'checkpoint'").pluck().get() as number | null;
  if (lastCheckpoint === null) return null;
  // Where each execution's last record stands: an execution reaching past K keeps K from being a cut.
  const lastOf = new Map(db.prepare('SELECT execution_id, MAX(sequence) FROM records WHERE execution_id IS NOT NULL GROUP BY execution_id').raw().all() as [string, number][]);
  const tracker = anchor ? RestartTracker.from(anchor.state) : new RestartTracker();
  const limit = before.toISOString();
  let reach = 0;
  let best: { cut: number; state: CheckpointState } | null = null;
  for (const row of rowsAfter(db, anchor?.sequence ?? 0)) {
    if (row.sequence >= lastCheckpoint || row.at >= limit) break;
    const r = toStoredRecord(row);
    if (r.kind !== JournalKind.Checkpoint) tracker.add(r);
    if (r.executionId !== null) reach = Math.max(reach, lastOf.get(r.executionId) ?? r.sequence);
    if (reach <= r.sequence && tracker.quiet()) best = { cut: r.sequence, state: tracker.state() };
  }
  return best;
}

/** What a checkpoint after record `through` would hold, or null if an execution is in flight or a flag open there. */
function stateAt(db: Database.Database, anchor: ArchiveAnchor | null, through: number): CheckpointState | null {
  const tracker = anchor ? RestartTracker.from(anchor.state) : new RestartTracker();
  for (const row of rowsAfter(db, anchor?.sequence ?? 0)) {
    if (row.sequence > through) break;
    const r = toStoredRecord(row);
    if (r.kind !== JournalKind.Checkpoint) tracker.add(r);
  }
  const lastCheckpoint = db.prepare("SELECT MAX(sequence) FROM records WHERE kind = 'checkpoint'").pluck().get() as number | null;
  const straddles = db.prepare('SELECT 1 FROM records WHERE sequence > @through AND execution_id IN (SELECT execution_id FROM records WHERE sequence <= @through)').get({ through }) !== undefined;
  return tracker.quiet() && !straddles && lastCheckpoint !== null && through < lastCheckpoint ? tracker.state() : null;
}

/**
 * The archived records (up to `through`) that something left in the journal refers to: the
 * anchor's state (what a writer opening from it, and a restart, read) and every checkpoint after
 * `through` (a writer opens from its second-to-last one, a restart reads its last one).
 */
function stillReferenced(db: Database.Database, state: CheckpointState, through: number): number[] {
  const refs = new Set(referencedRecords(state).map(([sequence]) => sequence));
  for (const row of db.prepare("SELECT * FROM records WHERE kind = 'checkpoint' AND sequence > ?").iterate(through) as Iterable<Row>) {
    for (const [sequence] of referencedRecords(readCheckpoint(toRecord(row))?.state ?? EMPTY_STATE)) refs.add(sequence);
  }
  return [...refs].filter((sequence) => sequence <= through);
}

const EMPTY_STATE: CheckpointState = { unfinished: [], flagged: [], switches: [], ledger: [] };

/** Writes records `from`..`through` to `file` (through a `.partial` file, fsynced, renamed). */
async function writeArchive(db: Database.Database, file: string, from: number, through: number): Promise<void> {
  const partial = `${file}.partial`;
  rmSync(partial, { force: true });
  // A folder where no file can be made (read-only, or not a real folder) is the caller's mistake: said so, before anything is written.
  try {
    closeSync(openSync(partial, 'w'));
  } catch (e) {
    throw new JournalError('unreadable', `cannot create the archive ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; nothing archived`);
  }
  const lines = function* () {
    for (const row of rowsAfter(db, from - 1)) {
      if (row.sequence > through) return;
      yield `${JSON.stringify(toRecord(row))}\n`;
    }
  };
  await pipeline(Readable.from(lines()), createGzip(), createWriteStream(partial));
  fsyncPath(partial);
  renameSync(partial, file);
  fsyncPath(dirname(file));
}

/**
 * Checks an archive file as this journal's records `from`..: a chain that starts where the journal
 * starts (`previousHash` the anchor's, or genesis), and ends at a record the journal holds with
 * the same hash (so, hash-linked, every record in it is the journal's). Returns its last sequence.
 */
async function checkArchive(db: Database.Database, file: string, anchor: ArchiveAnchor | null): Promise<number> {
  const from = (anchor?.sequence ?? 0) + 1;
  const previousHash = anchor?.hash ?? GENESIS_HASH;
  const audit = new ChainAudit(anchor ? { sequence: from, previousHash, state: anchor.state } : undefined);
  let last: { sequence: number; hash: string } | null = null;
  for await (const r of readArchive(file)) {
    if (last === null && (r.sequence !== from || r.previousHash !== previousHash)) throw new JournalError('unreadable', `${file} is not an archive of this journal from record ${from}; refusing to touch either`);
    if (!audit.push(r)) throw new JournalError('chain_broken', `${file} fails verification at record ${audit.result().brokenAt}; the journal was left as it was`, audit.result().brokenAt);
    last = { sequence: r.sequence, hash: r.hash };
  }
  if (last === null) throw new JournalError('unreadable', `${file} holds no record; the journal was left as it was`);
  const row = db.prepare('SELECT hash FROM records WHERE sequence = ?').get(last.sequence) as { hash: string } | undefined;
  if (row?.hash !== last.hash) throw new JournalError('unreadable', `${file} ends at record ${last.sequence}, which this journal does not hold as written; refusing to touch either`);
  return last.sequence;
}

/**
 * Moves the settled history before `options.before` out of the journal at `path` into
 * `options.to`. Takes the journal's writer lock (refused while an engine writes it) and refuses
 * a journal whose chain does not verify. See the file's comment for what is archived.
 *
 * @example
 * await archiveJournal('data/warden.journal.sqlite', { before: new Date('2026-01-01T00:00:00Z'), to: 'data/archive-2025.jsonl.gz' });
 */
export async function archiveJournal(path: string, options: ArchiveOptions): Promise<ArchiveOutcome> {
  const { before, to } = options;
  if (!(before instanceof Date) || Number.isNaN(before.getTime())) throw new JournalError('unreadable', 'the cut-off date is not a valid date');
  if (!to.endsWith('.jsonl.gz')) throw new JournalError('unreadable', `the archive must be a .jsonl.gz file (got ${to})`);
  if (!existsSync(dirname(to)) || !statSync(dirname(to)).isDirectory()) throw new JournalError('unreadable', `no folder ${dirname(to)} for the archive ${to}`);
  if (!existsSync(path)) throw new JournalError('unreadable', `no journal at ${path}`);
  const writer = new SqliteJournal(path); // the writer lock, and the chain checked from its checkpoints
  const db = new Database(path);
  try {
    db.pragma('busy_timeout = 2000');
    const full = verifyChainOf(db, { full: true }).check;
    if (!full.ok) throw new JournalError('chain_broken', `journal ${path} fails verification at record ${full.brokenAt}; nothing archived`, full.brokenAt);
    const anchor = readAnchor(db);
    const from = (anchor?.sequence ?? 0) + 1;
    let through: number;
    let resumed = false;
    if (existsSync(to)) {
      if (anchor !== null && anchor.archive === basename(to)) {
        return { archived: 0, from, through: anchor.sequence, file: to, resumed: false, message: `${to} is already this journal's archive, through record ${anchor.sequence}; nothing to do` };
      }
      // An earlier run wrote it and stopped before the journal changed: complete that run.
      through = await checkArchive(db, to, anchor);
      resumed = true;
    } else {
      const picked = pickCut(db, before, anchor);
      if (picked === null) {
        return { archived: 0, from, through: from - 1, file: to, resumed: false, message: `nothing settled before ${before.toISOString()} can be archived (an archive ends before the journal's last checkpoint, at a record where every execution in it has settled and no flag is open); nothing changed` };
      }
      await writeArchive(db, to, from, picked.cut);
      through = await checkArchive(db, to, anchor);
    }
    options.afterArchiveWritten?.();
    const state = stateAt(db, anchor, through);
    if (state === null) throw new JournalError('unreadable', `${to} ends at record ${through}, where executions are still in flight or flagged: not where an archive may end; the journal was left as it was`);
    const last = db.prepare('SELECT hash FROM records WHERE sequence = ?').pluck().get(through) as string;
    const anchorNow: ArchiveAnchor = { sequence: through, hash: last, archive: basename(to), state };
    db.transaction(() => {
      // What a restart or a verification still reads from the archived part stays, as copies their hashes vouch for.
      db.prepare('INSERT OR IGNORE INTO retained SELECT * FROM records WHERE sequence IN (SELECT value FROM json_each(?))').run(JSON.stringify(stillReferenced(db, state, through)));
      db.prepare('DELETE FROM records WHERE sequence <= ?').run(through);
      db.prepare("INSERT INTO meta (key, value) VALUES ('archived', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(JSON.stringify(anchorNow));
      // The journal left must open for a writer and verify on its own; if not, nothing changes.
      for (const full of [false, true]) {
        const check = verifyChainOf(db, { full }).check;
        if (!check.ok) throw new JournalError('chain_broken', `archiving records ${from}–${through} would leave the journal failing verification at record ${check.brokenAt}; the journal was left as it was (${to} holds a verified copy of them)`, check.brokenAt);
      }
    })();
    const archived = through - from + 1;
    return { archived, from, through, file: to, resumed, message: `${resumed ? 'completed an interrupted archive: ' : ''}records ${from}–${through} (${archived}) moved to ${to}; the journal continues from record ${through + 1}, chained to the archive's last hash` };
  } finally {
    db.close();
    await writer.close();
  }
}
