/**
 * Rule 1, frozen snapshot: validation, deep freeze and the SHA-256 over every field.
 */
import { createHash } from 'node:crypto';
import { SnapshotFieldsSchema, type FrozenSnapshot, type SnapshotFields } from './schemas.js';
import { canonicalJson, deepFreeze, plainCopy } from './json.js';
import { ApprovalSignatureSchema } from './approvals.js';

/** Fields carried beside the snapshot's content, never part of what is hashed. */
const ENVELOPE = ['hash', 'approvalSignature'] as const;

/**
 * One problem found in a snapshot: where, and what is wrong.
 *
 * @example
 * const issue: SnapshotIssue = { path: 'slOffsetPct', message: 'a buy needs a negative stop-loss offset (below the fill)' };
 */
export interface SnapshotIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * Thrown by {@link freezeSnapshot}; lists every problem, not just the first.
 *
 * @example
 * try { freezeSnapshot(raw) } catch (e) {
 *   if (e instanceof SnapshotValidationError) for (const i of e.issues) console.log(i.path, i.message);
 * }
 */
export class SnapshotValidationError extends Error {
  override readonly name = 'SnapshotValidationError';
  constructor(readonly issues: readonly SnapshotIssue[]) {
    super(`invalid snapshot: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}

/**
 * SHA-256 (hex) of the canonical JSON of every snapshot field (not `hash` or `approvalSignature`, which are about it).
 *
 * @example
 * hashSnapshotFields(snapshot) === snapshot.hash; // true while the snapshot is intact
 */
export function hashSnapshotFields(fields: SnapshotFields | FrozenSnapshot): string {
  const { hash: _hash, approvalSignature: _signature, ...rest } = fields as FrozenSnapshot;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/**
 * True when the snapshot's stamped hash still matches its content.
 *
 * @example
 * const snapshot = freezeSnapshot(raw);
 * snapshotHashMatches(snapshot);                                                // true
 * snapshotHashMatches({ ...snapshot, positionSize: snapshot.positionSize * 2 }); // false: edited after freezing
 */
export function snapshotHashMatches(snapshot: FrozenSnapshot): boolean {
  try {
    return typeof snapshot.hash === 'string' && hashSnapshotFields(snapshot) === snapshot.hash;
  } catch {
    return false; // a hostile object (getter that throws, cycle) is not intact
  }
}

/** Generous bounds for a whole snapshot read once; the schema then applies the field-level limits. */
const INPUT_LIMITS = { maxDepth: 32, maxNodes: 10_000 } as const;

/** The input read exactly once into plain data, or why it cannot be. */
function readOnce(input: unknown): { ok: true; value: unknown } | { ok: false; issues: SnapshotIssue[] } {
  const copied = plainCopy(input, INPUT_LIMITS);
  return copied.ok ? copied : { ok: false, issues: [copied.problem] };
}

function validate(input: unknown): { ok: true; fields: SnapshotFields } | { ok: false; issues: SnapshotIssue[] } {
  let parsed;
  try {
    parsed = SnapshotFieldsSchema.safeParse(input);
  } catch (e) {
    // Proxies and throwing getters end here instead of escaping as exceptions.
    return { ok: false, issues: [{ path: '', message: `unreadable input: ${e instanceof Error ? e.message : String(e)}` }] };
  }
  if (parsed.success) return { ok: true, fields: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  };
}

/**
 * Validates a raw snapshot, deep-freezes a copy of it and stamps its hash.
 *
 * @throws {SnapshotValidationError} listing every problem.
 * @example
 * const snapshot = freezeSnapshot({ advisoryId: 'adv-1', symbol: 'EURUSD', side: 'buy', ... });
 * snapshot.hash; // 64 hex characters
 */
export function freezeSnapshot(input: unknown): FrozenSnapshot {
  const copied = readOnce(input);
  if (!copied.ok) throw new SnapshotValidationError(copied.issues);
  const result = validate(stripHash(copied.value));
  if (!result.ok) throw new SnapshotValidationError(result.issues);
  return stamp(result.fields);
}

function stamp(fields: SnapshotFields): FrozenSnapshot {
  return deepFreeze({ ...fields, hash: hashSnapshotFields(fields) });
}

function stripHash(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input) || !ENVELOPE.some((k) => Object.hasOwn(input, k))) return input;
  const { hash: _hash, approvalSignature: _signature, ...rest } = input as Record<string, unknown>;
  return rest;
}

/**
 * Outcome of {@link parseSnapshotInput}.
 *
 * @example
 * const parsed: SnapshotInputResult = parseSnapshotInput(JSON.parse(text));
 * if (parsed.kind === 'invalid') console.log(parsed.issues);
 */
export type SnapshotInputResult =
  | { readonly kind: 'valid'; readonly snapshot: FrozenSnapshot }
  | { readonly kind: 'invalid'; readonly issues: readonly SnapshotIssue[] }
  /** Content is valid but differs from what the carried hash was stamped over; `snapshot` keeps that hash. */
  | { readonly kind: 'tampered'; readonly snapshot: FrozenSnapshot };

/**
 * Accepts what `execute` may be given: a raw snapshot (validated and frozen here) or a frozen
 * one, possibly after a JSON round trip. A frozen snapshot is never re-stamped: if its content
 * no longer matches the hash it carries, it was edited after approval and is `tampered`.
 *
 * @example
 * const parsed = parseSnapshotInput(JSON.parse(text));
 * if (parsed.kind === 'valid') console.log(parsed.snapshot.hash);
 */
export function parseSnapshotInput(input: unknown): SnapshotInputResult {
  // Everything below reads the copy: each member of the caller's input is read exactly once.
  const copied = readOnce(input);
  if (!copied.ok) return { kind: 'invalid', issues: copied.issues };
  const data = copied.value;
  const claimedHash = data !== null && typeof data === 'object' && Object.hasOwn(data, 'hash') ? (data as { hash: unknown }).hash : undefined;
  const stripped = stripHash(data);
  const result = validate(stripped);
  if (!result.ok) return { kind: 'invalid', issues: result.issues };
  let signature;
  const raw = (data as { approvalSignature?: unknown }).approvalSignature;
  if (raw !== undefined) {
    const parsed = ApprovalSignatureSchema.safeParse(raw);
    if (!parsed.success) return { kind: 'invalid', issues: parsed.error.issues.map((i) => ({ path: ['approvalSignature', ...i.path].join('.'), message: i.message })) };
    signature = parsed.data;
  }
  const extra = signature ? { approvalSignature: signature } : {};
  const snapshot = stamp(result.fields);
  if (claimedHash === undefined || claimedHash === snapshot.hash) return { kind: 'valid', snapshot: deepFreeze({ ...snapshot, ...extra }) };
  return { kind: 'tampered', snapshot: deepFreeze({ ...result.fields, hash: String(claimedHash).slice(0, 128), ...extra }) };
}
