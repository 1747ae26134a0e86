/**
 * The engine's share of the event loop. Starting an execution costs a few hundred µs of CPU, and
 * so does taking in a broker's answer (journal it, check it, move the statechart). Within a turn
 * of the event loop both run at once while the turn's slice (LOOP_SLICE_MS) lasts. Beyond it, or
 * while anything waits, they queue: answers and pushed reports in arrival order, before any new
 * execution starts. The next turns let them in one at a time, as many per turn as fit in the
 * slice. Each runs to the end of its promise jobs before the next is let in, so what reached the
 * engine in separate turns is taken in in that order, and timers, I/O and the host's own work get
 * their turn between two slices. (What an adapter hands over within one task can still arrive in
 * either order; reconciliation allows for it, see `ReconcileAnswer.others`.)
 * Ten thousand answers landing in one timers phase cost ten thousand queue entries in that phase;
 * the work itself is spread over the turns that follow.
 *
 * A broker call's time limit is decided when its answer arrives, before it waits here. An
 * execution's own timers (the 30 s deadline, retry pauses) wait in the same line when they fall
 * due (src/engine/mailbox.ts, `timersOf`): an answer that came before the deadline is
 * taken in before it.
 *
 * The kill switch's fan-out pauses the line while it requests its cancels (`pause`), and tells the
 * executions ahead of every waiting answer (`soon`); its own cancels' answers wait in line like
 * any other. So every cancel is requested, and every execution told, before any answer is taken
 * in, however fast the venue answers: a venue that answers at once cannot make the last order
 * hear later, nor hold the loop for the whole fleet's answers.
 */

/** How long an engine's work may run back to back within one turn of the event loop. */
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
   * Asked by the executions' mailbox (src/engine/mailbox.ts) when anything bound for one is in (a
   * broker's answer, a push, a timer): undefined to take it in at once, or a promise that resolves
   * when its turn comes (in arrival order, before any waiting execution starts).
   */
  pace(): Promise<void> | undefined;
  /**
   * `pace` without a promise: runs `takeIn` at once when `pace` would say so, else queues it in the
   * same line (arrival order). For thousands of answers landing at once (a kill switch's cancels),
   * one function queued each, not a chain of promises. A throw is the item's own: it is swallowed.
   */
  queue(takeIn: () => void): void;
  /**
   * Queues a small, urgent task (telling an execution of a kill switch change) for the next
   * turns, ahead of every waiting answer and start.
   */
  soon(task: () => void): void;
  /**
   * Lets nothing in until the returned function is called: every start, answer, push and timer
   * that arrives meanwhile waits in line. The kill switch's fan-out pauses the engine while it
   * requests its cancels, so no answer reaches an execution before the last cancel is requested.
   */
  pause(): () => void;
}

/** The first guess at what letting one waiting item in costs, before any has been measured. */
const FIRST_ITEM_COST_MS = 0.1;
/** At most this many waiting items are let in per turn, however cheap they have been. */
const MAX_ITEMS_PER_TURN = 1_000;

export function createLoopBudget(sliceMs: number = LOOP_SLICE_MS): LoopBudget {
  const urgent: (() => void)[] = [];
  const answers: (() => void)[] = [];
  const starts: (() => void)[] = [];
  const waiting = () => urgent.length + answers.length + starts.length;
  /** Pauses in force (see `pause`): while any is, nothing is let in. */
  let paused = 0;
  let sliceStartedAt: number | null = null;
  const closeSlice = () => {
    sliceStartedAt = null;
  };
  /** Whether work may run at once: nothing waits, and this turn's slice has time left. */
  const runsNow = (): boolean => {
    if (sliceStartedAt === null) {
      sliceStartedAt = now();
      nextTurn(closeSlice);
    }
    return paused === 0 && waiting() === 0 && now() - sliceStartedAt < sliceMs;
  };

  // Waiting items are let in by rounds: one callback per item, all queued for the same turn of
  // the loop, so each item's promise jobs run to the end before the next item is let in (Node
  // drains them between two such callbacks), and a journal writing in batches still gets a whole
  // round's records in one batch. A round stops letting items in once the slice is spent; the
  // number of callbacks per round follows what items have cost so far.
  let pumping = false;
  let roundLeft = 0;
  let roundStartedAt: number | null = null;
  let roundLetIn = 0;
  let itemCostMs = FIRST_ITEM_COST_MS;
  const startRound = () => {
    roundLeft = Math.max(1, Math.min(waiting(), MAX_ITEMS_PER_TURN, Math.ceil(sliceMs / itemCostMs)));
    for (let i = 0; i < roundLeft; i++) nextTurn(letOneIn);
  };
  const letOneIn = () => {
    if (roundStartedAt === null) {
      roundStartedAt = now();
      roundLetIn = 0;
    }
    const last = --roundLeft === 0;
    try {
      // At least one item per round, however small the slice; none while paused.
      if (paused === 0 && (roundLetIn === 0 || now() - roundStartedAt < sliceMs)) {
        const next = urgent.length > 0 ? urgent.shift() : answers.length > 0 ? answers.shift() : starts.shift();
        if (next !== undefined) {
          backlog--;
          roundLetIn++;
          try {
            next();
          } catch {
            // an item's own failure (a queued `takeIn` that threw): the line goes on
          }
        }
      }
    } finally {
      // The last callback of the round: the cost of an item so far, and the next round if anything
      // waits — whatever the item did, so nothing that waits is ever left behind.
      if (last) {
        if (roundLetIn > 0) itemCostMs = Math.max(0.001, (now() - roundStartedAt) / roundLetIn);
        roundStartedAt = null;
        // Paused: the pump stops here, and the end of the pause starts it again.
        if (waiting() > 0 && paused === 0) startRound();
        else pumping = false;
      }
    }
  };
  const wait = (queue: (() => void)[], item: () => void) => {
    queue.push(item);
    backlog++;
    if (!pumping && paused === 0) {
      pumping = true;
      startRound();
    }
  };
  return {
    admit<T>(start: () => Promise<T>): Promise<T> {
      if (runsNow()) return start();
      return new Promise<T>((resolve, reject) =>
        wait(starts, () => {
          try {
            start().then(resolve, reject);
          } catch (e) {
            reject(e); // a start that throws fails its own execution, not the line behind it
          }
        }),
      );
    },
    pace() {
      if (runsNow()) return undefined;
      return new Promise<void>((resolve) => wait(answers, resolve));
    },
    queue(takeIn) {
      if (paused > 0 || !runsNow()) {
        wait(answers, takeIn);
        return;
      }
      try {
        takeIn();
      } catch {
        // the item's own failure, as a rejected `pace` chain would be: the line goes on
      }
    },
    soon(task) {
      wait(urgent, task);
    },
    pause() {
      paused++;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        if (--paused === 0 && waiting() > 0 && !pumping) {
          pumping = true;
          startRound();
        }
      };
    },
  };
}
