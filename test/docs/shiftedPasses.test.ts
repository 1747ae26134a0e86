/**
 * The shifted passes (npm run test:shifted) run only the test files that saw the wall clock in the
 * unshifted run. These tests hold the two halves of that bargain: the watch marks every way a file
 * can see the clock (and nothing a file cannot act on), and the runner falls back to every file
 * whenever its record is missing, failed, incomplete or older than the code.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error a plain-JavaScript script without types
import { chooseShifted } from '../../scripts/testShifted.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WATCH = new URL('../support/clockReaders.mjs', import.meta.url).href;

/** Runs `body` in a fresh node process under the watch for 'the-test-file'; returns the marks. */
function marksOf(body: string): { file: string; why: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'warden-clock-'));
  try {
    const marks = join(dir, 'marks.jsonl');
    writeFileSync(marks, '');
    const script = `import { watchClock } from ${JSON.stringify(WATCH)};\nwatchClock('the-test-file', ${JSON.stringify(marks)});\n${body}\n`;
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: { ...process.env, WARDEN_TEST_SHIFT_DAYS: '' } });
    return readFileSync(marks, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { file: string; why: string });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the clock watch', () => {
  it('does not mark a file whose clock reads come only from outside the project', () => {
    expect(marksOf('Date.now(); new Date(); new Date(0);')).toEqual([]);
  });

  it("marks the project's own read of the clock", () => {
    const now = marksOf(`const { systemClock } = await import(${JSON.stringify(new URL('../../src/domain/clock.ts', import.meta.url).href)}); systemClock.now();`);
    expect(now).toHaveLength(1);
    expect(now[0]).toMatchObject({ file: 'the-test-file' });
    expect(now[0]!.why).toMatch(/^Date\.now\(\)/);
  });

  it('marks a file that starts a node process, and leaves the promisified form intact', () => {
    const marks = marksOf(`
      const { promisify } = await import('node:util');
      const { execFile } = await import('node:child_process');
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', 'process.stdout.write("ok")']);
      if (stdout !== 'ok') throw new Error('promisified execFile lost its shape: ' + String(stdout));`);
    expect(marks).toEqual([{ file: 'the-test-file', why: `child_process.execFile ${process.execPath}` }]);
  });

  it('does not mark a process the shift cannot reach (not node, not a shell)', () => {
    expect(marksOf(`(await import('node:child_process')).execFileSync('true');`)).toEqual([]);
  });
});

describe('which files the shifted passes run', () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  /** A project with two test files and a source file, and (optionally) a record written after them. */
  function project(record?: object): string {
    const root = mkdtempSync(join(tmpdir(), 'warden-shifted-'));
    roots.push(root);
    mkdirSync(join(root, 'test/rules'), { recursive: true });
    mkdirSync(join(root, 'src'), { recursive: true });
    mkdirSync(join(root, '.cache/test-clock'), { recursive: true });
    for (const f of ['test/a.test.ts', 'test/rules/b.test.ts', 'src/x.ts']) writeFileSync(join(root, f), '');
    const past = new Date(Date.UTC(2000, 0, 1));
    for (const f of ['test/a.test.ts', 'test/rules/b.test.ts', 'src/x.ts']) utimesSync(join(root, f), past, past);
    if (record) writeFileSync(join(root, '.cache/test-clock/readers.json'), JSON.stringify(record));
    return root;
  }
  const complete = { passed: true, files: ['test/a.test.ts', 'test/rules/b.test.ts'], readers: { 'test/rules/b.test.ts': 'Date.now()' } };

  it('runs only the files that saw the clock, given a complete, passing, current record', () => {
    expect(chooseShifted(project(complete), {}).files).toEqual(['test/rules/b.test.ts']);
  });

  it('runs every file without a record, after a failed run, or when asked to', () => {
    expect(chooseShifted(project(), {}).files).toBeNull();
    expect(chooseShifted(project({ ...complete, passed: false }), {}).files).toBeNull();
    expect(chooseShifted(project(complete), { WARDEN_TEST_SHIFTED: 'all' }).files).toBeNull();
  });

  it('runs every file when the record misses a test file or the code changed after it', () => {
    expect(chooseShifted(project({ ...complete, files: ['test/a.test.ts'] }), {})).toMatchObject({ files: null, why: expect.stringContaining('test/rules/b.test.ts') });
    const root = project(complete);
    const later = new Date(Date.UTC(2100, 0, 1));
    utimesSync(join(root, 'src/x.ts'), later, later);
    expect(chooseShifted(root, {})).toMatchObject({ files: null, why: expect.stringContaining('src/x.ts') });
  });
});
