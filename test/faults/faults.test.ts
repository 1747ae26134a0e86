import fc from 'fast-check';
import { describe, it } from 'vitest';
import { faultProperty } from '../support/faults.js';

describe('randomized broker faults and interleavings (fixed seed; `npm run soak` for many more)', () => {
  it('every invariant holds for any broker script and any order of answers', async () => {
    await fc.assert(faultProperty(), { seed: 20261124, numRuns: 300 });
  }, 180_000); // 300 CPU-bound runs: the bound catches a hang, not slowness on a loaded machine
});
