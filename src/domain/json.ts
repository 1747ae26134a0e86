/** JSON helpers: a canonical form for hashing, and a guard for untrusted JSON-like values. */

/**
 * Any JSON value.
 *
 * @example
 * const value: JsonValue = { symbol: 'EURUSD', levels: [1.089, 1.122], approved: true, note: null };
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Keys that could reach an object's prototype if a consumer copied the value naively. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface JsonLimits {
  readonly maxDepth: number;
  readonly maxNodes: number;
  readonly maxStringLength: number;
}

/**
 * Explains why `value` is not plain, bounded JSON, or returns null when it is.
 * Rejects non-finite numbers, functions, class instances, forbidden keys and anything past the limits,
 * so hostile input cannot make hashing or freezing expensive.
 */
export function jsonProblem(value: unknown, limits: JsonLimits): string | null {
  let nodes = 0;
  const visit = (v: unknown, depth: number, path: string): string | null => {
    if (++nodes > limits.maxNodes) return `more than ${limits.maxNodes} values`;
    if (depth > limits.maxDepth) return `nested deeper than ${limits.maxDepth} at ${path}`;
    if (v === null || typeof v === 'boolean') return null;
    if (typeof v === 'number') return Number.isFinite(v) ? null : `non-finite number at ${path}`;
    if (typeof v === 'string') {
      return v.length <= limits.maxStringLength ? null : `string longer than ${limits.maxStringLength} at ${path}`;
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const p = visit(v[i], depth + 1, `${path}[${i}]`);
        if (p) return p;
      }
      return null;
    }
    if (typeof v === 'object') {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return `not a plain object at ${path}`;
      for (const key of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(key)) return `forbidden key "${key}" at ${path}`;
        const p = visit((v as Record<string, unknown>)[key], depth + 1, `${path}.${key}`);
        if (p) return p;
      }
      return null;
    }
    return `unsupported ${typeof v} at ${path}`;
  };
  return visit(value, 0, '$');
}

/**
 * JSON with object keys sorted at every level and `undefined` members dropped: the same data
 * always gives the same text, whatever order its keys were written in.
 *
 * @example
 * canonicalJson({ b: 1, a: { d: undefined, c: 2 } }); // '{"a":{"c":2},"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) out[key] = sortKeys(member);
    }
    return out;
  }
  return value;
}

/** Why untrusted input could not be copied: where, and what is wrong. */
export interface CopyProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Copies untrusted input into plain data, reading every member exactly once. Whatever happens
 * next (validation, hashing, freezing) works on the copy, so a getter that answers differently on
 * each read, or a Proxy that changes its mind, cannot make two checks see two different values,
 * and the caller's own objects are never frozen or otherwise touched.
 *
 * @example
 * const copied = plainCopy(JSON.parse(body), { maxDepth: 32, maxNodes: 5_000 });
 * if (!copied.ok) console.log(copied.problem.path, copied.problem.message);
 */
export function plainCopy(value: unknown, limits: { readonly maxDepth: number; readonly maxNodes: number }): { ok: true; value: unknown } | { ok: false; problem: CopyProblem } {
  let nodes = 0;
  const fail = (path: string, message: string): never => {
    throw new CopyFailure({ path, message });
  };
  const copy = (v: unknown, depth: number, path: string): unknown => {
    if (++nodes > limits.maxNodes) fail(path, `more than ${limits.maxNodes} values`);
    if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
    if (typeof v !== 'object') return fail(path, `unsupported ${typeof v}`);
    if (depth >= limits.maxDepth) fail(path, `nested deeper than ${limits.maxDepth}`);
    if (Array.isArray(v)) {
      const length = v.length;
      if (length > limits.maxNodes) fail(path, `more than ${limits.maxNodes} values`);
      const out: unknown[] = [];
      for (let i = 0; i < length; i++) out.push(copy(v[i], depth + 1, `${path}.${i}`));
      return out;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) fail(path, 'not a plain object');
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      // defineProperty keeps a "__proto__" key as data, so later checks still see (and refuse) it.
      Object.defineProperty(out, key, { value: copy((v as Record<string, unknown>)[key], depth + 1, path ? `${path}.${key}` : key), enumerable: true, writable: true, configurable: true });
    }
    return out;
  };
  try {
    return { ok: true, value: copy(value, 0, '') };
  } catch (e) {
    if (e instanceof CopyFailure) return { ok: false, problem: e.problem };
    // A getter that throws, a revoked Proxy, a stack overflow: the input cannot be read.
    let message: string;
    try {
      message = e instanceof Error ? e.message : String(e);
    } catch {
      message = 'unknown error';
    }
    return { ok: false, problem: { path: '', message: `unreadable input: ${message.slice(0, 200)}` } };
  }
}

class CopyFailure extends Error {
  constructor(readonly problem: CopyProblem) {
    super(problem.message);
  }
}

/**
 * Freezes a value and everything reachable from it.
 *
 * @example
 * const limits = deepFreeze({ broker: { timeoutMs: 5_000 } });
 * Object.isFrozen(limits.broker); // true
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
