/**
 * Reading archives of a SQLite journal (gzip JSON Lines, one record a line, as `archiveJournal`
 * writes them) and verifying one chain across archives and the live journal: from record 1 and
 * the genesis hash, through every archive in turn (each must begin where the one before ended),
 * into the journal, whose first record names the last archived record's hash. Every record's hash,
 * every link and every checkpoint's content are checked, in constant memory.
 */
import type Database from 'better-sqlite3';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { checkpointFits, readCheckpoint, RestartTracker, type CheckpointState } from './checkpoint.js';
import { GENESIS_HASH, recordHashIntact } from './hashChain.js';
import { parseJsonlLine } from './jsonl.js';
import { openJournalReadOnly, readAnchor, rowsAfter, storedHash, toStoredRecord } from './sqliteRows.js';
import { JournalError, JournalKind, type JournalRecord, type JournalVerification } from './types.js';

/**
 * The records of an archive file, in order, read as a stream. Throws a `JournalError`
 * (`unreadable`) naming the file for a file that is missing, not gzip, or not journal records.
 *
 * @example
 * for await (const r of readArchive('archive-2026-q1.jsonl.gz')) console.log(r.sequence, r.kind);
 */
export async function* readArchive(file: string): AsyncGenerator<JournalRecord> {
  const source = createReadStream(file);
  const input = createGunzip();
  // pipe() does not pass on the file's errors (missing, a folder, not readable): the reader must see them.
  source.on('error', (e) => input.destroy(e));
  source.pipe(input);
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      yield parseJsonlLine(line, n);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not an archive file' : code === 'EACCES' ? 'not readable (permission denied)' : code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' ? 'not a gzip archive (or cut short)' : (e as Error).message;
    throw new JournalError('unreadable', `archive ${file}: ${why}`);
  } finally {
    lines.close();
    input.destroy();
    source.destroy();
  }
}

/**
 * Checks records pushed one at a time as one chain: continuous sequence, each record's hash, each
 * link, and each checkpoint against what the records before it say.
 *
 * @example
 * const audit = new ChainAudit();
 * for (const r of records) if (!audit.push(r)) break;
 * audit.result(); // { ok: true } or { ok: false, brokenAt }
 */
export class ChainAudit {
  private tracker = new RestartTracker();
  private previous: JournalRecord | undefined;
  private expected: number;
  private previousHash: string;
  private brokenAt: number | null = null;
  private readonly segment: boolean;
  count = 0;

  /**
   * `from`: a chain that starts after record `sequence - 1` (whose hash is `previousHash`), as a
   * journal does after an archive. With `state` (what a checkpoint there would hold: the archive
   * anchor's), checking goes on from it; without, the first record must be a checkpoint, checked
   * where it stands (it follows that hash), and what it says is taken as the state before it.
   */
  constructor(from?: { readonly sequence: number; readonly previousHash: string; readonly state?: CheckpointState }) {
    this.expected = from?.sequence ?? 1;
    this.previousHash = from?.previousHash ?? GENESIS_HASH;
    this.segment = from !== undefined && from.sequence > 1 && from.state === undefined;
    if (from?.state) this.tracker = RestartTracker.from(from.state);
    if (from && from.sequence > 1) this.previous = { sequence: from.sequence - 1, hash: from.previousHash } as JournalRecord;
  }

  /** What a checkpoint after the records pushed so far would hold. */
  state(): CheckpointState {
    return this.tracker.state();
  }

  /** Follows the records from here on (what a writer appends to). */
  get restartTracker(): RestartTracker {
    return this.tracker;
  }

  /** Checks the next record; false once the chain is broken (at this record or before). `hash`: the record's own hash, if already computed. */
  push(r: JournalRecord, hash?: string): boolean {
    if (this.brokenAt !== null) return false;
    const intact = hash !== undefined ? hash === r.hash : recordHashIntact(r);
    let ok = r.sequence === this.expected && r.previousHash === this.previousHash && intact;
    if (ok && this.segment && this.count === 0) {
      // Where the segment starts: what came before is not here to compare its content with.
      const state = readCheckpoint(r)?.state;
      ok = state !== undefined && checkpointFits(r, this.previous);
      if (ok) this.tracker = RestartTracker.from(state!);
    } else if (ok && r.kind === JournalKind.Checkpoint) ok = checkpointFits(r, this.previous, this.tracker.state());
    else if (ok) this.tracker.add(r);
    if (!ok) {
      this.brokenAt = r.sequence; // the first record that does not follow (as verifyChain reports)
      return false;
    }
    this.previous = r;
    this.previousHash = r.hash;
    this.expected++;
    this.count++;
    return true;
  }

  /** The sequence the next record must have. */
  get next(): number {
    return this.expected;
  }

  result(): JournalVerification {
    return this.brokenAt === null ? { ok: true } : { ok: false, brokenAt: this.brokenAt };
  }
}

/**
 * What an audit across archives and a journal found.
 *
 * @example
 * const audit: ArchiveAudit = await verifyAcrossArchives(['archive-2025.jsonl.gz'], 'data/warden.journal.sqlite');
 * if (!audit.ok) console.log(`${audit.brokenIn}: ${audit.message}`);
 */
export interface ArchiveAudit extends JournalVerification {
  /** Records checked, archives and journal together. */
  readonly records: number;
  /** Where the break is: an archive's file name, or `journal`. */
  readonly brokenIn?: string;
  /** A sentence for a person. */
  readonly message: string;
}

/**
 * Verifies the whole chain across `archives` (in the order they were written) and the journal at
 * `journalPath`: what an auditor runs (`warden journal verify --full --archive FILE…`).
 *
 * @example
 * const audit = await verifyAcrossArchives(['archive-2026-q1.jsonl.gz'], 'data/warden.journal.sqlite');
 * if (!audit.ok) console.log(audit.message);
 */
export async function verifyAcrossArchives(archives: readonly string[], journalPath: string): Promise<ArchiveAudit> {
  // The journal is checked before any archive is read: a wrong path is refused at once, as `journal verify` refuses it.
  const db = openJournalReadOnly(journalPath);
  try {
    return await auditChain(archives, db);
  } finally {
    db.close();
  }
}

async function auditChain(archives: readonly string[], db: Database.Database): Promise<ArchiveAudit> {
  const audit = new ChainAudit();
  const broken = (where: string, detail: string): ArchiveAudit => {
    const r = audit.result();
    return { ok: false, brokenAt: r.brokenAt ?? audit.next, records: audit.count, brokenIn: where, message: `BROKEN at record ${r.brokenAt ?? audit.next} in ${where}: ${detail}` };
  };
  let before = 'the start of the chain';
  for (const file of archives) {
    const first = audit.next;
    let n = 0;
    for await (const r of readArchive(file)) {
      if (!audit.push(r)) return broken(file, n === 0 ? `its first record does not continue ${before} (record ${first} expected)` : 'a record was edited, removed or reordered');
      n++;
    }
    before = file;
    if (audit.next === first) return broken(file, 'the archive holds no record');
  }
  const anchor = readAnchor(db);
  const archivedThrough = audit.next - 1;
  if ((anchor?.sequence ?? 0) !== archivedThrough) {
    const detail = anchor === null ? `the journal was never archived, but the archives hold records 1–${archivedThrough}` : `the journal continues from record ${anchor.sequence + 1} (after archive ${anchor.archive}, which ends at record ${anchor.sequence}), the archives given end at record ${archivedThrough}`;
    return { ok: false, brokenAt: archivedThrough + 1, records: audit.count, brokenIn: 'journal', message: `BROKEN: ${detail}` };
  }
  // What the journal took over from the archive (a restart's state there) must be what the archived records say.
  if (anchor !== null && JSON.stringify(anchor.state) !== JSON.stringify(audit.state())) {
    return { ok: false, brokenAt: archivedThrough + 1, records: audit.count, brokenIn: 'journal', message: `BROKEN: the journal's archive anchor does not hold what records 1–${archivedThrough} say; it was edited` };
  }
  for (const row of rowsAfter(db, archivedThrough)) {
    const r = toStoredRecord(row);
    if (!audit.push(r, storedHash(r))) return broken('journal', 'edited, removed or out of order');
  }
  return { ok: true, records: audit.count, message: `${audit.count} records, ${archives.length} archive(s) and the journal: one hash chain, verified from record 1` };
}
