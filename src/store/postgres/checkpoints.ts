/**
 * Checkpoints for a PostgreSQL store, with SqliteJournal's semantics (src/journal/checkpoint.ts):
 * each writer's chain carries, every `checkpointEvery` records, a `checkpoint` record that signs
 * off the record before it and lists what a restart needs. A writer connecting verifies its chain
 * from the checkpoint before its last (that checkpoint checked where it stands, the records it
 * lists intact, every later record chained, the last checkpoint's content against them), so a
 * forged checkpoint is refused; `verify()` (full) checks every record of every writer and every
 * checkpoint's content; `verify({ full: false })` checks each writer as a connecting writer does.
 */
import type pg from 'pg';
import { checkpointFits, readCheckpoint, referencedRecords, RestartTracker, type CheckpointPayload } from '../../journal/checkpoint.js';
import { ChainAudit } from '../../journal/archiveAudit.js';
import { recordHashIntact } from '../../journal/hashChain.js';
import { JournalError, JournalKind, type JournalEntry, type JournalRecord, type JournalVerification } from '../../journal/types.js';
import { toStoredRecord, type RecordRow, type StoredRecord } from './records.js';

/** Records between two checkpoints of a writer's chain, by default. */
export const POSTGRES_CHECKPOINT_EVERY = 2_000;

/** Rows per page when a chain is streamed. */
const PAGE = 5_000;

/**
 * Follows what a writer appends and says when a checkpoint is due.
 *
 * @example
 * const due = checkpoints.after(record);
 * if (due) store.append(due); // the checkpoint record, chained next
 */
export class WriterCheckpoints {
  private since: number;
  constructor(
    private readonly tracker: RestartTracker,
    private readonly every: number,
    since = 0,
  ) {
    this.since = since;
  }

  /** Counts a record just chained; returns the checkpoint entry to chain next when one is due. */
  after(record: JournalRecord): JournalEntry | null {
    if (record.kind === JournalKind.Checkpoint) {
      this.since = 0;
      return null;
    }
    this.tracker.add(record);
    if (++this.since < this.every) return null;
    const payload: CheckpointPayload = { covers: [record.sequence, record.hash], state: this.tracker.state() };
    return { kind: JournalKind.Checkpoint, executionId: null, advisoryId: null, snapshotHash: null, event: 'checkpoint', payload };
  }
}

/** A checkpoint (at `index` of `chain`) where it stands: its own hash, the record it signs off, the records it lists. Null: it holds; else the sequence that breaks. */
function standing(chain: readonly JournalRecord[], index: number): number | null {
  const start = chain[index]!;
  const covered = chain[index - 1];
  if (!recordHashIntact(start) || !checkpointFits(start, covered) || !recordHashIntact(covered!)) return start.sequence;
  for (const [sequence, hash] of referencedRecords((readCheckpoint(start) as CheckpointPayload).state)) {
    const r = chain[sequence - 1];
    if (r?.sequence !== sequence || r.hash !== hash || !recordHashIntact(r)) return sequence;
  }
  return null;
}

/**
 * Loads a writer's chain (all of it: the store keeps it in memory for `readAll`) and verifies it
 * from the checkpoint before its last one; throws `chain_broken` for an edited chain or a forged
 * checkpoint. Returns the chain and what follows it for the checkpoints to come.
 */
export async function loadCheckpointedChain(client: pg.Client, writer: string, every: number = POSTGRES_CHECKPOINT_EVERY): Promise<{ chain: StoredRecord[]; checkpoints: WriterCheckpoints }> {
  if (!Number.isSafeInteger(every) || every < 1) throw new JournalError('unreadable', `checkpointEvery must be a whole number of records, at least 1 (got ${String(every)})`);
  const { rows } = await client.query<RecordRow>('SELECT * FROM warden_records WHERE writer_id = $1 ORDER BY writer_sequence', [writer]);
  const chain = rows.map(toStoredRecord);
  let marks = 0;
  let startIndex = -1;
  for (let i = chain.length - 1; i >= 0 && marks < 2; i--) {
    if (chain[i]!.kind !== JournalKind.Checkpoint) continue;
    if (++marks === 2) startIndex = i;
  }
  let audit: ChainAudit;
  let brokenAt: number | null = null;
  if (startIndex < 0) {
    audit = new ChainAudit();
    for (const r of chain) if (!audit.push(r)) break;
  } else {
    brokenAt = standing(chain, startIndex);
    const start = chain[startIndex]!;
    audit = new ChainAudit({ sequence: start.sequence, previousHash: start.previousHash });
    if (brokenAt === null) for (const r of chain.slice(startIndex)) if (!audit.push(r)) break;
  }
  brokenAt ??= audit.result().brokenAt ?? null;
  if (brokenAt !== null) {
    throw new JournalError('chain_broken', `writer ${writer}'s journal chain fails verification at its record ${brokenAt}: it was edited or damaged, or a checkpoint was forged; refusing to append to it`, brokenAt);
  }
  const lastMark = chain.findLastIndex((r) => r.kind === JournalKind.Checkpoint);
  return { chain, checkpoints: new WriterCheckpoints(audit.restartTracker, every, chain.length - 1 - lastMark) };
}

type Verdict = JournalVerification & { readonly writer?: string; readonly writerSequence?: number; readonly writers: number; readonly records: number };

/**
 * Every writer's chain: `full`, every record from the first and every checkpoint's content;
 * otherwise from each writer's checkpoint before its last, as a connecting writer verifies.
 */
export async function verifyStoreChains(pool: pg.Pool, { full }: { readonly full: boolean }): Promise<Verdict> {
  const { rows: writers } = await pool.query<{ writer_id: string }>('SELECT DISTINCT writer_id FROM warden_records ORDER BY writer_id');
  let records = 0;
  for (const { writer_id: writer } of writers) {
    let after = 0;
    let audit = new ChainAudit();
    if (!full) {
      const { rows: marks } = await pool.query<RecordRow>("SELECT * FROM warden_records WHERE writer_id = $1 AND kind = 'checkpoint' ORDER BY writer_sequence DESC LIMIT 2", [writer]);
      const start = marks[1] ? toStoredRecord(marks[1]) : null;
      if (start) {
        const refs = referencedRecords(readCheckpoint(start)?.state ?? { unfinished: [], flagged: [], switches: [], ledger: [] }).map(([s]) => s);
        const { rows } = await pool.query<RecordRow>('SELECT * FROM warden_records WHERE writer_id = $1 AND writer_sequence = ANY($2::bigint[])', [writer, [start.sequence - 1, ...refs]]);
        const near: JournalRecord[] = [];
        for (const row of rows) near[Number(row.writer_sequence) - 1] = toStoredRecord(row);
        near[start.sequence - 1] = start;
        const broken = standing(near, start.sequence - 1);
        if (broken !== null) return { ok: false, brokenAt: (near[broken - 1] as StoredRecord | undefined)?.globalSequence ?? undefined, writer, writerSequence: broken, writers: writers.length, records };
        audit = new ChainAudit({ sequence: start.sequence, previousHash: start.previousHash });
        after = start.sequence - 1;
      }
    }
    for (;;) {
      const { rows } = await pool.query<RecordRow>('SELECT * FROM warden_records WHERE writer_id = $1 AND writer_sequence > $2 ORDER BY writer_sequence LIMIT $3', [writer, after, PAGE]);
      for (const row of rows) {
        const r = toStoredRecord(row);
        records++;
        if (!audit.push(r)) return { ok: false, brokenAt: r.globalSequence ?? undefined, writer, writerSequence: r.sequence, writers: writers.length, records };
      }
      if (rows.length < PAGE) break;
      after = Number(rows.at(-1)!.writer_sequence);
    }
  }
  return { ok: true, writers: writers.length, records };
}
