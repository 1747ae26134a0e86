import { createHash } from 'node:crypto';
import type { JournalEntry, JournalRecord, JournalVerification } from './types.js';
import { toJournalPayload } from './payload.js';

export const GENESIS_HASH = '0'.repeat(64);

/**
 * SHA-256 over the record's fields as a JSON array in a fixed order. The payload is already
 * plain JSON (see toJournalPayload) and keeps its key order through SQLite and JSON Lines, so no
 * key sorting is needed: that sort was a quarter of an execution's CPU time.
 */
const hashOf = (r: Omit<JournalRecord, 'hash'>): string =>
  createHash('sha256')
    .update(JSON.stringify([r.sequence, r.at, r.kind, r.executionId, r.advisoryId, r.snapshotHash, r.from, r.to, r.event, r.payload, r.previousHash]))
    .digest('hex');

/** Builds the next record of a chain. */
export function chainRecord(entry: JournalEntry, sequence: number, at: string, previousHash: string): JournalRecord {
  const body: Omit<JournalRecord, 'hash'> = {
    sequence,
    at,
    kind: entry.kind,
    executionId: entry.executionId,
    advisoryId: entry.advisoryId,
    snapshotHash: entry.snapshotHash,
    from: entry.from ?? null,
    to: entry.to ?? null,
    event: entry.event ?? null,
    payload: toJournalPayload(entry.payload ?? null),
    previousHash,
  };
  return { ...body, hash: hashOf(body) };
}

/**
 * Checks sequence continuity, each record's own hash and its link to the previous one. A whole
 * journal must start at record 1 from the genesis hash; with `segment`, an exported excerpt is
 * checked from its first record on (its link to earlier records cannot be).
 */
export function verifyChain(records: readonly JournalRecord[], options: { segment?: boolean } = {}): JournalVerification {
  const first = records[0];
  if (first && !options.segment && first.sequence !== 1) return { ok: false, brokenAt: first.sequence };
  let previous = options.segment && first ? first.previousHash : GENESIS_HASH;
  let expectedSequence = first?.sequence ?? 1;
  for (const r of records) {
    const { hash, ...body } = r;
    if (r.sequence !== expectedSequence || r.previousHash !== previous || hashOf(body) !== hash) return { ok: false, brokenAt: r.sequence };
    previous = hash;
    expectedSequence++;
  }
  return { ok: true };
}
