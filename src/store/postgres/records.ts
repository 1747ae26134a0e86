/** Journal records as rows of `warden_records`, and back. */
import { readByEveryRestart } from '../../journal/checkpoint.js';
import type { JournalRecord } from '../../journal/types.js';

/**
 * A journal record as a PostgreSQL store returns it: the record of one writer's chain
 * (`sequence` is the writer's own, contiguous from 1) plus who wrote it and its place in the
 * store-wide order.
 *
 * @example
 * for (const r of await store.records({ advisoryId: 'adv-1' })) console.log(r.globalSequence, r.writer, r.sequence, r.kind);
 */
export interface StoredRecord extends JournalRecord {
  /** The writer instance whose chain holds the record. */
  readonly writer: string;
  /** Position in the store-wide order assigned by PostgreSQL; null while not yet written. */
  readonly globalSequence: number | null;
  /** Lease epoch the record was written under (fencing), or null for records outside a lease. */
  readonly epoch: number | null;
}

/** One row of `warden_records` as the driver returns it (bigint columns as strings). */
export interface RecordRow {
  global_sequence: string;
  writer_id: string;
  writer_sequence: string;
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
  epoch: string | null;
}

/** The columns a batch insert writes, in order. */
export const RECORD_COLUMNS = [
  'writer_id',
  'writer_sequence',
  'at',
  'kind',
  'execution_id',
  'advisory_id',
  'snapshot_hash',
  'from_state',
  'to_state',
  'event',
  'payload',
  'previous_hash',
  'hash',
  'epoch',
] as const;

export const toStoredRecord = (r: RecordRow): StoredRecord => ({
  sequence: Number(r.writer_sequence),
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
  writer: r.writer_id,
  globalSequence: Number(r.global_sequence),
  epoch: r.epoch === null ? null : Number(r.epoch),
});

/** The values of one record for {@link RECORD_COLUMNS}. */
export const recordValues = (r: StoredRecord): unknown[] => [
  r.writer,
  r.sequence,
  r.at,
  r.kind,
  r.executionId,
  r.advisoryId,
  r.snapshotHash,
  r.from,
  r.to,
  r.event,
  JSON.stringify(r.payload),
  r.previousHash,
  r.hash,
  r.epoch,
];

/** Which records an engine needs to restart (as SqliteJournal.restartRecords selects them). */
export function restartSubset<T extends JournalRecord>(records: readonly T[]): T[] {
  const claimed = new Set<string>();
  const finished = new Set<string>();
  for (const r of records) {
    if (r.executionId === null) continue;
    if (r.kind === 'claim') claimed.add(r.executionId);
    if (r.kind === 'result') finished.add(r.executionId);
  }
  return records.filter((r) => readByEveryRestart(r) || (r.executionId !== null && claimed.has(r.executionId) && !finished.has(r.executionId)));
}
