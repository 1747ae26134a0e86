/**
 * createEngine: the plain-Promise façade over the execution statechart. It wires a broker, a
 * journal, a clock and the kill switch to one actor per execution; it decides nothing itself.
 */
import { randomUUID } from 'node:crypto';
import { createActor, type InspectionEvent, type Observer, type SnapshotFrom } from 'xstate';
import { createExecutionMachine, type AdvisoryRegistry, type ExecutionMachine } from '../../machines/execution.machine.js';
import type { ExecutionContext, ExecutionEvent, ExecutionRecovery } from '../../machines/execution.types.js';
import type { BrokerAdapter } from '../broker/types.js';
import { checkedBroker, type BrokerObserver } from '../broker/checkedBroker.js';
import { BrokerError, describeThrown } from '../broker/errors.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { DEFAULT_POLL_INTERVAL_MS, ErrorCode, ExecutionStage, KillSwitchState, KillSwitchType } from '../domain/constants.js';
import type { ExecutionResult } from '../domain/result.js';
import { MemoryJournal } from '../journal/memoryJournal.js';
import { JournalKind, type Journal, type JournalEntry, type JournalFilter, type JournalRecord, type JournalVerification } from '../journal/types.js';
import { WardenUsageError } from '../domain/errors.js';
import { KillSwitchBoard, type KillSwitchChange, type KillSwitchSetOptions } from './killSwitch.js';
import { createDefaultLogger, type Logger } from './logger.js';
import { restoreFromJournal } from './restore.js';
import { parseSnapshotInput } from '../domain/snapshot.js';
import { PositionLedger } from './ledger.js';
import { createKillSwitchFanOut } from './killSwitchFanOut.js';
import { signedQuantity } from '../rules/protection.js';

/**
 * What {@link createEngine} wires together: a broker, and optionally a journal, a logger, a clock, approvers and polling.
 *
 * @example
 * const options: EngineOptions = { broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }), journal: new MemoryJournal(systemClock, { maxRecords: 10_000 }) };
 * const engine = createEngine(options);
 */
export interface EngineOptions {
  readonly broker: BrokerAdapter;
  /** Where the forensic record goes. Default: in memory. */
  readonly journal?: Journal;
  /** Operational logs (pino). Default: warnings to stderr, credentials redacted. */
  readonly logger?: Logger;
  /** Any XState inspection observer, e.g. `createBrowserInspector().inspect` from @statelyai/inspect. */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /**
   * How often a working order is polled with getOrder: at most this far apart. Default 500 ms. On
   * an adapter that pushes (`subscribe`) this is the interval throughout, a backstop.
   */
  readonly pollIntervalMs?: number;
  /**
   * On an adapter that pushes nothing, the first look-ups of a fresh order are this far apart, and
   * the interval grows with its age up to `pollIntervalMs` (rules/polling.ts). Default 50 ms. Set it
   * to `pollIntervalMs` for a fixed interval, e.g. on a venue whose rate limits cannot take the
   * early look-ups of many orders at once.
   */
  readonly minPollIntervalMs?: number;
  /** Time source for timers and timestamps. Default: Date.now and the global setTimeout. */
  readonly clock?: Clock;
  /**
   * Ed25519 public keys (PEM) of the people who may approve. When set, a snapshot must carry an
   * `approvalSignature` over its hash by one of them (see `signSnapshot`), or it is `not_approved`.
   */
  readonly approvers?: readonly string[];
  /**
   * Resume executions a previous process left unfinished in the journal (default true). An
   * administrative tool that has no broker to talk to turns it off; unfinished work then waits
   * for an engine that can finish it.
   */
  readonly recover?: boolean;
}

/**
 * Who clears a reconciliation flag and what they did about it; both are required.
 *
 * @example
 * const options: ResolveOptions = { operator: 'ana', note: 'closed the extra 500 by hand' };
 * engine.resolve('adv-1', options);
 */
export interface ResolveOptions {
  readonly operator: string;
  readonly note: string;
}

/**
 * The operator-facing kill switch of an engine.
 *
 * @example
 * engine.killSwitch.set('warning', { symbol: 'EURUSD', reason: 'news at 14:30', operator: 'ana' });
 * engine.killSwitch.state('EURUSD'); // 'warning'
 * engine.killSwitch.history().at(-1)?.reason; // 'news at 14:30'
 */
export interface EngineKillSwitch {
  set(state: KillSwitchState, options: KillSwitchSetOptions): KillSwitchChange;
  state(symbol?: string): KillSwitchState;
  history(): readonly KillSwitchChange[];
}

/**
 * A running engine: executes snapshots, holds the kill switch and the journal, and keeps flagged results until resolved.
 *
 * @example
 * const engine: Engine = createEngine({ broker });
 * const result = await engine.execute(snapshot);
 * for (const flagged of engine.awaitingResolution()) console.log(flagged.advisoryId, flagged.reconciliation?.status);
 * await engine.close();
 */
export interface Engine {
  /** Executes one snapshot (frozen or raw). Never throws; bad input resolves as `rejected`. */
  execute(input: unknown): Promise<ExecutionResult>;
  readonly killSwitch: EngineKillSwitch;
  /** Clears the reconciliation flag of an advisory after a human looked at it. */
  resolve(advisoryId: string, options: ResolveOptions): ExecutionResult;
  /** Results that wait for `resolve()`. */
  awaitingResolution(): ExecutionResult[];
  /**
   * Executions a previous process left unfinished in this journal, resumed when the engine was
   * created (looked up by clientOrderId first, never resent blindly). Resolves when all have settled.
   */
  readonly recovery: Promise<readonly ExecutionResult[]>;
  readonly journal: { records(filter?: JournalFilter): Promise<JournalRecord[]>; verify(): Promise<JournalVerification> };
  /** Refuses new executions, waits for running ones to settle, then closes the journal. */
  close(): Promise<void>;
}

interface Running {
  readonly symbol: string | null;
  send(event: ExecutionEvent): void;
  snapshot(): SnapshotFrom<ExecutionMachine>;
}

interface Awaiting {
  readonly symbol: string;
  result: ExecutionResult;
  resolve(options: ResolveOptions): ExecutionResult;
}

/** How long executions may start back to back within one turn of the event loop (see `admit`). */
const ADMISSION_SLICE_MS = 5;

const stateName = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [key, inner] = Object.entries(value)[0] ?? ['?', null];
    return inner === null || inner === undefined ? key : `${key}.${stateName(inner)}`;
  }
  return String(value);
};

/** The clientOrderId a broker call is about, when its payload names one. */
function clientOrderIdOf(payload: unknown): string | undefined {
  const id = payload !== null && typeof payload === 'object' ? (payload as { clientOrderId?: unknown }).clientOrderId : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** The identity an adapter declares (`identity`, else `name`), read defensively. */
function identityOf(broker: BrokerAdapter): string {
  try {
    const declared = broker.identity ?? broker.name;
    return typeof declared === 'string' && declared.length > 0 ? declared.slice(0, 200) : 'unnamed';
  } catch {
    return 'unnamed';
  }
}

/** A bounded description of untrusted input: its type, and for an object its first keys. Never throws. */
function outline(input: unknown): unknown {
  try {
    if (input === null || typeof input !== 'object') return { type: input === null ? 'null' : typeof input, ...(typeof input === 'string' ? { length: input.length } : {}) };
    if (Array.isArray(input)) return { type: 'array', length: input.length };
    const keys = Object.keys(input);
    return { type: 'object', keys: keys.slice(0, 40).map((k) => k.slice(0, 64)), ...(keys.length > 40 ? { moreKeys: keys.length - 40 } : {}) };
  } catch {
    return { type: 'unreadable' };
  }
}

const peek = (input: unknown, key: string): string | null => {
  try {
    const v = input !== null && typeof input === 'object' ? (input as Record<string, unknown>)[key] : undefined;
    return typeof v === 'string' ? v.slice(0, 128) : null;
  } catch {
    return null;
  }
};

/**
 * @example
 * const engine = createEngine({ broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }) });
 * const result = await engine.execute(snapshot);
 * if (result.requiresManualResolution) notifyOperator(result);
 */
export function createEngine(options: EngineOptions): Engine {
  const clock = options.clock ?? systemClock;
  const store: Journal = options.journal ?? new MemoryJournal(clock);
  const logger = options.logger ?? createDefaultLogger();
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const board = new KillSwitchBoard(() => clock.now());
  // Everything a previous process left in the journal: claims, switches, fills, open flags, unfinished work.
  const restored = restoreFromJournal(store.restartRecords?.() ?? store.readAll());
  const brokerIdentity = identityOf(options.broker);
  // Resuming an execution means looking its order up and finishing it at the broker it went to:
  // any other broker would not know it and would be sent the order again.
  if (options.recover !== false) {
    const elsewhere = restored.unfinished.filter((u) => u.broker !== null && u.broker !== brokerIdentity);
    if (elsewhere.length > 0) {
      const needed = [...new Set(elsewhere.map((u) => u.broker))].join(', ');
      throw new WardenUsageError('broker_mismatch', `${elsewhere.length} unfinished execution(s) in this journal were sent to ${needed}, not to ${brokerIdentity}; resume them with that broker`);
    }
  }

  // A journal that fails (disk full, read-only remount) is fail-safe, never a crash: the first
  // failure halts new orders engine-wide (a global `warning`), in-flight executions keep
  // cancelling, protecting and reconciling, and every result from then on is flagged.
  let journalFailure: string | null = null;
  const journalFailed = (e: unknown) => {
    if (journalFailure !== null) return;
    journalFailure = describeThrown(e);
    logger.error({ err: journalFailure }, 'journal unwritable: new orders halted engine-wide; executions in flight are still cancelled, protected, reconciled and flagged');
    board.set(KillSwitchState.Warning, { type: KillSwitchType.RiskLimit, reason: `journal unwritable: ${journalFailure}`, operator: 'warden' });
  };
  const journal = {
    /** The record, or null when the journal is unwritable. Never throws. */
    append(entry: JournalEntry): JournalRecord | null {
      if (journalFailure !== null) return null;
      try {
        return store.append(entry);
      } catch (e) {
        journalFailed(e);
        return null;
      }
    },
    /**
     * Resolves once everything appended is durable (a store writing in batches); rejects, and
     * halts the engine as above, if it could not be written.
     */
    durable(): Promise<void> | undefined {
      const flushed = store.flush?.();
      return flushed?.catch((e: unknown) => {
        journalFailed(e);
        throw e;
      });
    },
  };
  board.restore(restored.killSwitchChanges);
  const claimed = new Set(restored.claimedAdvisories);
  const advisories: AdvisoryRegistry = {
    has: (advisoryId) => claimed.has(advisoryId),
    claim: (c) => {
      claimed.add(c.advisoryId);
      // Journaled (durably, with a durable journal) before the first send: what a restart resumes from.
      // No claim on record, no send.
      const recorded = journal.append({
        kind: JournalKind.Claim,
        executionId: c.executionId,
        advisoryId: c.advisoryId,
        snapshotHash: c.snapshot.hash,
        payload: { snapshot: c.snapshot, clientOrderId: c.clientOrderId, deadlineAt: c.deadlineAt, broker: brokerIdentity },
      });
      if (recorded === null) throw new BrokerError(`journal unavailable: ${journalFailure}`, { retryable: false, code: 'journal_unavailable' });
    },
  };
  const running = new Map<string, Running>();
  const inFlight = new Set<Promise<ExecutionResult>>();
  const awaiting = new Map<string, Awaiting>();
  /** Signed filled quantity per execution, for reconciling one symbol across executions. */
  const ledger = new PositionLedger();
  for (const [id, f] of restored.fills) {
    ledger.update(id, f.symbol, f.signed);
    ledger.settle(id);
  }
  let closed = false;
  /** Journal identity of each execution, so broker calls land under the right ids. */
  const journalIds = new Map<string, { executionId: string; advisoryId: string | null; snapshotHash: string | null }>();
  /** The clientOrderId of each execution's latest broker request, for its log lines. */
  const lastOrderId = new Map<string, string | undefined>();
  const brokerKinds = { request: JournalKind.BrokerRequest, response: JournalKind.BrokerResponse, error: JournalKind.BrokerError } as const;

  /** The kill switch fan-out (rule 3): cancels requested at once, executions told in slices, each told first. */
  const fanOut = createKillSwitchFanOut({
    clock,
    running,
    stateOf: (symbol) => board.state(symbol),
    cancelOrders: (batch, reason, onOutcome) => void fanOutBroker.cancelOrders(batch, reason, onOutcome),
  });
  const tell = fanOut.tell;

  const onBrokerCall: BrokerObserver = (c) => {
    // An answer is journaled after the execution has heard of every switch change before it.
    if (c.executionId !== null && c.phase !== 'request') tell(c.executionId);
    const ids = c.executionId === null ? { executionId: null, advisoryId: null, snapshotHash: null } : (journalIds.get(c.executionId) ?? { executionId: c.executionId, advisoryId: null, snapshotHash: null });
    const recorded = journal.append({ ...ids, kind: brokerKinds[c.phase], event: c.method, payload: c.payload });
    if (c.executionId === null) return;
    // An error's payload is the failure: the order it concerns is the one its request named.
    const named = c.phase === 'request' ? clientOrderIdOf(c.payload) : undefined;
    if (named !== undefined) lastOrderId.set(c.executionId, named);
    const clientOrderId = lastOrderId.get(c.executionId);
    // What an operator needs to follow an execution through a bad day at the venue.
    if (c.phase === 'error') logger.warn({ executionId: c.executionId, advisoryId: ids.advisoryId, clientOrderId, method: c.method, elapsedMs: c.elapsedMs, error: describeThrown(c.payload) }, `broker ${c.method} failed`);
    else if (c.phase === 'request' && c.method === 'submitOrder') logger.info({ executionId: c.executionId, advisoryId: ids.advisoryId, clientOrderId }, 'order sent');
    // Intent before send: an order whose request cannot be recorded is not sent. Cancels, look-ups
    // and protection still go out — they only reduce risk or read.
    if (recorded === null && c.phase === 'request' && c.method === 'submitOrder') throw new Error(`journal unavailable: ${journalFailure}`);
    // Group commit: every send waits for its batch (the claim and this request) to be on disk.
    // For a submit, a batch that cannot be written means no send.
    // Protection waits too (a restart must know it was asked for, or it would place it twice) but goes
    // out even if the batch fails: an unprotected fill is worse. Cancels and look-ups never wait.
    if (c.phase === 'request' && (c.method === 'submitOrder' || c.method === 'placeProtection')) {
      const durable = journal.durable();
      if (durable) return c.method === 'submitOrder' ? durable : durable.catch(() => undefined);
    }
  };

  // One machine for the engine: building it per execution would cost more than the rest of the work.
  const machine = createExecutionMachine({
    broker: options.broker,
    clock,
    pollIntervalMs,
    ...(options.minPollIntervalMs !== undefined ? { minPollIntervalMs: options.minPollIntervalMs } : {}),
    advisories,
    otherPositionQuantity: (symbol, executionId) => otherPositionQuantity(symbol, executionId),
    ...(options.approvers ? { approvers: options.approvers } : {}),
    onBrokerCall,
    requestedCancel: (executionId) => fanOut.takeRequestedCancel(executionId),
    beforeDelivery: tell,
  });
  /** The same boundary as the executions' own calls: bounded, validated, journaled. Used by the kill switch fan-out. */
  const fanOutBroker = checkedBroker(options.broker, { clock, observe: onBrokerCall });

  const otherPositionQuantity = (symbol: string, executionId: string): number => ledger.othersOn(symbol, executionId);

  // Activation reaches every running execution at once (rule 3). The chart decides which orders the
  // switch cancels (killSwitchCancelTarget); those cancels are requested here, in one batch through
  // the checked boundary, before any execution is told, so that a thousand working orders are all
  // asked to cancel within milliseconds. Each execution is then told, with `cancelRequested`, and
  // goes through stopping as always (waiting for that cancel's answer, then looking the order up).
  board.onChange((change) => {
    journal.append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: `${change.from}->${change.to}`, payload: change });
    logger.warn({ killSwitch: change }, 'kill switch changed');
    fanOut.onChange(change);
  });

  const releaseReconciliationSwitch = (symbol: string, operator: string, advisoryId: string) => {
    if (![...awaiting.values()].some((a) => a.symbol === symbol)) board.releaseReconciliationHalt(symbol, advisoryId, operator);
  };

  function execute(input: unknown): Promise<ExecutionResult> {
    if (closed) return Promise.resolve(refusedResult(randomUUID(), input, clock.now(), 'engine is closed'));
    return track(randomUUID(), input);
  }

  /**
   * Admission: starting an execution costs a few hundred µs of CPU. Within a turn of the event loop
   * executions start at once for up to ADMISSION_SLICE_MS; a burst beyond that waits for the next
   * turns, in arrival order, so a thousand arrivals never hold the loop for longer than a slice.
   * The input is read (parsed, frozen) when execute() is called either way.
   */
  const admission: (() => void)[] = [];
  let sliceStartedAt: number | null = null;
  const nextSlice = () => {
    sliceStartedAt = null;
    if (admission.length === 0) return;
    sliceStartedAt = performance.now();
    setImmediate(nextSlice);
    while (admission.length > 0 && performance.now() - sliceStartedAt < ADMISSION_SLICE_MS) admission.shift()!();
  };
  const admit = <T>(start: () => Promise<T>): Promise<T> => {
    if (sliceStartedAt === null) {
      sliceStartedAt = performance.now();
      setImmediate(nextSlice);
    }
    if (admission.length === 0 && performance.now() - sliceStartedAt < ADMISSION_SLICE_MS) return start();
    return new Promise<T>((resolve, reject) => admission.push(() => start().then(resolve, reject)));
  };

  function track(executionId: string, input: unknown, recovery?: ExecutionRecovery): Promise<ExecutionResult> {
    let started: Promise<ExecutionResult>;
    try {
      const prepared = prepare(input);
      started = admit(() => run(executionId, prepared, recovery));
    } catch (e) {
      started = Promise.reject(e); // a throwing adapter getter must not make execute() throw
    }
    const promise = started
      .catch((e: unknown) => {
        logger.error({ err: describeThrown(e), executionId }, 'execution failed inside Warden');
        return internalFailure(executionId, input, null, clock.now(), describeThrown(e));
      })
      // A result is handed out once its record is on disk; if it cannot be written, it says so.
      .then(async (result) => {
        try {
          await journal.durable();
          return result;
        } catch {
          // Without a complete record, a human must look at whatever reached the broker.
          return result.clientOrderId === null || result.requiresManualResolution
            ? result
            : { ...result, requiresManualResolution: true, error: result.error ?? { code: ErrorCode.JournalUnavailable, message: `the journal could not be written: ${journalFailure}` } };
        }
      });
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
    return promise;
  }

  const forward = (ev: InspectionEvent) => {
    const user = options.inspect;
    if (typeof user === 'function') user(ev);
    else user?.next?.(ev);
  };

  /**
   * Reads the input once, when execute() is called: everything after reads the validated, frozen
   * snapshot, never the raw input (whose getters could answer differently on each read and dodge a
   * symbol's switch, and which the caller may change after handing it over).
   */
  function prepare(input: unknown) {
    const parsed = parseSnapshotInput(input);
    return parsed.kind === 'invalid'
      ? { input, parsed, advisoryId: peek(input, 'advisoryId'), outline: outline(input) }
      : { input, parsed, advisoryId: parsed.snapshot.advisoryId, outline: null };
  }

  function run(executionId: string, prepared: ReturnType<typeof prepare>, recovery?: ExecutionRecovery): Promise<ExecutionResult> {
    const { input, parsed } = prepared;
    const symbol = parsed.kind === 'invalid' ? null : parsed.snapshot.symbol;
    const ids = { executionId, advisoryId: prepared.advisoryId, snapshotHash: null as string | null };
    const record = (entry: Omit<JournalEntry, 'executionId' | 'advisoryId' | 'snapshotHash'>) => journal.append({ ...ids, ...entry });

    journalIds.set(executionId, ids);
    // What the journal keeps of the input: the frozen snapshot, or for refused input its problems and
    // a bounded outline — never the input itself, which may be megabytes of anything.
    const initSummary = {
      type: 'xstate.init',
      input: parsed.kind === 'invalid' ? { refused: true, issues: parsed.issues.slice(0, 20), outline: prepared.outline } : { snapshot: parsed.snapshot, executionId, ...(recovery ? { recovery } : {}) },
    };
    let previousState: string = 'validating'; // every execution starts there
    let previousDigest = '';
    let lastContext: ExecutionContext | null = null;
    const actor = createActor(machine, {
      input: { snapshot: input, parsed, executionId, killSwitch: board.state(symbol ?? undefined), ...(recovery ? { recovery } : {}) },
      clock: fanOut.timersOf(executionId),
      inspect: (ev) => {
        // Microsteps are reported while the machine transitions, before the invokes they start
        // send anything, so the journal reads in causal order (transition, then its broker call).
        if (ev.type === '@xstate.microstep' && ev.actorRef.sessionId === ev.rootId) {
          const snap = ev.snapshot as unknown as { value: unknown; context: ExecutionContext };
          const c = snap.context;
          if (c.snapshot) {
            ids.advisoryId = c.snapshot.advisoryId;
            ids.snapshotHash = c.snapshot.hash;
          }
          const to = stateName(snap.value);
          // A poll that changes nothing is already journaled as its broker call; skip the no-op transition.
          const digest = JSON.stringify([to, c.order, c.killSwitch, c.stopReason, c.deadlinePassed, c.protectionPlaced, c.reconciliation?.status]);
          if (digest === previousDigest && ev.event.type === 'ORDER_UPDATE') return forward(ev);
          previousDigest = digest;
          record({
            kind: JournalKind.Transition,
            from: previousState,
            to,
            event: ev.event.type,
            payload: { event: ev.event.type === 'xstate.init' ? initSummary : ev.event, filledQuantity: c.order?.filledQuantity ?? 0, killSwitch: c.killSwitch },
          });
          previousState = to;
        }
        forward(ev);
      },
    });

    // Ids are known from the validated input before anything starts, so even the first broker request carries them.
    const initial = actor.getSnapshot().context.snapshot;
    if (initial) {
      ids.advisoryId = initial.advisoryId;
      ids.snapshotHash = initial.hash;
    }

    return new Promise<ExecutionResult>((resolve) => {
      let settled = false;
      const finish = (settledResult: ExecutionResult, state: string) => {
        let result = settledResult;
        if (settled) return;
        settled = true;
        running.delete(executionId);
        fanOut.forget(executionId);
        ledger.settle(executionId);
        lastOrderId.delete(executionId);
        record({ kind: JournalKind.Result, to: state, event: result.status, payload: result });
        // Without a complete record, a human must look at whatever reached the broker.
        if (journalFailure !== null && result.clientOrderId !== null && !result.requiresManualResolution) {
          result = { ...result, requiresManualResolution: true, error: result.error ?? { code: ErrorCode.JournalUnavailable, message: `the journal could not be written: ${journalFailure}` } };
        }
        if (!result.requiresManualResolution) journalIds.delete(executionId);
        if (result.requiresManualResolution && result.advisoryId && lastContext?.snapshot) {
          const sym = lastContext.snapshot.symbol;
          const advisoryId = result.advisoryId;
          awaiting.set(advisoryId, {
            symbol: sym,
            result,
            resolve: (opts) => {
              actor.send({ type: 'RESOLVE', operator: opts.operator, note: opts.note });
              const after = actor.getSnapshot().context.result ?? { ...result, requiresManualResolution: false };
              return after;
            },
          });
          logger.warn({ advisoryId, executionId, status: result.status, reconciliation: result.reconciliation }, 'execution needs manual resolution; symbol halted for new orders');
          board.raiseReconciliationHalt(sym, advisoryId, result.reconciliation?.status ?? 'unavailable');
        } else {
          logger.info({ advisoryId: result.advisoryId, executionId, status: result.status }, 'execution settled');
        }
        resolve(result);
      };

      actor.on('unhandled', (ev) => record({ kind: JournalKind.UnhandledEvent, from: previousState, to: previousState, event: ev.event.type, payload: ev.event }));
      actor.subscribe({
        next: (snap) => {
          lastContext = snap.context;
          const s = snap.context.snapshot;
          if (!settled && s && snap.context.deadlineAt !== null) {
            const filled = snap.context.order?.filledQuantity ?? 0;
            ledger.update(executionId, s.symbol, signedQuantity(s.side, filled));
          }
          if (snap.hasTag('settled') && snap.context.result) finish(snap.context.result, stateName(snap.value));
        },
        error: (err) => {
          const result = internalFailure(executionId, input, lastContext, clock.now(), describeThrown(err));
          if (lastContext?.snapshot && result.requiresManualResolution) {
            const advisoryId = lastContext.snapshot.advisoryId;
            const sym = lastContext.snapshot.symbol;
            awaiting.set(advisoryId, {
              symbol: sym,
              result,
              resolve: (opts) => {
                record({ kind: JournalKind.Resolution, event: 'RESOLVE', payload: opts });
                return { ...result, requiresManualResolution: false };
              },
            });
            board.raiseReconciliationHalt(sym, advisoryId, 'unavailable');
          }
          if (!settled) {
            settled = true;
            running.delete(executionId);
            fanOut.forget(executionId);
            record({ kind: JournalKind.Result, event: result.status, payload: result });
            logger.error({ executionId, err: describeThrown(err) }, 'execution failed inside Warden');
            resolve(result);
          }
        },
      });
      running.set(executionId, { symbol, send: (ev) => actor.send(ev), snapshot: () => actor.getSnapshot() });
      actor.start();
    });
  }

  function resolve(advisoryId: string, opts: ResolveOptions): ExecutionResult {
    if (typeof opts?.operator !== 'string' || opts.operator.trim() === '') throw new WardenUsageError('operator_required', 'resolve() needs an operator name');
    if (typeof opts.note !== 'string' || opts.note.trim() === '') throw new WardenUsageError('reason_required', 'resolve() needs a note saying what was done');
    const entry = awaiting.get(advisoryId);
    if (!entry) throw new WardenUsageError('not_awaiting_resolution', `no execution of advisory ${String(advisoryId)} is waiting for resolution`);
    awaiting.delete(advisoryId);
    journalIds.delete(entry.result.executionId);
    const result = entry.resolve({ operator: opts.operator.trim(), note: opts.note.trim() });
    journal.append({ kind: JournalKind.Resolution, executionId: result.executionId, advisoryId, snapshotHash: result.snapshotHash, event: 'RESOLVE', payload: opts });
    logger.warn({ advisoryId, operator: opts.operator }, 'reconciliation flag resolved by operator');
    releaseReconciliationSwitch(entry.symbol, opts.operator.trim(), advisoryId);
    return result;
  }

  // Flags a previous process raised and nobody resolved: still waiting, still halting their symbols.
  for (const { result, symbol } of restored.awaiting) {
    if (!result.advisoryId) continue;
    journalIds.set(result.executionId, { executionId: result.executionId, advisoryId: result.advisoryId, snapshotHash: result.snapshotHash });
    awaiting.set(result.advisoryId, { symbol, result, resolve: () => ({ ...result, requiresManualResolution: false }) });
  }
  // Resume what a previous process left unfinished.
  const recovery = Promise.all(
    (options.recover === false ? [] : restored.unfinished).map((u) => {
      journal.append({ kind: JournalKind.Recovery, executionId: u.executionId, advisoryId: u.snapshot.advisoryId, snapshotHash: u.snapshot.hash, event: 'RECOVER', payload: { reason: 'unfinished at start; resuming from the journal', recovery: u.recovery } });
      logger.warn({ advisoryId: u.snapshot.advisoryId, executionId: u.executionId }, 'resuming an execution left unfinished by a previous process');
      return track(u.executionId, u.snapshot, u.recovery);
    }),
  );

  // Operators' commands written into the store by other processes (`warden kill-switch set`,
  // `warden resolve` while this engine holds the journal): applied here, journaled by the change itself.
  const stopWatching = store.watchCommands?.((command) => {
    try {
      if (command.kind === 'kill_switch') {
        const change = board.set(command.state, { ...(command.symbol ? { symbol: command.symbol } : {}), reason: command.reason, operator: command.operator });
        const told = [...running.values()].filter((r) => change.symbol === null || change.symbol === r.symbol).length;
        const effect = change.to === 'active' ? 'their working orders get their cancel requested' : 'no new orders; what works carries on';
        return { ok: true, message: `${change.symbol ?? 'global'}: ${change.from} → ${change.to}${told > 0 && change.to !== 'off' ? ` (${told} execution${told === 1 ? '' : 's'} in flight: ${effect})` : ''}` };
      }
      resolve(command.advisoryId, { operator: command.operator, note: command.note });
      return { ok: true, message: `resolved ${command.advisoryId}` };
    } catch (e) {
      return { ok: false, message: e instanceof WardenUsageError ? e.message : describeThrown(e) };
    }
  });

  return {
    execute,
    recovery,
    killSwitch: {
      set: (state, opts) => board.set(state, opts),
      state: (symbol) => board.state(symbol),
      history: () => board.history(),
    },
    resolve,
    awaitingResolution: () => [...awaiting.values()].map((a) => a.result),
    journal: { records: (filter) => store.records(filter), verify: () => store.verify() },
    async close() {
      closed = true;
      stopWatching?.();
      await Promise.allSettled([...inFlight]);
      await store.close();
    },
  };
}

function refusedResult(executionId: string, input: unknown, nowMs: number, message: string): ExecutionResult {
  const at = new Date(nowMs).toISOString();
  return {
    executionId,
    advisoryId: peek(input, 'advisoryId'),
    snapshotHash: null,
    status: ExecutionStage.Rejected,
    clientOrderId: null,
    brokerOrderId: null,
    fillPrice: null,
    filledQuantity: 0,
    stopLoss: null,
    takeProfit: null,
    slippagePct: null,
    killSwitch: { state: KillSwitchState.Off, phase: null },
    attempts: [],
    protectionPlaced: false,
    reconciliation: null,
    requiresManualResolution: false,
    error: { code: ErrorCode.EngineClosed, message },
    startedAt: at,
    finishedAt: at,
    durationMs: 0,
  };
}

/** A defect inside Warden: if anything reached the broker, a human must look. */
function internalFailure(executionId: string, input: unknown, c: ExecutionContext | null, nowMs: number, message: string): ExecutionResult {
  const reached = c !== null && c.deadlineAt !== null;
  const base = refusedResult(executionId, input, nowMs, message);
  return {
    ...base,
    advisoryId: c?.snapshot?.advisoryId ?? base.advisoryId,
    snapshotHash: c?.snapshot?.hash ?? null,
    status: reached ? ExecutionStage.Failed : ExecutionStage.Rejected,
    clientOrderId: reached ? c.clientOrderId : null,
    filledQuantity: c?.order?.filledQuantity ?? 0,
    attempts: c?.attempts ?? [],
    requiresManualResolution: reached,
    error: { code: ErrorCode.Internal, message },
    startedAt: c ? new Date(c.startedAt).toISOString() : base.startedAt,
  };
}
