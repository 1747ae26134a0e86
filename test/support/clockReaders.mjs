// Notes which test files can see the wall clock, so the shifted passes (scripts/testShifted.mjs)
// run exactly those. Loaded by test/support/shiftedClock.ts in the unshifted pass when
// WARDEN_TEST_CLOCK_MARKS names a file. A test file is marked when code outside node_modules reads
// `Date.now()` or `new Date()` (what the shift moves), or when anything in it starts a process or a
// worker thread (which may read the clock where this process cannot see). A file that is never
// marked ran without the wall clock: moving the clock cannot change what it does.
import { appendFileSync } from 'node:fs';
import childProcess from 'node:child_process';
import workerThreads from 'node:worker_threads';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The test file being watched in this thread, and whether it has been marked yet. */
const watched = { file: '', marksFile: '', marked: false };

/** Watches for `testFile` (each file in turn, when a thread runs several); marks are appended to `marksFile`. */
export function watchClock(testFile, marksFile) {
  Object.assign(watched, { file: testFile, marksFile, marked: false });
  if (globalThis.Date.clockWatched !== true) install();
}

function mark(why) {
  if (watched.marked) return;
  watched.marked = true;
  appendFileSync(watched.marksFile, `${JSON.stringify({ file: watched.file, why })}\n`);
}

// The first frame from the project's own code (not a dependency, not this watch), if the project read the clock.
const own = new RegExp(`${escape(ROOT)}(src|machines|test|examples|scripts|bench)/`);
function fromProject() {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const frames = stack.split('\n').slice(2);
  // A log line's timestamp is written, never read back by the code under test.
  if (frames.some((line) => line.includes('/node_modules/pino/lib/time.js'))) return undefined;
  return frames.find((line) => own.test(line) && !line.includes('/test/support/clockReaders') && !line.includes('/test/support/shiftedClock'))?.trim();
}

/**
 * Whether a child may read a shifted clock: the shift reaches node processes only (NODE_OPTIONS), so
 * a node script, a package runner or a shell (which may start node) counts; PostgreSQL or a browser
 * reads the real clock in every pass and cannot make a pass differ.
 */
function startsNode(call, file) {
  if (call === 'fork' || call === 'exec' || call === 'execSync') return true;
  const path = String(file);
  if (path === process.execPath) return true;
  const name = path.split(/[\\/]/).pop() ?? path;
  return /^(node|npx|npm|tsx|vitest|sh|bash|dash|zsh|env)$/.test(name) || /\.(c|m)?(j|t)s$/.test(name);
}

function install() {
  const RealDate = globalThis.Date;
  class WatchedDate extends RealDate {
    static clockWatched = true;
    constructor(...args) {
      const frame = args.length === 0 && !watched.marked ? fromProject() : undefined;
      if (frame !== undefined) mark(`new Date() ${frame}`);
      if (args.length === 0) super();
      else super(...args);
    }
    static now() {
      const frame = watched.marked ? undefined : fromProject();
      if (frame !== undefined) mark(`Date.now() ${frame}`);
      return RealDate.now();
    }
  }
  globalThis.Date = WatchedDate;
  for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
    const real = childProcess[name];
    const note = (args) => {
      if (startsNode(name, args[0])) mark(`child_process.${name} ${String(args[0])}`);
    };
    const watchedCall = function (...args) {
      note(args);
      return real.apply(this, args);
    };
    // Keeps what hangs on the function; exec's and execFile's promisified forms are watched too.
    const { [promisify.custom]: promised, ...own } = Object.getOwnPropertyDescriptors(real);
    Object.defineProperties(watchedCall, own);
    if (promised !== undefined && typeof promised.value === 'function') {
      const custom = promised.value;
      Object.defineProperty(watchedCall, promisify.custom, {
        value(...args) {
          note(args);
          return custom.apply(this, args);
        },
      });
    }
    childProcess[name] = watchedCall;
  }
  const RealWorker = workerThreads.Worker;
  workerThreads.Worker = class extends RealWorker {
    constructor(...args) {
      mark('worker_threads.Worker');
      super(...args);
    }
  };
  syncBuiltinESMExports();
}
