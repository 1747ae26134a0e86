import { describe, expect, it } from 'vitest';
import { crashTrial } from './trial.js';

describe('crash: SIGKILL a real engine process at random points, restart, recover', () => {
  const unfinished: number[] = [];
  for (const seed of [11, 23, 47, 89]) {
    it(`seed ${seed}: no duplicate or excess order, every execution final, every fill protected or flagged, nothing journaled lost`, async () => {
      const outcome = await crashTrial(seed);
      expect(outcome.problems).toEqual([]);
      expect(outcome.recordsBeforeKill).toBeGreaterThan(0);
      unfinished.push(outcome.unfinishedAtKill);
    }, 60_000);
  }
  it('the kills landed mid-execution: recovery had work to resume', () => {
    expect(unfinished.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
