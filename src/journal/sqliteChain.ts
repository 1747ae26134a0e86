/**
 * Verifying a SQLite journal's chain and reading what a restart needs, from its checkpoints
 * (src/journal/checkpoint.ts) and, after an archive (src/journal/archive.ts), from its anchor.
 */
import type Database from 'better-sqlite3';
import { checkpointFits, readCheckpoint, referencedRecords, RESTART_KINDS, RestartTracker, verifyWithCheckpoints, type CheckpointPayload } from './checkpoint.js';
import { recordHashIntact } from './hashChain.js';
import { ChainAudit } from './archiveAudit.js';
import { checkClaimIndex, checkHead, EMPTY_HEAD } from './sqliteIntegrity.js';
import { readAnchor, rowAt, rowsAfter, rowsAt, storedHash, toRecord, toStoredRecord, type ArchiveAnchor, type Row } from './sqliteRows.js';
import type { JournalRecord, JournalVerification } from './types.js';

/** What opening a writer (or a verification) found: the check, what a checkpoint at the end would hold, and the last record. */
export interface ChainState {
  readonly check: JournalVerification;
  readonly tracker: RestartTracker;
  readonly tail?: JournalRecord;
}

/** `readByEveryRestart` as SQL: the records a restart reads whatever execution they are of. */
const RESTART_RECORDS = `(kind IN (${RESTART_KINDS.map((k) => `'${k}'`).join(', ')}) OR (kind = 'limits' AND execution_id IS NULL AND event IN ('start', 'tighten')))`;

/**
 * The chain from checkpoint `startRow` on: that checkpoint checked where it stands (its own hash,
 * the record it signs off — the archive anchor when that record was archived — and the records it
 * lists for a restart), then every later record chained to it and each later checkpoint checked
 * against what they say.
 */
function verifyFrom(db: Database.Database, startRow: Row): ChainState {
  const start = toRecord(startRow);
  const broken = (at: number): ChainState => ({ check: { ok: false, brokenAt: at }, tracker: new RestartTracker() });
  const anchor = readAnchor(db);
  const coveredRow = rowAt(db, start.sequence - 1);
  const covered = coveredRow ? toRecord(coveredRow) : undefined;
  const archived = covered === undefined && anchor !== null && anchor.sequence === start.sequence - 1;
  // A checkpoint is trusted only where it stands: its own hash, and the record it signs off.
  const signedOff = archived ? ({ sequence: anchor.sequence, hash: anchor.hash } as JournalRecord) : covered;
  if (!recordHashIntact(start) || !checkpointFits(start, signedOff) || (!archived && !recordHashIntact(covered!))) return broken(start.sequence);
  const payload = readCheckpoint(start) as CheckpointPayload;
  // What a restart reads from before the checkpoint must be what the checkpoint signed off.
  const refs = referencedRecords(payload.state);
  const found = new Map(rowsAt(db, refs.map(([sequence]) => sequence)).map((row) => [row.sequence, row]));
  for (const [sequence, hash] of refs) {
    const row = found.get(sequence);
    if (!row || row.hash !== hash || !recordHashIntact(toRecord(row))) return broken(sequence);
  }
  const tracker = RestartTracker.from(payload.state);
  let tail: JournalRecord | undefined;
  const records = function* () {
    yield (tail = start);
    for (const row of rowsAfter(db, start.sequence)) yield (tail = toStoredRecord(row));
  };
  const check = verifyWithCheckpoints(records(), { checkpoint: start, tracker }, (r) => (r === start ? r.hash : storedHash(r)));
  return { check: check.ok ? { ok: true, from: start.sequence } : check, tracker, ...(tail ? { tail } : {}) };
}

/**
 * A journal whose history was archived, from its first record: the anchor's state (what a
 * checkpoint after the last archived record would hold) is where checking starts; the records it
 * lists (kill switch changes, the limits as set: kept as copies) must be intact, the first record must name the
 * anchor's hash, and every later record and checkpoint is checked as in a full verification.
 */
function verifyFromAnchor(db: Database.Database, anchor: ArchiveAnchor): ChainState {
  const refs = referencedRecords(anchor.state);
  const found = new Map(rowsAt(db, refs.map(([sequence]) => sequence)).map((row) => [row.sequence, row]));
  for (const [sequence, hash] of refs) {
    const row = found.get(sequence);
    if (!row || row.hash !== hash || !recordHashIntact(toRecord(row))) return { check: { ok: false, brokenAt: sequence }, tracker: new RestartTracker() };
  }
  const audit = new ChainAudit({ sequence: anchor.sequence + 1, previousHash: anchor.hash, state: anchor.state });
  let tail: JournalRecord | undefined;
  for (const row of rowsAfter(db, anchor.sequence)) {
    const r = toStoredRecord(row);
    if (!audit.push(r, storedHash(r))) return { check: audit.result(), tracker: new RestartTracker() };
    tail = r;
  }
  const check = audit.result();
  return { check: check.ok ? { ok: true, from: anchor.sequence + 1, afterArchive: anchor.archive } : check, tracker: audit.restartTracker, ...(tail ? { tail } : {}) };
}

/**
 * `full: false` (a writer opening): the chain from the second-to-last checkpoint on (from the
 * first record when there is no such checkpoint), so opening verifies at most about two
 * checkpoints' worth of records, and a last checkpoint that does not follow from the one before
 * is refused. `full: true`: every record the file holds, and every checkpoint against what the
 * records before it say. A journal whose history was archived starts after the archive's last
 * record: it is checked from the archive anchor's state on (with `full`, or when fewer than two
 * checkpoints remain); the archived
 * records themselves are checked with the archive (`verifyAcrossArchives`, src/journal/archiveAudit.ts).
 * An intact chain must then end where the journal's head says, and agree with the advisories
 * index (src/journal/sqliteIntegrity.ts): the claims it verified each have their row, and the
 * index holds as many advisories as the chain has claimed (an archived claim's row is the only
 * trace of it left in the file). A disagreement is reported as a break, with its reason.
 */
export function verifyChainOf(db: Database.Database, { full }: { readonly full: boolean }): ChainState {
  const anchor = readAnchor(db);
  const lastTwo = db.prepare("SELECT * FROM records WHERE kind = 'checkpoint' ORDER BY sequence DESC LIMIT 2").all() as Row[];
  const startRow = full ? undefined : lastTwo[1];
  const state = startRow !== undefined ? verifyFrom(db, startRow) : anchor !== null ? verifyFromAnchor(db, anchor) : verifyAll(db);
  if (!state.check.ok) return state;
  // The chain is intact as far as it goes: now where it ends, and the index kept beside it.
  const end = state.tail ?? (anchor !== null ? anchor : EMPTY_HEAD);
  const last = lastTwo[0] ? readCheckpoint(toRecord(lastTwo[0])) : null;
  const problem = checkHead(db, end, last?.state.claimed !== undefined) ?? checkClaimIndex(db, startRow?.sequence ?? 0, state.tracker.claimed, end.sequence);
  return problem === null ? state : { ...state, check: problem };
}

/** Every record from the first, for a journal never archived. */
function verifyAll(db: Database.Database): ChainState {
  const tracker = new RestartTracker();
  let tail: JournalRecord | undefined;
  const records = function* () {
    for (const row of rowsAfter(db, 0)) yield (tail = toStoredRecord(row));
  };
  const check = verifyWithCheckpoints(records(), { tracker }, storedHash);
  return { check, tracker, ...(tail ? { tail } : {}) };
}

/**
 * Only what an engine needs at start, read through indexes. With a checkpoint: the last one
 * (its ledger stands for every execution settled before it), the records it lists (unfinished
 * executions, open flags, kill switch changes, the limits as set; retained copies for archived
 * ones), and after it the claims, kill-switch changes, limits as set, resolutions, results,
 * recoveries and every record of executions not finished — however long the history. Without
 * one: the same kinds from the first record on.
 */
export function restartRows(db: Database.Database): JournalRecord[] {
  const last = db.prepare("SELECT * FROM records WHERE kind = 'checkpoint' ORDER BY sequence DESC LIMIT 1").get() as Row | undefined;
  const payload = last ? readCheckpoint(toRecord(last)) : null;
  if (last && payload) {
    const listed = rowsAt(db, referencedRecords(payload.state).map(([sequence]) => sequence));
    const open = payload.state.unfinished.map((e) => e.executionId);
    const after = db
      .prepare(
        `SELECT * FROM records WHERE sequence > @from AND (${RESTART_RECORDS}
           OR execution_id IN (SELECT value FROM json_each(@open))
           OR execution_id IN (
             SELECT execution_id FROM records WHERE sequence > @from AND kind = 'claim'
             EXCEPT SELECT execution_id FROM records WHERE sequence > @from AND kind = 'result'))
         ORDER BY sequence`,
      )
      .all({ open: JSON.stringify(open), from: last.sequence }) as Row[];
    const rows = [...listed, ...after].sort((a, b) => a.sequence - b.sequence).filter((r, i, all) => i === 0 || all[i - 1]!.sequence !== r.sequence);
    // The checkpoint opens the set: restoreFromJournal starts from its ledger.
    return [toRecord(last), ...rows.map(toRecord)];
  }
  return (
    db
      .prepare(
        `SELECT * FROM records WHERE ${RESTART_RECORDS}
         UNION
         SELECT * FROM records WHERE execution_id IN (
           SELECT execution_id FROM records WHERE kind = 'claim'
           EXCEPT SELECT execution_id FROM records WHERE kind = 'result')
         ORDER BY sequence`,
      )
      .all() as Row[]
  ).map(toRecord);
}
