/**
 * `WARDEN_TEST_SHIFT_DAYS=N` moves the wall clock N days (negative: back) for this test process and
 * every node process it starts (through NODE_OPTIONS), while letting time run: `Date.now()` and
 * `new Date()` read the shifted time, timers are untouched. The suite must pass whatever the wall
 * clock says; `npm run test:shifted` proves it a year either way. Unshifted, with
 * `WARDEN_TEST_CLOCK_MARKS` set (vitest.config.ts), it instead notes whether this test file can see
 * the wall clock at all (test/support/clockReaders.mjs).
 */
import { expect } from 'vitest';

if (process.env.WARDEN_TEST_SHIFT_DAYS && process.env.WARDEN_TEST_SHIFT_DAYS !== '0') {
  await import(new URL('./shiftedClock.mjs', import.meta.url).href);
  const hook = `--import=${new URL('./shiftedClock.mjs', import.meta.url).href}`;
  if (!(process.env.NODE_OPTIONS ?? '').includes(hook)) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} ${hook}`.trim();
} else if (process.env.WARDEN_TEST_CLOCK_MARKS) {
  const { watchClock } = (await import(new URL('./clockReaders.mjs', import.meta.url).href)) as { watchClock: (file: string, marks: string) => void };
  watchClock(expect.getState().testPath ?? 'unknown', process.env.WARDEN_TEST_CLOCK_MARKS);
}
