/**
 * The kill switch fan-out (rule 3): when a switch changes, the chart says which running
 * executions' orders it cancels (`killSwitchCancelTarget`); those cancels are requested at once,
 * in batches through the checked broker boundary, before any execution is told, with the engine's
 * loop budget paused: no answer, push or timer is taken in until the last cancel is requested.
 * The executions then hear `KILL_SWITCH` in the next turns of the event loop, through the loop
 * budget ahead of any waiting answer — the fan-out's own answers included, which wait in line like
 * any other, however fast the venue gives them — so the event loop is never held for the whole
 * fleet, and every execution hears before any answer is taken in; an execution
 * is always told first, before anything else reaches it (a broker answer, a push, a poll result,
 * the store's answer to its claim, one of its own timers), so none acts on a switch it has not
 * heard of. Each takes the fan-out's answer as its first cancel's, and stops as always.
 */
import type { SnapshotFrom } from 'xstate';
import { killSwitchCancelTarget, type ExecutionMachine } from '../../machines/execution.machine.js';
import type { ExecutionEvent } from '../../machines/execution.types.js';
import type { CancelItem, CancelOutcome } from '../broker/checkedBroker.js';
import type { Clock } from '../domain/clock.js';
import type { KillSwitchState } from '../domain/constants.js';
import type { OrderRef, OrderReport } from '../domain/schemas.js';
import type { KillSwitchChange } from './killSwitch.js';
import type { LoopBudget } from './loopBudget.js';

/** Orders per batch cancel request: every order of a batch is named in its one journal record. */
const FAN_OUT_BATCH = 1_000;

/** What the fan-out needs of a running execution. */
export interface FanOutTarget {
  readonly symbol: string | null;
  send(event: ExecutionEvent): void;
  snapshot(): SnapshotFrom<ExecutionMachine>;
}

/** A cancel the fan-out requested: its answer once known, or the execution waiting for it. */
interface RequestedCancel {
  outcome: CancelOutcome | null;
  waiting: { resolve: (report: OrderReport) => void; reject: (error: unknown) => void } | null;
}

export interface KillSwitchFanOut {
  /** Delivers to `executionId` every switch change it has not heard yet. Call before anything else reaches it. */
  tell(executionId: string): void;
  /** An execution's own timers: each fires only after it has been told every switch change. */
  timersOf(executionId: string): Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  /** The cancel the fan-out requested for `executionId`, taken once (its first cancel's answer), or undefined. */
  takeRequestedCancel(executionId: string): Promise<OrderReport> | undefined;
  /** Reacts to a switch change: requests the cancels, then has the executions told in the next turns (the loop budget). */
  onChange(change: KillSwitchChange): void;
  /** Forgets a finished execution. */
  forget(executionId: string): void;
}

/**
 * @example
 * const fanOut = createKillSwitchFanOut({ clock, running, stateOf: (s) => board.state(s), cancelOrders: (batch, reason, on) => broker.cancelOrders(batch, reason, on) });
 * board.onChange((change) => fanOut.onChange(change));
 */
export function createKillSwitchFanOut(deps: {
  readonly clock: Clock;
  readonly running: ReadonlyMap<string, FanOutTarget>;
  /** The effective switch for a symbol (null: the global one). */
  readonly stateOf: (symbol: string | undefined) => KillSwitchState;
  /**
   * Sends a batch of cancels through the checked boundary; `onOutcome` hears each item's answer (in
   * its turn of the loop budget). A returned promise: the sends wait for their record, and are made when it settles.
   */
  readonly cancelOrders: (batch: readonly CancelItem[], reason: string, onOutcome: (index: number, outcome: CancelOutcome) => void) => Promise<void> | undefined | void;
  /**
   * The engine's loop budget: executions are told in its turns, ahead of waiting answers, and an
   * execution's own timers wait in line like its answers (a timer that falls due while answers that
   * came before it wait is taken in after them).
   */
  readonly loop: Pick<LoopBudget, 'pace' | 'soon' | 'pause'>;
}): KillSwitchFanOut {
  const { clock, running } = deps;
  /** Switch events not yet told to an execution, in order. */
  const untold = new Map<string, ExecutionEvent[]>();
  /** Cancels requested, until each execution's stopping takes its own. No promise per order until one is taken. */
  const requestedCancels = new Map<string, RequestedCancel>();

  const tell = (executionId: string): void => {
    const events = untold.get(executionId);
    if (events === undefined) return;
    untold.delete(executionId);
    const r = running.get(executionId);
    if (r) for (const ev of events) r.send(ev);
  };

  return {
    tell,
    timersOf: (executionId) => ({
      setTimeout: (fn: () => void, ms: number) => {
        const timer = { cancelled: false, handle: undefined as unknown };
        const due = () => {
          if (timer.cancelled) return;
          tell(executionId);
          // Telling may have ended the state that set this timer.
          if (!timer.cancelled) fn();
        };
        timer.handle = clock.setTimeout(() => {
          const turn = deps.loop.pace();
          if (turn) void turn.then(due);
          else due();
        }, ms);
        return timer;
      },
      clearTimeout: (handle: unknown) => {
        const timer = handle as { cancelled: boolean; handle: unknown };
        timer.cancelled = true;
        clock.clearTimeout(timer.handle);
      },
    }),
    takeRequestedCancel(executionId) {
      const requested = requestedCancels.get(executionId);
      if (requested === undefined) return undefined;
      requestedCancels.delete(executionId);
      const known = requested.outcome;
      if (known) return 'report' in known ? Promise.resolve(known.report) : Promise.reject(known.error);
      return new Promise<OrderReport>((resolve, reject) => (requested.waiting = { resolve, reject }));
    },
    onChange(change) {
      // Nothing is taken in until every cancel below is requested: an answer, a push or a timer
      // that arrives meanwhile waits in line (behind the tells queued here).
      const resume = deps.loop.pause();
      const sending: Promise<void>[] = [];
      try {
        requestCancels(change, sending);
      } finally {
        if (sending.length === 0) resume();
        else void Promise.allSettled(sending).then(resume);
      }
    },
    forget(executionId) {
      untold.delete(executionId);
      requestedCancels.delete(executionId);
    },
  };

  function requestCancels(change: KillSwitchChange, sending: Promise<void>[]): void {
    // Earlier changes first, to everyone: each decision below reads an execution that knows them.
    for (const id of untold.keys()) tell(id);
    const cancels: CancelItem[] = [];
    for (const [executionId, r] of running) {
      if (change.symbol !== null && change.symbol !== r.symbol) continue;
      const state = deps.stateOf(r.symbol ?? undefined);
      const ref: OrderRef | null = killSwitchCancelTarget(r.snapshot(), state);
      if (ref !== null) cancels.push({ executionId, ref });
      const events = untold.get(executionId);
      const event: ExecutionEvent = ref === null ? { type: 'KILL_SWITCH', state } : { type: 'KILL_SWITCH', state, cancelRequested: true };
      if (events) events.push(event);
      else {
        untold.set(executionId, [event]);
        // Told in a later turn, unless something bound for it tells it first.
        deps.loop.soon(() => tell(executionId));
      }
    }
    // A journal record lists at most FAN_OUT_BATCH orders (payloads keep the first 1,000 of an array).
    for (let from = 0; from < cancels.length; from += FAN_OUT_BATCH) {
      const batch = cancels.slice(from, from + FAN_OUT_BATCH);
      // Registered before anything is sent: a report the adapter pushes while the batch goes out
      // waits for the pause to end; its execution then hears of the switch, and takes this cancel.
      const requested = batch.map(({ executionId }) => {
        const r: RequestedCancel = { outcome: null, waiting: null };
        requestedCancels.set(executionId, r);
        return r;
      });
      const sent = deps.cancelOrders(batch, `kill switch ${change.symbol ?? 'global'} ${change.from}->${change.to}`, (i, outcome) => {
        const r = requested[i]!;
        if (r.waiting === null) r.outcome = outcome;
        else if ('report' in outcome) r.waiting.resolve(outcome.report);
        else r.waiting.reject(outcome.error);
      });
      if (sent) sending.push(sent);
    }
  }
}
