/** JSON helpers: a canonical form for hashing, and a guard for untrusted JSON-like values. */

/** Any JSON value. */
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

/** Freezes a value and everything reachable from it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}
