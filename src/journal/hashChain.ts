import * as crypto from 'node:crypto';
import type { JournalEntry, JournalRecord, JournalVerification } from './types.js';
import { toJournalPayload } from './payload.js';

/**
 * The `previousHash` of a journal's first record: 64 zeros.
 *
 * @example
 * (await journal.records())[0]?.previousHash === GENESIS_HASH; // true for a whole journal
 */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * SHA-256 over the record's fields as a JSON array in a fixed order. The payload is already
 * plain JSON (see toJournalPayload) and keeps its key order through SQLite and JSON Lines, so no
 * key sorting is needed: that sort was a quarter of an execution's CPU time.
 */
const hashOf = (r: Omit<JournalRecord, 'hash'>): string =>
  sha256Hex(JSON.stringify([r.sequence, r.at, r.kind, r.executionId, r.advisoryId, r.snapshotHash, r.from, r.to, r.event, r.payload, r.previousHash]));

/** One-shot `crypto.hash` where Node has it (20.12 and later: half the cost of a Hash object per record). */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;
const sha256Hex: (data: string) => string =
  typeof oneShot === 'function' ? (data) => oneShot('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data).digest('hex');

/**
 * The hash of a record as a store holds it, its payload still the JSON text it was written as:
 * the same string `hashOf` builds (JSON.stringify of the same array; the text is what
 * JSON.stringify made of the payload), without parsing the payload and encoding it again — what
 * makes verifying a long journal cost a third less. A payload text not as it was written (edited,
 * even only its spacing) gives another hash, as an edit must.
 *
 * @example
 * const intact = storedRecordHash({ ...row, payloadText: row.payload }) === row.hash;
 */
export function storedRecordHash(r: Omit<JournalRecord, 'payload' | 'hash'> & { readonly payloadText: string }): string {
  const j = JSON.stringify;
  return sha256Hex(`[${j(r.sequence)},${j(r.at)},${j(r.kind)},${j(r.executionId)},${j(r.advisoryId)},${j(r.snapshotHash)},${j(r.from)},${j(r.to)},${j(r.event)},${r.payloadText},${j(r.previousHash)}]`);
}

/** Whether a record's hash is the hash of its own content (its link to the others aside). */
export function recordHashIntact(r: JournalRecord): boolean {
  return hashOf(withoutHash(r)) === r.hash;
}

const withoutHash = (r: JournalRecord): Omit<JournalRecord, 'hash'> => {
  const { hash: _hash, ...body } = r;
  return body;
};

/**
 * Builds the next record of a chain. One object literal with every field, `hash` included (set
 * after): every record shares one hidden class, where `{ ...body, hash }` gave each record a map
 * of its own (about 400 bytes a record).
 */
export function chainRecord(entry: JournalEntry, sequence: number, at: string, previousHash: string): JournalRecord {
  const record = {
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
    hash: '',
  };
  record.hash = hashOf(record);
  return record;
}

/**
 * Builds the next record of a chain from a payload that is already plain JSON and must be kept
 * whole (a checkpoint's lists, which `toJournalPayload` would cut at 1,000 items).
 *
 * @example
 * const record = chainPlainRecord({ kind: JournalKind.Checkpoint, executionId: null, advisoryId: null, snapshotHash: null, payload }, 42, at, previous.hash);
 */
export function chainPlainRecord(entry: JournalEntry, sequence: number, at: string, previousHash: string): JournalRecord {
  const record = {
    sequence,
    at,
    kind: entry.kind,
    executionId: entry.executionId,
    advisoryId: entry.advisoryId,
    snapshotHash: entry.snapshotHash,
    from: entry.from ?? null,
    to: entry.to ?? null,
    event: entry.event ?? null,
    payload: entry.payload ?? null,
    previousHash,
    hash: '',
  };
  record.hash = hashOf(record);
  return record;
}

/**
 * Checks sequence continuity, each record's own hash and its link to the previous one. A whole
 * journal must start at record 1 from the genesis hash; with `segment`, an exported excerpt is
 * checked from its first record on (its link to earlier records cannot be).
 *
 * @example
 * const check = verifyChain(parseJsonl(readFileSync('export.jsonl', 'utf8')), { segment: true });
 * if (!check.ok) console.log(`chain broken at record ${check.brokenAt}`);
 */
export function verifyChain(records: Iterable<JournalRecord>, options: { segment?: boolean; hash?: (r: JournalRecord) => string } = {}): JournalVerification {
  // Streams: a journal of any length is checked in constant memory.
  let previous = GENESIS_HASH;
  let expectedSequence = 1;
  let first = true;
  for (const r of records) {
    if (first) {
      first = false;
      if (options.segment) {
        previous = r.previousHash;
        expectedSequence = r.sequence;
      } else if (r.sequence !== 1) return { ok: false, brokenAt: r.sequence };
    }
    if (r.sequence !== expectedSequence || r.previousHash !== previous || (options.hash ? options.hash(r) : hashOf(withoutHash(r))) !== r.hash) return { ok: false, brokenAt: r.sequence };
    previous = r.hash;
    expectedSequence++;
  }
  return { ok: true };
}
