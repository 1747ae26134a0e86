/**
 * Store-wide reads on the pool: every writer's records, verification of every chain, and the
 * fleet's open flags. Callers commit their own pending records first.
 */
import type pg from 'pg';
import type { ExecutionResult } from '../../domain/result.js';
import { verifyChain } from '../../journal/hashChain.js';
import type { JournalFilter } from '../../journal/types.js';
import { toStoredRecord, type RecordRow, type StoredRecord } from './records.js';
import type { StoreVerification } from './types.js';

/** Rows per page when `verify()` streams a writer's chain. */
const VERIFY_PAGE = 10_000;

/** Records of every writer for one advisory or execution (or all), in global order. */
export async function readRecords(pool: pg.Pool, filter: JournalFilter): Promise<StoredRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.executionId !== undefined) where.push(`execution_id = $${params.push(filter.executionId)}`);
  if (filter.advisoryId !== undefined) where.push(`advisory_id = $${params.push(filter.advisoryId)}`);
  const { rows } = await pool.query<RecordRow>(`SELECT * FROM warden_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY global_sequence`, params);
  return rows.map(toStoredRecord);
}

/**
 * Verifies every writer's chain from its first record (sequence, own hash, link to the previous
 * one) and that each chain's records are in global order.
 */
export async function verifyStore(pool: pg.Pool): Promise<StoreVerification> {
  const { rows: writers } = await pool.query<{ writer_id: string }>('SELECT DISTINCT writer_id FROM warden_records ORDER BY writer_id');
  let count = 0;
  for (const { writer_id: writer } of writers) {
    let broken: StoredRecord | null = null;
    let lastGlobal = 0;
    async function* chain(): AsyncGenerator<StoredRecord> {
      for (let after = 0; ; ) {
        const { rows } = await pool.query<RecordRow>('SELECT * FROM warden_records WHERE writer_id = $1 AND writer_sequence > $2 ORDER BY writer_sequence LIMIT $3', [writer, after, VERIFY_PAGE]);
        for (const row of rows) yield toStoredRecord(row);
        if (rows.length < VERIFY_PAGE) return;
        after = Number(rows.at(-1)!.writer_sequence);
      }
    }
    // verifyChain is synchronous: check page by page, carrying the link across pages.
    const page: StoredRecord[] = [];
    let previous: StoredRecord | null = null;
    for await (const r of chain()) {
      count++;
      if ((r.globalSequence ?? 0) <= lastGlobal) {
        broken = r;
        break;
      }
      lastGlobal = r.globalSequence ?? 0;
      page.push(r);
      if (page.length === VERIFY_PAGE) {
        broken = checkPage(page, previous);
        if (broken) break;
        previous = page.at(-1)!;
        page.length = 0;
      }
    }
    if (!broken && page.length > 0) broken = checkPage(page, previous);
    if (broken) return { ok: false, brokenAt: broken.globalSequence ?? undefined, writer, writerSequence: broken.sequence, writers: writers.length, records: count };
  }
  return { ok: true, writers: writers.length, records: count };
}

/** The first record of `page` that breaks the chain continuing from `previous` (null: intact). */
function checkPage(page: StoredRecord[], previous: StoredRecord | null): StoredRecord | null {
  const check = verifyChain(page, { segment: previous !== null });
  if (previous !== null) {
    const first = page[0]!;
    if (first.previousHash !== previous.hash || first.sequence !== previous.sequence + 1) return first;
  }
  if (check.ok) return null;
  return page.find((r) => r.sequence === check.brokenAt) ?? page[0]!;
}

/**
 * Every flag of the fleet still open: results that await an operator's resolution (rule 6) with
 * no resolution record after them, whichever engine wrote them, oldest first.
 */
export async function readOpenFlags(pool: pg.Pool): Promise<{ readonly result: ExecutionResult; readonly symbol: string }[]> {
  const { rows } = await pool.query<{ payload: string; symbol: string | null }>(
    `SELECT r.payload, (SELECT c.snapshot->>'symbol' FROM warden_claims c WHERE c.execution_id = r.execution_id) AS symbol
       FROM warden_records r
      WHERE r.kind = 'result' AND (r.payload::jsonb ->> 'requiresManualResolution') = 'true'
        AND NOT EXISTS (SELECT 1 FROM warden_records x WHERE x.kind = 'resolution' AND x.execution_id = r.execution_id)
      ORDER BY r.global_sequence`,
  );
  return rows.filter((r) => r.symbol !== null).map((r) => ({ result: JSON.parse(r.payload) as ExecutionResult, symbol: r.symbol! }));
}
