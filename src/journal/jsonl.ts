/** The journal as JSON Lines: one record per line, the forensic hand-off format. */
import { z } from 'zod';
import type { JournalRecord } from './types.js';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const RecordSchema = z.object({
  sequence: z.number().int().positive(),
  at: z.string(),
  kind: z.enum(['transition', 'broker.request', 'broker.response', 'broker.error', 'unhandled_event', 'kill_switch', 'resolution', 'result', 'claim', 'recovery', 'limits', 'checkpoint']),
  executionId: z.string().nullable(),
  advisoryId: z.string().nullable(),
  snapshotHash: z.string().nullable(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  event: z.string().nullable(),
  payload: z.unknown(),
  previousHash: hex64,
  hash: hex64,
});

/**
 * Records as JSON Lines: one JSON object per line, each line ending in a newline.
 *
 * @example
 * writeFileSync('adv-1.jsonl', toJsonl(await engine.journal.records({ advisoryId: 'adv-1' })));
 */
export function toJsonl(records: readonly JournalRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}

/**
 * Parses JSON Lines into records; throws an Error naming the first bad line.
 *
 * @example
 * const records = parseJsonl(readFileSync('adv-1.jsonl', 'utf8'));
 * verifyChain(records, { segment: true }).ok; // true unless the export was edited
 */
export function parseJsonl(text: string): JournalRecord[] {
  const out: JournalRecord[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    out.push(parseJsonlLine(line, i + 1));
  }
  return out;
}

/**
 * One line of JSON Lines as a record (for reading a long file line by line); throws an Error
 * naming the line.
 *
 * @example
 * for await (const line of lines) check(parseJsonlLine(line, ++n));
 */
export function parseJsonlLine(line: string, lineNumber: number): JournalRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error(`line ${lineNumber}: not JSON`);
  }
  const parsed = RecordSchema.safeParse(value);
  if (!parsed.success) throw new Error(`line ${lineNumber}: not a journal record (${parsed.error.issues[0]?.path.join('.') || 'root'}: ${parsed.error.issues[0]?.message})`);
  return parsed.data as JournalRecord;
}
