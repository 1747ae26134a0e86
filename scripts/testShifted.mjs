// The suite a year ahead and a year back (npm run test:shifted). A test file that neither read the
// wall clock nor started a process in the unshifted run just before (recorded by
// test/support/clockReaders.mjs) cannot act differently when the clock moves, so only the files
// that did are run again. Without a complete, passing, up-to-date record of the whole suite, or
// with WARDEN_TEST_SHIFTED=all, every file runs.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SHIFTS = [366, -366];

/** Every file under `dir` (relative to `root`), skipping dependencies and dot folders. */
function walk(root, dir, keep) {
  if (!existsSync(join(root, dir))) return [];
  const out = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) out.push(...walk(root, path, keep));
    } else if (keep(path)) out.push(path);
  }
  return out;
}

/**
 * The test files to run shifted under `root`, or `files: null` for all of them, and why. Reads
 * `.cache/test-clock/readers.json`, written by test/support/clockReadersReporter.ts.
 */
export function chooseShifted(root, env = process.env) {
  const readers = join(root, '.cache/test-clock/readers.json');
  if (env.WARDEN_TEST_SHIFTED === 'all') return { files: null, why: 'WARDEN_TEST_SHIFTED=all' };
  if (!existsSync(readers)) return { files: null, why: 'no record of an unshifted run' };
  let record;
  try {
    record = JSON.parse(readFileSync(readers, 'utf8'));
  } catch {
    return { files: null, why: 'the record of the unshifted run cannot be read' };
  }
  if (record.passed !== true || !Array.isArray(record.files) || typeof record.readers !== 'object' || record.readers === null) return { files: null, why: 'the unshifted run did not pass' };
  const tests = walk(root, 'test', (p) => p.endsWith('.test.ts')).sort();
  const missing = tests.filter((t) => !record.files.includes(t));
  if (missing.length > 0) return { files: null, why: `the unshifted run did not take ${missing.length} test file(s), e.g. ${missing[0]}` };
  const written = statSync(readers).mtimeMs;
  const newer = ['src', 'machines', 'test', 'examples', 'scripts'].flatMap((d) => walk(root, d, () => true)).find((p) => statSync(join(root, p)).mtimeMs > written);
  if (newer !== undefined) return { files: null, why: `${newer} changed after the unshifted run` };
  const files = tests.filter((t) => record.readers[t] !== undefined);
  return { files, why: `${files.length} of ${tests.length} test files read the wall clock or started a process in the unshifted run` };
}

function main() {
  const root = fileURLToPath(new URL('../', import.meta.url));
  const { files, why } = chooseShifted(root);
  for (const days of SHIFTS) {
    const label = `${days > 0 ? '+' : ''}${days} days`;
    if (files !== null && files.length === 0) {
      console.log(`test:shifted ${label}: nothing to run (${why})`);
      continue;
    }
    console.log(`test:shifted ${label}: ${files === null ? `every test file (${why})` : `${why}; running those`}`);
    const run = spawnSync('npx', ['vitest', 'run', ...(files ?? [])], { cwd: root, stdio: 'inherit', env: { ...process.env, WARDEN_TEST_SHIFT_DAYS: String(days) } });
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
