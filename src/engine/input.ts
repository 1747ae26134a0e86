/** What the engine reads of an execute() input, once, when it is called. */
import { parseSnapshotInput, type SnapshotInputResult } from '../domain/snapshot.js';

/** A bounded description of untrusted input: its type, and for an object its first keys. Never throws. */
function outline(input: unknown): unknown {
  try {
    if (input === null || typeof input !== 'object') return { type: input === null ? 'null' : typeof input, ...(typeof input === 'string' ? { length: input.length } : {}) };
    if (Array.isArray(input)) return { type: 'array', length: input.length };
    const keys = Object.keys(input);
    return { type: 'object', keys: keys.slice(0, 40).map((k) => k.slice(0, 64)), ...(keys.length > 40 ? { moreKeys: keys.length - 40 } : {}) };
  } catch {
    return { type: 'unreadable' };
  }
}

/**
 * Half of a surrogate pair: a store keeps it as U+FFFD, so the record no longer hashes as it was
 * chained (and the cut at 128 units can split a pair by itself). A NUL, PostgreSQL text refuses.
 */
const HALF_PAIR = new RegExp('[\\uD800-\\uDBFF](?![\\uDC00-\\uDFFF])|(?<![\\uD800-\\uDBFF])[\\uDC00-\\uDFFF]', 'g');

/** A string member of untrusted input, bounded and storable (half a pair or a NUL becomes U+FFFD), or null. Never throws. */
export const peek = (input: unknown, key: string): string | null => {
  try {
    const v = input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[key] : undefined;
    return typeof v === 'string' ? v.slice(0, 128).replace(HALF_PAIR, '\uFFFD').replaceAll('\u0000', '\uFFFD') : null;
  } catch {
    return null;
  }
};

/** An execute() input, read once. */
export interface PreparedInput {
  readonly input: unknown;
  readonly parsed: SnapshotInputResult;
  readonly advisoryId: string | null;
  readonly symbol: string | null;
  /** What the journal keeps of the input: the frozen snapshot, or for refused input its problems and a bounded outline — never the input itself. */
  readonly summary: unknown;
}

/**
 * Reads the input once, when execute() is called: everything after reads the validated, frozen
 * snapshot, never the raw input (whose getters could answer differently on each read and dodge a
 * symbol's switch, and which the caller may change after handing it over).
 */
export function prepareInput(input: unknown, executionId: string, recovery?: unknown): PreparedInput {
  const parsed = parseSnapshotInput(input);
  if (parsed.kind === 'invalid') {
    return { input, parsed, advisoryId: peek(input, 'advisoryId'), symbol: null, summary: { type: 'xstate.init', input: { refused: true, issues: parsed.issues.slice(0, 20), outline: outline(input) } } };
  }
  const s = parsed.snapshot;
  return { input, parsed, advisoryId: s.advisoryId, symbol: s.symbol, summary: { type: 'xstate.init', input: { snapshot: s, executionId, ...(recovery ? { recovery } : {}) } } };
}
