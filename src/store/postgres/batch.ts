/**
 * A journal batch as ONE simple query (so one round trip, one implicit transaction): the global
 * order lock, the lease rows of the batch's executions, and the rows — inserted only where every
 * execution's lease still is the one its records were appended under — and, for a batch holding a
 * resolution that adopted the venue's position figure, that adjustment added to the fleet's
 * position (`warden_position_totals`) in the same transaction. Values go in as escaped
 * literals: the simple query protocol takes no parameters, and it is the only one that runs
 * several statements in one message.
 */
import { positionAdjustmentOf } from '../../journal/positionAdjustment.js';
import { JournalError } from '../../journal/types.js';
import { RECORD_COLUMNS, recordValues, type StoredRecord } from './records.js';
import { ADVISORY_LOCK_NAMESPACE, JOURNAL_ORDER_LOCK } from './schema.js';

/** One record of a batch, with the lease owner it was appended under (fencing), or null. */
export interface Pending {
  readonly record: StoredRecord;
  readonly owner: string | null;
}

/** A row of `warden_leases` as the fence check reads it (bigint as a string). */
export interface LeaseRow {
  execution_id: string;
  owner: string;
  epoch: string;
  released: boolean;
}

/** The columns holding integers; every other column of a record is text. */
const INTEGER_COLUMNS = new Set<string>(['writer_sequence', 'epoch']);

/**
 * Each execution's latest record of the batch: it states the lease this process holds for it
 * now (one process appended the whole batch; its earlier records were appended by the same holder).
 */
export function latestLeaseClaims(batch: readonly Pending[]): Map<string, Pending> {
  const claims = new Map<string, Pending>();
  for (const p of batch) if (p.record.executionId !== null) claims.set(p.record.executionId, p);
  return claims;
}

/**
 * Whether a lease row accepts a record. Without an epoch (this instance never leased the
 * execution): once the lease is released (a resolution, say), or from its owner. With one: only
 * the epoch and owner of the lease, released or not (the last records of a finished execution may
 * commit after its release). `batchSql` states the same rule in SQL.
 */
export function acceptedBy(row: LeaseRow, p: Pending, writer: string): boolean {
  return p.record.epoch === null ? row.released || row.owner === writer : p.record.epoch === Number(row.epoch) && p.owner === row.owner;
}

const QUOTE_OR_BACKSLASH = /['\\]/;

/**
 * A text literal, as the driver's `escapeLiteral` writes it (quotes doubled; with a backslash, an
 * `E''` string with backslashes doubled), without reading each character in JavaScript when
 * there is nothing to escape: a batch of 10,000 records took 300 ms to build that way.
 */
function quoted(text: string): string {
  if (!QUOTE_OR_BACKSLASH.test(text)) return `'${text}'`;
  const body = text.replaceAll("'", "''");
  return text.includes('\\') ? ` E'${body.replaceAll('\\', '\\\\')}'` : `'${body}'`;
}

/** The writer sequences of the batch's resolutions that carry a position adjustment. */
export function adjustingResolutions(batch: readonly Pending[]): number[] {
  return batch.filter((p) => positionAdjustmentOf(p.record) !== null).map((p) => p.record.sequence);
}

/**
 * The statement that adds the adjustments of the resolutions just inserted (writer `writer`,
 * sequences `sequences`) to the fleet's settled position, after the insert and in its
 * transaction: a batch refused by a lease inserts nothing and so adjusts nothing, and a batch in
 * doubt is committed with its adjustment or not at all (and never written twice). A flag is
 * adjusted for once: a resolution of an execution that already has one in the store (two engines
 * resolved the same flag) adds nothing — under the journal's order lock, which every batch takes,
 * the earlier one is committed and visible.
 */
function adjustmentSql(lit: (v: unknown) => string, writer: string, sequences: readonly number[]): string {
  const adjustment = (field: string) => `(r.payload::jsonb #>> '{positionAdjustment,${field}}')`;
  return (
    `INSERT INTO warden_position_totals (symbol, settled_net)` +
    ` SELECT ${adjustment('symbol')}, sum(${adjustment('quantity')}::double precision) FROM warden_records r` +
    ` WHERE r.writer_id = ${lit(writer)} AND r.writer_sequence IN (${sequences.map(lit).join(', ')}) AND r.kind = 'resolution'` +
    ` AND ${adjustment('symbol')} IS NOT NULL AND ${adjustment('quantity')} IS NOT NULL` +
    ` AND NOT EXISTS (SELECT 1 FROM warden_records x WHERE x.kind = 'resolution' AND x.execution_id = r.execution_id AND x.global_sequence < r.global_sequence)` +
    ` GROUP BY 1 ON CONFLICT (symbol) DO UPDATE SET settled_net = warden_position_totals.settled_net + EXCLUDED.settled_net`
  );
}

/**
 * The batch's statements: lock; lease rows (shared); the rows, unless a lease refuses them; the
 * position adjustments of its resolutions, when it has any (`adjustingResolutions`): then the
 * insert is the second-to-last statement, otherwise the last.
 */
export function batchSql(batch: readonly Pending[], claims: ReadonlyMap<string, Pending>, writer: string): string {
  // A value the batch cannot carry is refused here as a JournalError (for good: later records chain
  // on it), never sent: a NUL would end the query's text and the server would answer 08P01, which
  // reads as an answer lost (a batch in doubt, sent again every 500 ms).
  const lit = (v: unknown): string => {
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new JournalError('unreadable', `journal batch: ${v} is not an integer a record column holds`);
      return String(v);
    }
    const text = String(v);
    if (text.includes('\u0000')) throw new JournalError('unreadable', `journal batch: a record's text holds a NUL character, which PostgreSQL text cannot store: ${JSON.stringify(text.slice(0, 64))}`);
    return quoted(text);
  };
  // The first row states each column's type; the rows after it take it (VALUES resolves a column
  // over all its rows, as UNION does).
  const casts = RECORD_COLUMNS.map((column) => (INTEGER_COLUMNS.has(column) ? '::bigint' : '::text'));
  const rows = batch.map((p, i) => `(${recordValues(p.record).map((v, k) => (i === 0 ? lit(v) + casts[k]! : lit(v))).join(', ')})`);
  const columns = RECORD_COLUMNS.join(', ');
  const statements = [`SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${JOURNAL_ORDER_LOCK})`];
  let unlessRefused = '';
  if (claims.size > 0) {
    const ids = [...claims.keys()].map(lit).join(', ');
    // In execution id order, as renewals lock them: two statements that lock rows in the same order never deadlock.
    statements.push(`SELECT execution_id, owner, epoch, released FROM warden_leases WHERE execution_id IN (${ids}) ORDER BY execution_id COLLATE "C" FOR SHARE`);
    const stated = [...claims].map(([id, p]) => `(${lit(id)}::text, ${lit(p.record.epoch)}::bigint, ${lit(p.owner)}::text)`).join(', ');
    unlessRefused =
      ` WHERE NOT EXISTS (SELECT 1 FROM warden_leases l JOIN (VALUES ${stated}) AS c(execution_id, epoch, owner) ON l.execution_id = c.execution_id` +
      ` WHERE NOT (CASE WHEN c.epoch IS NULL THEN l.released OR l.owner = ${lit(writer)} ELSE l.epoch = c.epoch AND l.owner IS NOT DISTINCT FROM c.owner END))`;
  }
  statements.push(`INSERT INTO warden_records (${columns}) SELECT ${columns} FROM (VALUES ${rows.join(', ')}) AS v(${columns})${unlessRefused} ORDER BY writer_sequence`);
  const adjusting = adjustingResolutions(batch);
  if (adjusting.length > 0) statements.push(adjustmentSql(lit, batch[0]!.record.writer, adjusting));
  return statements.join(';\n');
}
