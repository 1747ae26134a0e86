import { defineConfig } from 'vitest/config';
import { CLOCK_MARKS } from './test/support/clockReadersReporter.js';

// An unshifted run notes which test files can see the wall clock; the shifted passes run those.
if (!process.env.WARDEN_TEST_SHIFT_DAYS) process.env.WARDEN_TEST_CLOCK_MARKS = CLOCK_MARKS;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The 30 s deadline is always simulated; a test that needs more than this is broken.
    testTimeout: 10_000,
    pool: 'threads',
    // Moves the wall clock when WARDEN_TEST_SHIFT_DAYS is set (npm run test:shifted); otherwise
    // notes whether each test file reads it (test/support/clockReaders.mjs).
    setupFiles: ['./test/support/shiftedClock.ts'],
    reporters: ['default', './test/support/summaryReporter.ts', './test/support/clockReadersReporter.ts'],
  },
});
