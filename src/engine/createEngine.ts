/**
 * createEngine: the plain-Promise façade over the execution statechart. It wires a broker, a
 * journal, a clock and the kill switch to one actor per execution, and listens to what the
 * machine emits; it decides nothing itself.
 */
import { randomUUID } from 'node:crypto';
import { createActor, type InspectionEvent } from 'xstate';
import { createExecutionMachine } from '../../machines/execution.machine.js';
import type { ExecutionRecovery } from '../../machines/execution.types.js';
import { internalFailureResult, refusedResult, unrecordedResult } from '../../machines/execution.result.js';
import { checkedBroker } from '../broker/checkedBroker.js';
import { describeThrown } from '../broker/errors.js';
import { WardenUsageError } from '../domain/errors.js';
import { systemClock } from '../domain/clock.js';
import { ErrorCode, KillSwitchState } from '../domain/constants.js';
import type { ExecutionResult } from '../domain/result.js';
import { MemoryJournal } from '../journal/memoryJournal.js';
import { hearsCommands, leasesExecutions } from '../journal/capabilities.js';
import { JournalError, JournalKind, type Journal, type JournalEntry } from '../journal/types.js';
import type { PositionAdjustment } from '../journal/positionAdjustment.js';
import { createClaims, identityOf } from './claims.js';
import { commandHandler } from './commands.js';
import { createEngineJournal, journalBrokerCalls, journalTransitions } from './engineJournal.js';
import { prepareInput, peek, type PreparedInput } from './input.js';
import { HoldKind, KillSwitchBoard } from './killSwitch.js';
import { createKillSwitchFanOut, rememberCancelTarget } from './killSwitchFanOut.js';
import { joinFleetKillSwitch } from './fleetKillSwitch.js';
import { durabilityOf, fenceSends } from './fenceSends.js';
import { joinFleetLeases, resumedDeadline } from './fleetLeases.js';
import { createLoopBudget } from './loopBudget.js';
import { createMailbox } from './mailbox.js';
import { PositionLedger } from './ledger.js';
import { recordedControls } from './recordedControls.js';
import { joinFleetLedger } from './fleetLedger.js';
import { watchFleetLimits } from './fleetLimits.js';
import { checkEngineLimits, createLimitBook } from './limits.js';
import { createDefaultLogger } from './logger.js';
import { ExecutionRegistry, type RunningExecution } from './registry.js';
import { refuseOtherBroker, restoreFromStore } from './restore.js';
import type { Engine, EngineOptions, ResolveOptions } from './types.js';

/**
 * @example
 * const engine = createEngine({ broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }) });
 * const result = await engine.execute(snapshot);
 * if (result.requiresManualResolution) notifyOperator(result);
 */
export function createEngine(options: EngineOptions): Engine {
  const clock = options.clock ?? systemClock;
  const limits = checkEngineLimits(options.limits, options.broker); // invalid limits change nothing: checked first
  const store: Journal = options.journal ?? new MemoryJournal(clock);
  const logger = options.logger ?? createDefaultLogger();
  const board = new KillSwitchBoard(() => clock.now());
  // Everything a previous process left in the journal: claims, switches, fills, open flags, unfinished work.
  const restored = restoreFromStore(store);
  const brokerIdentity = identityOf(options.broker);
  if (options.recover !== false) refuseOtherBroker(restored, brokerIdentity);

  // A journal that fails is fail-safe, never a crash: new orders halt engine-wide (a global
  // `warning`), executions in flight keep cancelling, protecting and reconciling, and every result
  // from then on is flagged.
  // The hold is this engine's alone: no fleet change and no operator lifts it, only a restart.
  const journal = createEngineJournal(store, (why, error) => {
    logger.error({ err: why }, 'journal unwritable: new orders halted engine-wide; executions in flight are still cancelled, protected, reconciled and flagged');
    const fenced = error instanceof JournalError && error.code === 'fenced';
    board.raise({ kind: fenced ? HoldKind.Fenced : HoldKind.Journal, state: KillSwitchState.Warning, reason: `journal unwritable: ${why}`, by: 'warden' });
  });
  board.restore(restored.killSwitchChanges);
  const ledger = PositionLedger.of(restored.fills.values());
  // A resolution that adopts the venue's position figure (rule 6): the book takes it, and the
  // position limit's reading of the venue stays what it was (the venue did not move).
  const registry = new ExecutionRegistry(board, journal, logger, (adjustment) => (ledger.adjust(adjustment.symbol, adjustment.quantity), limitBook.adjusted(adjustment)));
  // On a store shared by engines, positions and limits count every engine's executions.
  const fleetLedger = joinFleetLedger({ store, clock, logger });
  const limitBook = createLimitBook({ limits, broker: options.broker, clock, ledger, journal, fleet: fleetLedger, restored: restored.limits, administrative: options.recover === false && options.limits === undefined, onReplaced: (why) => logger.warn({ why }, 'limits: the tightenings of the last process are not carried on') });
  const fleetLimits = watchFleetLimits({ store, clock, logger, current: () => limitBook.api.current(), apply: limitBook.command });

  const leases = joinFleetLeases({ store, journal, registry, clock, logger, brokerIdentity, ttlMs: options.leaseTtlMs, onTakeOver: options.onTakeOver, resume: track, closing: () => closed, resuming: options.recover === false ? [] : restored.unfinished });
  const advisories = createClaims({ claimed: restored.claimedAdvisories, journal, store, brokerIdentity, leases, ledger: fleetLedger });

  // Starts, answers, pushes and the executions' timers share the engine's slice of each turn of the event loop.
  const loop = createLoopBudget();
  /** The kill switch fan-out (rule 3): cancels requested at once, executions told in the next turns (the loop budget), each told first. */
  const fanOut = createKillSwitchFanOut({
    running: registry.running,
    stateOf: (symbol) => board.state(symbol),
    cancelOrders: (batch, reason, onOutcome) => fanOutBroker.cancelOrders(batch, reason, onOutcome),
    loop,
  });
  /** The one way anything reaches an execution: at its turn of the loop, told of the switch first, then journaled and handed over. */
  const mailbox = createMailbox({ clock, loop, tell: fanOut.tell });
  // On a leasing store, nothing goes to the venue for an execution whose lease is not confirmed (fencing).
  // A protection another engine could not see in the journal would be placed twice by it after a takeover, on a venue that forgets client ids.
  const fencedFor = (store as { fencedFor?: (executionId: string) => string | null }).fencedFor?.bind(store);
  const protectionAwaitsRecord = leases !== null && durabilityOf(options.broker) !== 'durable' && fencedFor ? { clock, maySend: (executionId: string) => fencedFor(executionId) === null } : null;
  const onBrokerCall = fenceSends(store, journalBrokerCalls({ journal, logger, idsOf: (id) => registry.running.get(id)?.ids, protectionAwaitsRecord }), { leases, broker: options.broker });
  // One machine for the engine: building it per execution would cost more than the rest of the work.
  const machine = createExecutionMachine({
    broker: options.broker,
    clock,
    ...(options.pollIntervalMs !== undefined ? { pollIntervalMs: options.pollIntervalMs } : {}),
    ...(options.minPollIntervalMs !== undefined ? { minPollIntervalMs: options.minPollIntervalMs } : {}),
    ...(options.approvers ? { approvers: options.approvers } : {}),
    advisories,
    otherPositionQuantity: (symbol, executionId) => ledger.othersOn(symbol, executionId),
    ...(fleetLedger ? { fleetPosition: fleetLedger.othersOn } : {}),
    onBrokerCall: limitBook.watch(onBrokerCall),
    readLimitFacts: (request, waiting) => (fleetLimits ? fleetLimits.ready.then(() => limitBook.readFacts(request, waiting)) : limitBook.readFacts(request, waiting)),
    requestedCancel: (executionId) => fanOut.takeRequestedCancel(executionId),
    deliver: mailbox.deliver,
  });
  /** The same boundary as the executions' own calls: bounded, validated, journaled. */
  const fanOutBroker = checkedBroker(options.broker, { clock, observe: onBrokerCall, deliver: mailbox.deliver });
  // A store shared by several engines carries one kill switch for all of them (fail-closed).
  const fleet = joinFleetKillSwitch({ store, board, clock, logger, registry, ...(options.killSwitchStalenessMs !== undefined ? { stalenessBudgetMs: options.killSwitchStalenessMs } : {}) });
  board.onChange((change) => {
    journal.append({ kind: JournalKind.KillSwitch, executionId: null, advisoryId: null, snapshotHash: null, event: `${change.from}->${change.to}`, payload: change });
    logger.warn({ killSwitch: change }, 'kill switch changed');
    fanOut.onChange(change);
  });

  let closed = false;
  const inFlight = new Set<Promise<ExecutionResult>>();
  const user = options.inspect;
  const forward = (ev: InspectionEvent) => (typeof user === 'function' ? user(ev) : user?.next?.(ev));

  function track(executionId: string, input: unknown, recovery?: ExecutionRecovery): Promise<ExecutionResult> {
    let started: Promise<ExecutionResult>;
    try {
      const prepared = prepareInput(input, executionId, recovery);
      // On a fleet, nothing starts before the fleet's kill switch state is known (or failed closed).
      started = fleet ? fleet.ready.then(() => loop.admit(() => run(executionId, prepared, recovery))) : loop.admit(() => run(executionId, prepared, recovery));
    } catch (e) {
      started = Promise.reject(e); // a throwing adapter getter must not make execute() throw
    }
    const promise = started
      .catch((e: unknown) => {
        logger.error({ err: describeThrown(e), executionId }, 'execution failed inside Warden');
        return internalFailureResult(executionId, peek(input, 'advisoryId'), null, clock.now(), describeThrown(e));
      })
      // A result is handed out once its record is on disk; if it cannot be written, it says so.
      .then((result) => journal.durable()?.then(() => result, () => unrecordedResult(result, journal.failure)) ?? result);
    inFlight.add(promise);
    void promise.finally(() => void (inFlight.delete(promise), leases?.settled(executionId)));
    return promise;
  }

  function run(executionId: string, prepared: PreparedInput, recovery?: ExecutionRecovery): Promise<ExecutionResult> {
    const { parsed, symbol } = prepared;
    const ids = { executionId, advisoryId: prepared.advisoryId, snapshotHash: parsed.kind === 'invalid' ? null : parsed.snapshot.hash };
    const record = (entry: Omit<JournalEntry, 'executionId' | 'advisoryId' | 'snapshotHash'>) => journal.append({ ...ids, ...entry });
    const transitions = journalTransitions({ record, initSummary: prepared.summary, forward });
    const actor = createActor(machine, {
      input: { snapshot: prepared.input, parsed, executionId, killSwitch: board.state(symbol ?? undefined), ...(recovery ? { recovery } : {}) },
      clock: mailbox.timersOf(executionId),
      inspect: transitions.inspect,
    });
    const entry: RunningExecution = { symbol, ids, send: (ev) => actor.send(ev), snapshot: () => actor.getSnapshot() };

    return new Promise<ExecutionResult>((resolve) => {
      let settled = false;
      const finish = (outcome: ExecutionResult, state: string, flagged: boolean, clear?: (resolution: ResolveOptions, positionAdjustment: PositionAdjustment | null) => ExecutionResult) => {
        if (settled) return;
        settled = true;
        fanOut.forget(executionId);
        ledger.settle(executionId);
        limitBook.settled(executionId, outcome);
        fleetLedger?.settled(executionId, outcome);
        record({ kind: JournalKind.Result, to: state, event: outcome.status, payload: outcome });
        const result = journal.failure !== null ? unrecordedResult(outcome, journal.failure) : outcome;
        registry.settled(executionId, result, symbol === null ? undefined : { symbol, ...(flagged && clear ? { clear } : {}) });
        // A flag is the fleet's once its result is in the store (other engines read it there).
        if (result.requiresManualResolution && journal.failure === null) {
          const durable = journal.durable();
          if (durable) durable.then(() => registry.stored(result.advisoryId), () => undefined);
          else registry.stored(result.advisoryId);
        }
        resolve(result);
      };
      actor.on('unhandled', (ev) => record({ kind: JournalKind.UnhandledEvent, from: transitions.state(), to: transitions.state(), event: ev.event.type, payload: ev.event }));
      actor.on('fill', (ev) => (ledger.update(executionId, ev.symbol, ev.signedQuantity), fleetLedger?.filled(executionId, Math.abs(ev.signedQuantity))));
      // Every ending is final, a flagged one included: the flag is the engine's to keep (registry),
      // and its resolution is recorded here as the execution's last step, flagged → resolved.
      actor.on('settled', (ev) =>
        finish(ev.result, ev.state, ev.state === 'flagged', (resolution, positionAdjustment) => {
          const { killSwitch } = actor.getSnapshot().context;
          record({ kind: JournalKind.Transition, from: ev.state, to: 'resolved', event: 'RESOLVE', payload: { event: { type: 'RESOLVE', ...resolution }, filledQuantity: ev.result.filledQuantity, killSwitch: killSwitch.state, ...(positionAdjustment ? { positionAdjustment } : {}) } });
          return { ...ev.result, requiresManualResolution: false };
        }),
      );
      actor.subscribe({
        // What a kill switch would cancel, worked out at each step while it is at hand (the fan-out reads it).
        next: (snapshot) => rememberCancelTarget(entry, snapshot),
        error: (err) => {
          const result = internalFailureResult(executionId, prepared.advisoryId, actor.getSnapshot().context, clock.now(), describeThrown(err));
          logger.error({ executionId, err: describeThrown(err) }, 'execution failed inside Warden');
          finish(result, 'error', result.requiresManualResolution);
        },
      });
      registry.running.set(executionId, entry);
      actor.start();
    });
  }
  // Flags a previous process raised and nobody resolved: still waiting, still halting their symbols,
  // whatever the operators set since. A flag's hold without an open flag, and the holds that
  // concerned the previous process alone (its journal, its fencing, its shutdown), are lifted.
  for (const { result, symbol } of restored.awaiting) registry.restoreFlag(result, symbol);
  const awaiting = new Set(restored.awaiting.map((f) => f.result.advisoryId));
  // A reader (`warden kill-switch show`) is no restart: it shows the holds as recorded, and lifts none it could not record.
  const reader = (store as { readonly options?: { readonly readOnly?: unknown } }).options?.readOnly === true;
  for (const h of reader ? [] : board.holds()) {
    if (h.kind === HoldKind.Reconciliation && !awaiting.has(h.key)) board.lift(h.kind, h, 'no open flag at restart', 'warden');
    else if (h.kind !== HoldKind.Operator && h.kind !== HoldKind.Reconciliation) board.lift(h.kind, h, 'restart with a healthy journal', 'warden');
  }
  /**
   * Rule 4 on one clock for a fleet store, as a takeover reads it: what is left of the window by the
   * database's clock, from this engine's now. The claim's absolute deadline was read on the clock of
   * the process that made it, and a restart with its clock corrected would stretch or shrink the
   * window by the correction. Without the store's answer, the claim's deadline (capped at the window).
   * A journal file has one clock, the process's: its claims' deadlines are resumed as they are.
   */
  const onStoreClock = (u: (typeof restored.unfinished)[number]): Promise<ExecutionRecovery> | ExecutionRecovery =>
    leasesExecutions(store)
      ? store.claimOf(u.executionId).then(
          (claim) => ({ ...u.recovery, deadlineAt: resumedDeadline(claim, u.recovery.deadlineAt, clock) }),
          () => u.recovery,
        )
      : u.recovery;
  const resume = (u: (typeof restored.unfinished)[number], recovery: ExecutionRecovery) => {
    journal.append({ kind: JournalKind.Recovery, executionId: u.executionId, advisoryId: u.snapshot.advisoryId, snapshotHash: u.snapshot.hash, event: 'RECOVER', payload: { reason: 'unfinished at start; resuming from the journal', recovery } });
    logger.warn({ advisoryId: u.snapshot.advisoryId, executionId: u.executionId }, 'resuming an execution left unfinished by a previous process');
    return track(u.executionId, u.snapshot, recovery);
  };
  // Resume what a previous process left unfinished.
  const recovery = Promise.all(
    (options.recover === false ? [] : restored.unfinished).map((u) => {
      const read = onStoreClock(u);
      return read instanceof Promise ? read.then((r) => resume(u, r)) : resume(u, read);
    }),
  );
  // Operators' commands written into the store by other processes (`warden kill-switch set`,
  // `warden resolve` while this engine holds the journal): applied here, journaled by the change itself.
  // An operator's change the failed journal cannot record would vanish at the restart that lifts its hold.
  const controls = recordedControls({
    failure: () => journal.failure,
    board,
    validate: (state, opts) => new KillSwitchBoard(() => clock.now()).set(state, opts),
    apply: { set: (state, opts) => (fleet ? fleet.set(state, opts) : board.set(state, opts)), resolve: (advisoryId, opts) => registry.resolve(advisoryId, opts) },
  });
  const stopWatching = hearsCommands(store) ? store.watchCommands(commandHandler(board, registry, limitBook.command, controls)) : undefined;

  return {
    execute: (input) =>
      closed ? Promise.resolve(refusedResult(randomUUID(), peek(input, 'advisoryId'), clock.now(), { code: ErrorCode.EngineClosed, message: 'engine is closed' })) : track(randomUUID(), input),
    recovery,
    ready: fleet?.ready ?? Promise.resolve(),
    killSwitch: { set: (state, opts) => controls.set(state, opts), state: (symbol) => board.state(symbol), history: () => board.history(), holds: (symbol) => (symbol === undefined ? board.holds() : board.holdsOver(symbol)) },
    limits: limitBook.api,
    resolve: (advisoryId, opts) => controls.resolve(advisoryId, opts),
    async shutdown(opts) {
      if (typeof opts?.reason !== 'string' || opts.reason.trim() === '') throw new WardenUsageError('reason_required', 'a shutdown needs a reason');
      // Rule 3 DURING for every working order of this engine; fills are still protected and reconciled.
      board.raise({ kind: HoldKind.Shutdown, state: KillSwitchState.Active, reason: opts.reason, by: typeof opts.by === 'string' && opts.by.trim() !== '' ? opts.by.trim() : 'warden' });
      return Promise.all([...inFlight]);
    },
    awaitingResolution: () => registry.awaitingResolution(),
    journal: { records: (filter) => store.records(filter), verify: () => store.verify() },
    async close() {
      closed = true;
      stopWatching?.();
      fleetLimits?.stop();
      // Executions a restart resumes may still be reading their window from the store before they
      // start: they are running executions too, and close waits for them as for the rest.
      await recovery.catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      await Promise.all([fleet?.stop(), leases?.stop()]);
      await store.close();
    },
  };
}
