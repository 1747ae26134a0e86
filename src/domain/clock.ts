/**
 * The time source of an engine. The default reads `Date.now` and the *global* `setTimeout` at
 * call time, so vitest fake timers installed after the engine was created still apply.
 * XState's `SimulatedClock` fits the timer half; Warden also needs `now()`.
 *
 * @example
 * const clock: Clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
 * const engine = createEngine({ broker, clock });
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Wall time and the global timers.
 *
 * @example
 * const engine = createEngine({ broker, clock: systemClock }); // the default
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};
