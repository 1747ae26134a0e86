/**
 * What the hash chain alone cannot vouch for in a SQLite journal: where it ends, and the
 * `advisories` index a restart consults instead of reading every claim.
 *
 * - The head: the `meta` row `head` names the last record (its sequence and hash), written in the
 *   same transaction as every batch of records. Records that end before it were removed. Someone
 *   who removes the newest records and rewrites the head too is not seen from the file alone;
 *   `warden journal verify` prints the head so an operator can keep it elsewhere.
 * - The index: every claim in the chain must have its row, at its own sequence (so the chain
 *   never claims one advisory twice), and the index must hold as many advisories as the chain has
 *   claimed (checkpoints count them), checked at every writer's open: an archived claim's row is
 *   the only trace of it left in the file. An advisory the index does not know is also looked for
 *   among the claim records (`SqliteJournal.hasClaimed`).
 * - A new journal file: made whole under another name and linked into place, so a journal file
 *   that exists was never an empty file of ours.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { GENESIS_HASH } from './hashChain.js';
import { createSchema } from './sqliteRows.js';
import type { JournalVerification } from './types.js';

/**
 * The last record of the chain: sequence 0 and the genesis hash for a journal with none.
 *
 * @example
 * const head: ChainHead | null = journal.head();
 * if (head !== null) console.log(`head: record ${head.sequence}, hash ${head.hash}`);
 */
export interface ChainHead {
  readonly sequence: number;
  readonly hash: string;
}

export const EMPTY_HEAD: ChainHead = { sequence: 0, hash: GENESIS_HASH };

/**
 * Whether the chain holds a claim of an advisory: looked up by advisory (`records_by_advisory`;
 * `+kind` keeps SQLite from walking every claim record through `records_by_kind` instead).
 */
export const CLAIM_RECORD_QUERY = "SELECT 1 FROM records WHERE advisory_id = ? AND +kind = 'claim' LIMIT 1";

/** Writes the head (in the caller's transaction). */
export function writeHead(db: Database.Database, head: ChainHead): void {
  db.prepare("INSERT INTO meta (key, value) VALUES ('head', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(JSON.stringify(head));
}

/** The statement a writer runs once per batch: the head, updated with the records. */
export const headStatement = (db: Database.Database): Database.Statement => db.prepare("UPDATE meta SET value = ? WHERE key = 'head'");

/** The head the file records; null when it has none (a journal made before heads were kept); 'unreadable' when edited. */
export function readChainHead(db: Database.Database): ChainHead | null | 'unreadable' {
  const text = (db.prepare("SELECT value FROM meta WHERE key = 'head'").get() as { value: string } | undefined)?.value;
  if (text === undefined) return null;
  try {
    const h = JSON.parse(text) as ChainHead;
    if (Number.isSafeInteger(h.sequence) && h.sequence >= 0 && typeof h.hash === 'string') return { sequence: h.sequence, hash: h.hash };
  } catch {
    // reported below
  }
  return 'unreadable';
}

const broken = (brokenAt: number, reason: string): JournalVerification => ({ ok: false, brokenAt, reason });

/**
 * Whether the records end where the head says. `end` is the last record present (or the archive
 * anchor, or the empty head); `headRequired`: the journal was written by a writer that keeps the
 * head (its last checkpoint counts claims), so a missing head was removed.
 */
export function checkHead(db: Database.Database, end: ChainHead, headRequired: boolean): JournalVerification | null {
  const head = readChainHead(db);
  if (head === 'unreadable') return broken(end.sequence, "the journal's head (the meta row naming its last record) is unreadable: it was edited");
  if (head === null) return headRequired ? broken(end.sequence, "the journal's head (the meta row naming its last record) is missing: it was removed, perhaps with the newest records") : null;
  if (end.sequence < head.sequence) return broken(end.sequence + 1, `the records end at record ${end.sequence} but the journal's head is record ${head.sequence}: the newest records were removed`);
  if (end.sequence > head.sequence) return broken(head.sequence + 1, `the records run past the journal's head (record ${head.sequence}) to record ${end.sequence}: written without updating the head, or edited`);
  if (end.hash !== head.hash) return broken(end.sequence, `the last record is not the one the journal's head names (record ${head.sequence}): it was replaced`);
  return null;
}

/**
 * Whether the `advisories` index agrees with the chain: every claim after record `after` has its
 * row at its own sequence, and, when `claimed` is known (the count the chain's checkpoints carry
 * on to `end`), the index holds exactly that many advisories.
 */
export function checkClaimIndex(db: Database.Database, after: number, claimed: number | undefined, end: number): JournalVerification | null {
  const unindexed = db
    .prepare(
      `SELECT sequence, advisory_id AS advisoryId FROM records r WHERE kind = 'claim' AND sequence > ? AND advisory_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM advisories a WHERE a.advisory_id = r.advisory_id AND a.sequence = r.sequence)
       ORDER BY sequence LIMIT 1`,
    )
    .get(after) as { sequence: number; advisoryId: string } | undefined;
  if (unindexed !== undefined) {
    const indexed = db.prepare('SELECT sequence FROM advisories WHERE advisory_id = ?').pluck().get(unindexed.advisoryId) as number | undefined;
    return broken(
      unindexed.sequence,
      indexed === undefined
        ? `advisory ${unindexed.advisoryId}, claimed at record ${unindexed.sequence}, is missing from the advisories index: it was removed, and a restart would execute the advisory again`
        : `advisory ${unindexed.advisoryId} is claimed twice in the chain (records ${Math.min(indexed, unindexed.sequence)} and ${Math.max(indexed, unindexed.sequence)})`,
    );
  }
  if (claimed === undefined) return null;
  const count = db.prepare('SELECT COUNT(*) FROM advisories').pluck().get() as number;
  if (count === claimed) return null;
  return broken(end, `the chain has claimed ${claimed} advisories up to record ${end}, but the advisories index holds ${count}: ${count < claimed ? 'rows were removed, and a restart would execute those advisories again' : 'rows were added'}`);
}

/** What `link` answers where the file system has no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Makes a new journal at `path`: built whole under `<path>.creating` (schema and head, on disk),
 * then linked into place, which fails if a file appeared there meanwhile. A crash leaves no file
 * at `path`, or a whole journal; never an empty one. The caller holds the writer lock.
 */
export function createJournalFile(path: string): void {
  const building = `${path}.creating`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(building + suffix, { force: true });
  const db = new Database(building);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.transaction(() => {
      createSchema(db);
      writeHead(db, EMPTY_HEAD);
    })();
  } finally {
    db.close(); // checkpoints the WAL into the file
  }
  const fd = openSync(building, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(building, path);
  } catch (e) {
    // A file system without hard links (vfat, some network mounts): moved into place instead. The
    // writer lock is held and no file was there, so nothing can be replaced.
    if (!NO_HARD_LINKS.has((e as NodeJS.ErrnoException).code ?? '') || existsSync(path)) throw e;
    renameSync(building, path);
  } finally {
    rmSync(building, { force: true });
  }
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
