/**
 * The kill switch fan-out (rule 3): when a switch changes, the chart says which running
 * executions' orders it cancels (`killSwitchCancelTarget`); those cancels are requested in
 * batches through the checked broker boundary, then every execution hears `KILL_SWITCH`, all
 * with the engine's loop budget paused: no answer, push or timer is taken in until every cancel
 * is requested and every execution told — the fan-out's own answers included, which wait in line
 * like any other, however fast the venue gives them. The work is done a few ms at a time, one
 * turn of the event loop after another (the first inside `set()`), so the loop is never held for
 * the whole fleet. An execution is always told first, before anything else reaches it (a broker
 * answer, a push, a poll result, the store's answer to its claim, one of its own timers), so none
 * acts on a switch it has not heard of. Each takes the fan-out's answer as its first cancel's, and
 * stops as always.
 */
import type { SnapshotFrom } from 'xstate';
import { killSwitchCancelTarget, type ExecutionMachine } from '../../machines/execution.machine.js';
import type { ExecutionEvent } from '../../machines/execution.types.js';
import type { CancelItem, CancelOutcome } from '../broker/checkedBroker.js';
import { KillSwitchState } from '../domain/constants.js';
import type { OrderRef, OrderReport } from '../domain/schemas.js';
import type { KillSwitchChange } from './killSwitch.js';
import type { LoopBudget } from './loopBudget.js';

/** Orders per batch cancel request: every order of a batch is named in its one journal record. */
const FAN_OUT_BATCH = 1_000;
/**
 * How long one turn of the fan-out may hold the event loop: deciding orders for half of it, then
 * sending them (which costs about as much again); or telling executions. Well under the 10 ms a
 * kill switch over 1,000 orders may hold the loop, room left for a garbage collection.
 */
const FAN_OUT_TURN_MS = 3;
/** Running executions looked at (and decided, if the change concerns them) between two looks at the time. */
const STRIDE = 16;

// Real turns and real time, whatever fake timers a host's test installs (as in loopBudget.ts).
const nextTurn = globalThis.setImmediate;
const now = () => performance.now();

/**
 * The events an execution is told: one frozen object per switch state and cancel flag, shared by
 * every execution (a chart only reads its events), so telling thousands allocates none.
 */
const EVENTS = new Map<KillSwitchState, readonly [ExecutionEvent, ExecutionEvent]>();
function killSwitchEvent(state: KillSwitchState, cancelRequested: boolean): ExecutionEvent {
  let pair = EVENTS.get(state);
  if (pair === undefined) EVENTS.set(state, (pair = [Object.freeze({ type: 'KILL_SWITCH', state }), Object.freeze({ type: 'KILL_SWITCH', state, cancelRequested: true })]));
  return pair[cancelRequested ? 1 : 0];
}

/**
 * What the fan-out keeps on a running execution, on the execution's own entry: a field rather than
 * three maps keyed by its id, so deciding and telling thousands costs no look-up and no map growth.
 */
export interface FanOutSlot {
  /** The last change (job number) that decided it. */
  decidedBy: number;
  /** Switch events not yet told, in order: one, or several. */
  untold: ExecutionEvent | ExecutionEvent[] | null;
  /** The cancel the fan-out requested, until the execution's stopping takes it. */
  requested: RequestedCancel | null;
  /**
   * The order an `active` switch cancels as of the snapshot `seen`, worked out as the execution
   * stepped there (its state then still in the processor's cache): deciding reads it instead of the
   * snapshot's parts, for as long as the snapshot is the one seen.
   */
  seen: SnapshotFrom<ExecutionMachine> | null;
  target: OrderRef | null;
}

const newSlot = (): FanOutSlot => ({ decidedBy: 0, untold: null, requested: null, seen: null, target: null });

/**
 * Called with each snapshot an execution steps to: remembers the order an `active` switch would
 * have the fan-out cancel (`killSwitchCancelTarget`), so a fan-out over thousands of executions
 * reads one field each. Never trusted for another snapshot than the one it was worked out from.
 *
 * @example
 * actor.subscribe({ next: (snapshot) => rememberCancelTarget(entry, snapshot) });
 */
export function rememberCancelTarget(target: FanOutTarget, snapshot: SnapshotFrom<ExecutionMachine>): void {
  const slot = (target.fanOut ??= newSlot());
  try {
    slot.target = killSwitchCancelTarget(snapshot, KillSwitchState.Active);
    slot.seen = snapshot;
  } catch {
    slot.seen = null;
  }
}

/** What the fan-out needs of a running execution. */
export interface FanOutTarget {
  readonly symbol: string | null;
  send(event: ExecutionEvent): void;
  snapshot(): SnapshotFrom<ExecutionMachine>;
  /** The fan-out's own bookkeeping of this execution, set by the fan-out alone. */
  fanOut?: FanOutSlot;
}

/** A switch change being fanned out, a turn of the event loop at a time. */
interface FanOutJob {
  /** Tells jobs apart: an execution this job decided carries its number. */
  readonly id: number;
  readonly change: KillSwitchChange;
  readonly reason: string;
  /** Each scope's switch state as of the change: later turns decide with it, whatever came since. */
  readonly states: Map<string | null, KillSwitchState>;
  /** The running executions, walked over the turns (a live iterator). */
  readonly targets: Iterator<[string, FanOutTarget]>;
  /** Deciding and sending; then, once every send is made, telling. */
  phase: 'deciding' | 'sending' | 'telling';
  /** The cancels decided and not yet sent, and their executions' places. */
  batch: CancelItem[];
  requested: RequestedCancel[];
  /** Sends waiting for their record (a durable journal). */
  readonly sending: Promise<void>[];
  /** Executions to tell, in order (a change that came before this one first), and the next one's place. */
  readonly toTell: FanOutTarget[];
  next: number;
  /** Ends the pauses of this change and of any it took over. */
  readonly resumes: (() => void)[];
}

/** A cancel the fan-out requested: its answer once known, or the execution waiting for it. */
export interface RequestedCancel {
  outcome: CancelOutcome | null;
  waiting: { resolve: (report: OrderReport) => void; reject: (error: unknown) => void } | null;
}

export interface KillSwitchFanOut {
  /** Delivers to `executionId` every switch change it has not heard yet. Call before anything else reaches it. */
  tell(executionId: string): void;
  /** The cancel the fan-out requested for `executionId`, taken once (its first cancel's answer), or undefined. */
  takeRequestedCancel(executionId: string): Promise<OrderReport> | undefined;
  /** Reacts to a switch change: requests the cancels, then tells the executions, a few ms a turn, the loop budget paused until the last is told. */
  onChange(change: KillSwitchChange): void;
  /** Forgets a finished execution. */
  forget(executionId: string): void;
}

/**
 * @example
 * const fanOut = createKillSwitchFanOut({ running, stateOf: (s) => board.state(s), cancelOrders: (batch, reason, on) => broker.cancelOrders(batch, reason, on) });
 * board.onChange((change) => fanOut.onChange(change));
 */
export function createKillSwitchFanOut(deps: {
  readonly running: ReadonlyMap<string, FanOutTarget>;
  /** The effective switch for a symbol (null: the global one). */
  readonly stateOf: (symbol: string | undefined) => KillSwitchState;
  /**
   * Sends a batch of cancels through the checked boundary; `onOutcome` hears each item's answer (in
   * its turn of the loop budget). A returned promise: the sends wait for their record, and are made when it settles.
   */
  readonly cancelOrders: (batch: readonly CancelItem[], reason: string, onOutcome: (index: number, outcome: CancelOutcome) => void) => Promise<void> | undefined | void;
  /**
   * The engine's loop budget, paused while a change is fanned out; a task queued there (`soon`,
   * ahead of any answer) keeps the fan-out's work visible as the engine's backlog.
   */
  readonly loop: Pick<LoopBudget, 'soon' | 'pause'>;
}): KillSwitchFanOut {
  const { running } = deps;
  /** The change being fanned out, over several turns of the event loop. */
  let job: FanOutJob | null = null;
  let jobs = 0;

  /** Sends an execution the switch events it has not heard yet, in order. */
  const tellTarget = (r: FanOutTarget): void => {
    const slot = r.fanOut;
    if (slot === undefined || slot.untold === null) return;
    const events = slot.untold;
    slot.untold = null;
    if (Array.isArray(events)) for (const ev of events) r.send(ev);
    else r.send(events);
  };

  const tell = (executionId: string): void => {
    const r = running.get(executionId);
    if (r === undefined) return;
    // Something is bound for an execution the fan-out has not decided yet: decide it first.
    if (job !== null && job.phase === 'deciding' && r.fanOut?.decidedBy !== job.id && inScope(job, r)) decide(job, executionId, r);
    tellTarget(r);
  };

  return {
    tell,
    takeRequestedCancel(executionId) {
      const slot = running.get(executionId)?.fanOut;
      const requested = slot?.requested;
      if (slot === undefined || requested === null || requested === undefined) return undefined;
      slot.requested = null;
      const known = requested.outcome;
      if (known) return 'report' in known ? Promise.resolve(known.report) : Promise.reject(known.error);
      return new Promise<OrderReport>((resolve, reject) => (requested.waiting = { resolve, reject }));
    },
    onChange(change) {
      // A change that comes while the last one is fanned out: the last one's cancels are all
      // requested first, and its executions still to tell are told before this change's.
      const previous = job;
      if (previous !== null && previous.phase === 'deciding') step(previous, Infinity);
      // Nothing is taken in until every cancel below is requested and every execution told: an
      // answer, a push or a timer that arrives meanwhile waits in line.
      const resume = deps.loop.pause();
      try {
        job = startJob(change, previous, resume);
      } catch (e) {
        resume();
        throw e;
      }
      // Waits in the loop budget's line, ahead of any answer: the fan-out's work counts as the
      // engine's backlog, and whatever it has not told when the pause ends is told there.
      const j = job;
      deps.loop.soon(() => {
        while (j.next < j.toTell.length) tellTarget(j.toTell[j.next++]!);
      });
      // The first turn's share now, inside set(); the rest in the next turns.
      step(job, FAN_OUT_TURN_MS);
    },
    forget(executionId) {
      const slot = running.get(executionId)?.fanOut;
      if (slot === undefined) return;
      slot.untold = null;
      slot.requested = null;
    },
  };

  function inScope(j: FanOutJob, r: FanOutTarget): boolean {
    return j.change.symbol === null || j.change.symbol === r.symbol;
  }

  function startJob(change: KillSwitchChange, previous: FanOutJob | null, resume: () => void): FanOutJob {
    const states = new Map<string | null, KillSwitchState>();
    for (const r of running.values()) if (!states.has(r.symbol)) states.set(r.symbol, deps.stateOf(r.symbol ?? undefined));
    return {
      id: ++jobs,
      change,
      reason: `kill switch ${change.symbol ?? 'global'} ${change.from}->${change.to}`,
      states,
      targets: running.entries(),
      phase: 'deciding',
      batch: [],
      requested: [],
      sending: previous ? [...previous.sending] : [],
      toTell: previous ? previous.toTell.slice(previous.next) : [],
      next: 0,
      resumes: previous ? [...previous.resumes, resume] : [resume],
    };
  }

  /** Decides one execution: the order its switch cancels (queued for the batch), and the event it is told in a later turn. */
  function decide(j: FanOutJob, executionId: string, r: FanOutTarget): void {
    const slot = (r.fanOut ??= newSlot());
    slot.decidedBy = j.id;
    // Earlier changes first: the decision reads an execution that knows them.
    if (slot.untold !== null) tellTarget(r);
    let state = j.states.get(r.symbol);
    if (state === undefined) j.states.set(r.symbol, (state = deps.stateOf(r.symbol ?? undefined)));
    let ref: OrderRef | null = null;
    try {
      const snapshot = r.snapshot();
      ref = state === KillSwitchState.Active && slot.seen === snapshot ? slot.target : killSwitchCancelTarget(snapshot, state);
    } catch {
      // Told without a cancel of the fan-out's: its own chart's rule then cancels the order.
    }
    if (ref !== null) {
      j.batch.push({ executionId, ref });
      // Registered before anything is sent: a report the adapter pushes while the batch goes out
      // waits for the pause to end; its execution then hears of the switch, and takes this cancel.
      const requested: RequestedCancel = { outcome: null, waiting: null };
      slot.requested = requested;
      j.requested.push(requested);
    }
    const event = killSwitchEvent(state, ref !== null);
    // Told by the fan-out in a later turn, unless something bound for it tells it first.
    j.toTell.push(r);
    const untold = slot.untold;
    if (untold === null) slot.untold = event;
    else if (Array.isArray(untold)) untold.push(event);
    else slot.untold = [untold, event];
  }

  /** Sends the cancels decided so far, as one batch (one journal record). */
  function send(j: FanOutJob): void {
    if (j.batch.length === 0) return;
    const batch = j.batch;
    const requested = j.requested;
    j.batch = [];
    j.requested = [];
    const sent = deps.cancelOrders(batch, j.reason, (i, outcome) => {
      const r = requested[i]!;
      if (r.waiting === null) r.outcome = outcome;
      else if ('report' in outcome) r.waiting.resolve(outcome.report);
      else r.waiting.reject(outcome.error);
    });
    if (sent) j.sending.push(sent);
  }

  /**
   * One turn of the fan-out: decides executions for half of `sliceMs` and sends what it decided;
   * or, once every send is made, tells executions for `sliceMs`. Comes back in the next turn while
   * anything is left; the last turn ends the pause.
   */
  function step(j: FanOutJob, sliceMs: number): void {
    const started = now();
    let more = true;
    try {
      if (j.phase === 'deciding') {
        for (let n = 1; ; n++) {
          const next = j.targets.next();
          if (next.done === true) {
            j.phase = 'sending';
            break;
          }
          const [executionId, r] = next.value;
          if (r.fanOut?.decidedBy !== j.id && inScope(j, r)) {
            decide(j, executionId, r);
            if (j.batch.length >= FAN_OUT_BATCH) send(j);
          }
          if (n % STRIDE === 0 && now() - started >= sliceMs / 2) break;
        }
        send(j);
      } else if (j.phase === 'telling') {
        // A tell is a step of the execution's chart and its records: the time is looked at after each.
        while (j.next < j.toTell.length) {
          tellTarget(j.toTell[j.next++]!);
          if (now() - started >= sliceMs) break;
        }
        more = j.next < j.toTell.length;
      }
    } finally {
      // (Telling an execution may have brought a new change, which took this one over.)
      if (job === j) {
        if (j.phase === 'sending') {
          j.phase = 'telling';
          // Told once every send is made (a durable journal: once their record is written).
          if (j.sending.length === 0) nextTurn(() => job === j && step(j, FAN_OUT_TURN_MS));
          else void Promise.allSettled(j.sending).then(() => job === j && step(j, FAN_OUT_TURN_MS));
        } else if (more) nextTurn(() => job === j && step(j, FAN_OUT_TURN_MS));
        else {
          job = null;
          for (const resume of j.resumes) resume();
        }
      }
    }
  }
}
