/**
 * After an unshifted run, writes which test files saw the wall clock (test/support/clockReaders.mjs)
 * to `.cache/test-clock/readers.json`, with every file the run took and whether it passed, for
 * scripts/testShifted.mjs. Shifted runs and runs without the watch write nothing.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Marks of this run only (a run beside it has its own). */
export const CLOCK_MARKS = join(ROOT, `.cache/test-clock/marks-${process.pid}.jsonl`);
export const CLOCK_READERS = join(ROOT, '.cache/test-clock/readers.json');

/** What the shifted passes read: the run's files, which of them saw the wall clock, and why. */
export type ClockReaders = { readonly at: string; readonly passed: boolean; readonly files: string[]; readonly readers: Record<string, string> };

export default class ClockReadersReporter implements Reporter {
  private readonly on = process.env.WARDEN_TEST_CLOCK_MARKS !== undefined && !process.env.WARDEN_TEST_SHIFT_DAYS;

  onInit(): void {
    if (!this.on) return;
    mkdirSync(dirname(CLOCK_MARKS), { recursive: true });
    rmSync(CLOCK_READERS, { force: true });
    writeFileSync(CLOCK_MARKS, '');
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>, reason: TestRunEndReason): void {
    if (!this.on) return;
    const root = ROOT;
    const readers: Record<string, string> = {};
    for (const line of readFileSync(CLOCK_MARKS, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const { file, why } = JSON.parse(line) as { file: string; why: string };
      readers[relative(root, file)] ??= why;
    }
    const record: ClockReaders = {
      at: new Date().toISOString(),
      passed: reason === 'passed' && errors.length === 0,
      files: testModules.map((m) => relative(root, m.moduleId)).sort(),
      readers,
    };
    writeFileSync(CLOCK_READERS, `${JSON.stringify(record, null, 2)}\n`);
    rmSync(CLOCK_MARKS, { force: true });
  }
}
