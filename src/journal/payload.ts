/**
 * Makes anything JSON-safe for the journal and the logs: errors become {name, message, code},
 * cycles and odd values become strings, and anything that looks like a credential is redacted.
 */
const SECRET_KEY = /(api[-_]?key|secret|password|passphrase|token|authorization|signature|private[-_]?key|credential)/i;
/**
 * What replaces the value of a key that looks like a credential.
 *
 * @example
 * const payload = toJournalPayload({ apiKey: 'k-123' }) as { apiKey: string };
 * payload.apiKey === REDACTED; // true
 */
export const REDACTED = '[redacted]';

/** Whether a key looks like a credential, remembered per key: the same few dozen keys recur in every record. */
const secretKeys = new Map<string, boolean>();
const KEYS_REMEMBERED = 10_000;
function isSecretKey(key: string): boolean {
  let secret = secretKeys.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (secretKeys.size < KEYS_REMEMBERED) secretKeys.set(key, secret);
  }
  return secret;
}
/** At most this many keys of an object, and items of an array, are kept. */
const MAX_ENTRIES = 1_000;
/** At most this many objects and arrays are copied from one payload (an object shared many times over is copied each time). */
const MAX_NODES = 100_000;

/**
 * A JSON-safe copy of `value` for the journal: errors as {name, message, code}, credentials redacted.
 * A cycle is cut where it closes ('[circular]'); an object reached twice by different paths is
 * copied twice, as JSON would write it.
 *
 * @example
 * toJournalPayload({ error: new BrokerError('margin', { retryable: false, code: 'insufficient_funds' }), secret: 's' });
 * // { error: { name: 'BrokerError', message: 'margin', code: 'insufficient_funds', retryable: false }, secret: '[redacted]' }
 */
export function toJournalPayload(value: unknown): unknown {
  // The objects being copied, outermost first: a cycle can only close on one of them. (A set of
  // every object met cost a hash-table entry per object, thousands in a kill switch's batch record.)
  const path: object[] = [];
  let nodes = 0;
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
    if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'undefined') return null;
    if (typeof v === 'function' || typeof v === 'symbol') return `[${typeof v}]`;
    if (depth > 12) return '[too deep]';
    if (++nodes > MAX_NODES) return '[too large]';
    for (let i = 0; i < depth; i++) if (path[i] === v) return '[circular]';
    path[depth] = v as object;
    if (v instanceof Error) {
      const e = v as Error & { code?: unknown; retryable?: unknown };
      return { name: e.name, message: e.message, ...(e.code === undefined ? {} : { code: walk(e.code, depth + 1) }), ...(e.retryable === undefined ? {} : { retryable: Boolean(e.retryable) }) };
    }
    if (Array.isArray(v)) {
      const n = Math.min(v.length, MAX_ENTRIES);
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = walk(v[i], depth + 1);
      return out;
    }
    const out: Record<string, unknown> = {};
    const keys = Object.keys(v as object);
    for (let i = 0; i < keys.length && i < MAX_ENTRIES; i++) {
      const key = keys[i]!;
      out[key] = isSecretKey(key) ? REDACTED : walk((v as Record<string, unknown>)[key], depth + 1);
    }
    return out;
  };
  try {
    return walk(value, 0);
  } catch {
    return '[unserialisable]';
  }
}
