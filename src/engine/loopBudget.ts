/**
 * The engine's share of the event loop. Starting an execution costs a few hundred µs of CPU, and
 * so does taking in a broker's answer (journal it, check it, move the statechart). Within a turn
 * of the event loop both run at once while the turn's slice (LOOP_SLICE_MS) lasts. Beyond it, or
 * while anything waits, they queue: answers and pushed reports in arrival order, before any new
 * execution starts, one per turn of the loop. Each runs to the end of its promise jobs before the
 * next is let in, so answers are taken in exactly in the order they arrived (a position read
 * before a fill is pushed is taken in before that fill), and timers, I/O and the host's own work
 * get a turn between any two of them. Ten thousand answers landing in one timers phase cost ten
 * thousand queue entries in that phase; the work itself is spread over the turns that follow.
 *
 * Time limits are unaffected: a broker call's limit is decided when its answer arrives, before it
 * waits here; only what Warden does with it is paced.
 */

/** How long Warden's work may run back to back within one turn of the event loop. */
export const LOOP_SLICE_MS = 5;

// Captured when the module loads: the slice is real time and a turn is a real turn of the event
// loop, whatever fake timers a host's test installs later (they would make a jump of simulated
// time look like a spent slice, and hold the queued work until simulated time moves again).
const nextTurn = globalThis.setImmediate;
const now = performance.now.bind(performance);

/** Paced work waiting for a later turn, across every engine of the process (see `VirtualClock`). */
let backlog = 0;
/** How much paced work waits for a later turn of the event loop, over all engines of this process. */
export const pacedBacklog = (): number => backlog;

export interface LoopBudget {
  /** Runs `start` now if the current slice has time left and nothing waits, else in a later turn. */
  admit<T>(start: () => Promise<T>): Promise<T>;
  /**
   * Called when a broker's answer or pushed report is in: undefined to take it in at once, or a
   * promise that resolves when its turn comes (in arrival order, before any waiting execution starts).
   */
  pace(): Promise<void> | undefined;
}

export function createLoopBudget(sliceMs: number = LOOP_SLICE_MS): LoopBudget {
  const answers: (() => void)[] = [];
  const starts: (() => void)[] = [];
  let sliceStartedAt: number | null = null;
  let pumping = false;
  const closeSlice = () => {
    sliceStartedAt = null;
  };
  /** Whether work may run at once: nothing waits, and this turn's slice has time left. */
  const runsNow = (): boolean => {
    if (sliceStartedAt === null) {
      sliceStartedAt = now();
      nextTurn(closeSlice);
    }
    return answers.length === 0 && starts.length === 0 && now() - sliceStartedAt < sliceMs;
  };
  /** Lets one waiting item in per turn: its promise jobs all run before the next turn's. */
  const pump = () => {
    const next = answers.length > 0 ? answers.shift() : starts.shift();
    if (next !== undefined) {
      backlog--;
      next();
    }
    if (answers.length > 0 || starts.length > 0) nextTurn(pump);
    else pumping = false;
  };
  const wait = (queue: (() => void)[], item: () => void) => {
    queue.push(item);
    backlog++;
    if (!pumping) {
      pumping = true;
      nextTurn(pump);
    }
  };
  return {
    admit<T>(start: () => Promise<T>): Promise<T> {
      if (runsNow()) return start();
      return new Promise<T>((resolve, reject) => wait(starts, () => void start().then(resolve, reject)));
    },
    pace() {
      if (runsNow()) return undefined;
      return new Promise<void>((resolve) => wait(answers, resolve));
    },
  };
}
