/**
 * How often a working order is looked up on a venue that pushes nothing. A market order fills
 * within moments of its acknowledgement, or late: so the look-ups are fast at first and slow down
 * as the order ages, up to the engine's `pollIntervalMs`.
 */

/** The first look-ups of a fresh order, ms apart. */
export const FAST_POLL_MS = 50;
/** The interval grows with the order's age: one look-up per this fraction of it (age / 30). */
export const POLL_AGE_DIVISOR = 30;

/**
 * The wait before the next look-up of an order that has worked for `ageMs`: 50 ms for its first
 * 1.5 s, then a thirtieth of its age, never more than `ceilingMs`.
 *
 * @example
 * nextPollDelay(200, 500);    // 50
 * nextPollDelay(6_000, 500);  // 200
 * nextPollDelay(60_000, 500); // 500
 */
export function nextPollDelay(ageMs: number, ceilingMs: number): number {
  return Math.min(ceilingMs, Math.max(FAST_POLL_MS, Math.round(ageMs / POLL_AGE_DIVISOR)));
}
