import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The 30 s deadline is always simulated; a test that needs more than this is broken.
    testTimeout: 10_000,
    pool: 'threads',
    // Moves the wall clock when WARDEN_TEST_SHIFT_DAYS is set (npm run test:shifted); a no-op otherwise.
    setupFiles: ['./test/support/shiftedClock.ts'],
    reporters: ['default', './test/support/summaryReporter.ts'],
  },
});
