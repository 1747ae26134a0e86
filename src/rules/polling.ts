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
 * The wait before the next look-up of an order that has worked for `ageMs`: `floorMs` (50 ms) for
 * its first moments, then a thirtieth of its age, never more than `ceilingMs`. A floor at the
 * ceiling gives a fixed interval.
 *
 * @example
 * nextPollDelay(200, 500);       // 50
 * nextPollDelay(6_000, 500);     // 200
 * nextPollDelay(60_000, 500);    // 500
 * nextPollDelay(200, 500, 500);  // 500: fixed
 */
export function nextPollDelay(ageMs: number, ceilingMs: number, floorMs: number = FAST_POLL_MS): number {
  return Math.min(ceilingMs, Math.max(floorMs, Math.round(ageMs / POLL_AGE_DIVISOR)));
}
