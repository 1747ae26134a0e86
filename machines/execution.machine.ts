/**
 * The lifecycle of one frozen snapshot, as an XState v5 statechart. This file decides what
 * happens next and nothing else: rules are pure functions in `src/rules`, broker calls are the
 * invoked actors below, and the engine only wires them together.
 *
 * Read the `createMachine` config as the specification; guards are named after the rule they
 * encode. The generated diagram is in docs/execution-machine.md.
 */
import { and, assign, emit, fromCallback, fromPromise, not, setup, type SnapshotFrom } from 'xstate';
import { randomUUID } from 'node:crypto';
import type { BrokerAdapter, ClientOrderIdDurability } from '../src/broker/types.js';
import { BrokerError, classifyBrokerFailure, describeThrown } from '../src/broker/errors.js';
import { checkedBroker, type BrokerCall, type BrokerObserver } from '../src/broker/checkedBroker.js';
import {
  CANCEL_RETRY_DELAY_MS,
  DEFAULT_POLL_INTERVAL_MS,
  ErrorCode,
  HARD_TIMEOUT_MS,
  KillSwitchState,
  MAX_CANCEL_ATTEMPTS,
  MAX_PROTECTION_ATTEMPTS,
  MAX_SUBMIT_ATTEMPTS,
  PROTECTION_RETRY_DELAY_MS,
  RETRY_BACKOFF_MS,
} from '../src/domain/constants.js';
import { systemClock, type Clock } from '../src/domain/clock.js';
import type { Attempt, ExecutionError, ReconciliationReport } from '../src/domain/result.js';
import {
  type FrozenSnapshot,
  type OrderRef,
  type OrderReport,
  type OrderRequest,
  type PositionReport,
  type ProtectionReport,
  type ProtectionRequest,
} from '../src/domain/schemas.js';
import { parseSnapshotInput } from '../src/domain/snapshot.js';
import { parseApproverKeys } from '../src/domain/approvals.js';
import { killSwitchAllowsNewOrders, killSwitchCancelsWorkingOrders, mostSevere } from '../src/rules/killSwitch.js';
import { isTerminalStatus, mergeOrderReport } from '../src/rules/orderReports.js';
import type { StopReason } from '../src/rules/outcome.js';
import { approvalProblem, expiryProblem, hashProblem, killSwitchProblem } from '../src/rules/preconditions.js';
import { protectiveLevels } from '../src/rules/protection.js';
import { diffReconciliation, type ReconciliationExpectation } from '../src/rules/reconciliation.js';
import { FAST_POLL_MS, nextPollDelay } from '../src/rules/polling.js';
import { buildExecutionResult } from './execution.result.js';
import type { ExecutionContext, ExecutionEmitted, ExecutionEvent, ExecutionInput, KillSwitchPhase } from './execution.types.js';

export type { ExecutionContext, ExecutionEvent, ExecutionInput } from './execution.types.js';

/**
 * Remembers which advisories have executed, so one advisory reaches the broker at most once.
 *
 * @example
 * const advisories: AdvisoryRegistry = createAdvisoryRegistry();
 * const machine = createExecutionMachine({ broker, advisories });
 * advisories.has('adv-1'); // true once adv-1 reached its first submission
 */
export interface AdvisoryRegistry {
  has(advisoryId: string): boolean;
  /** Called once, at the first submission, with what a restart needs to resume safely. */
  claim(claim: AdvisoryClaim): void;
}

export interface AdvisoryClaim {
  readonly advisoryId: string;
  readonly executionId: string;
  readonly clientOrderId: string;
  /** Absolute hard deadline, ms since epoch. */
  readonly deadlineAt: number;
  readonly snapshot: FrozenSnapshot;
}

/**
 * Everything the machine needs from outside.
 *
 * @example
 * const deps: ExecutionMachineDeps = { broker: new PaperBroker({ seed: 1 }), pollIntervalMs: 250, onBrokerCall: (c) => console.log(c.method, c.phase) };
 * const machine = createExecutionMachine(deps);
 */
export interface ExecutionMachineDeps {
  readonly broker: BrokerAdapter;
  readonly clock?: Clock;
  readonly pollIntervalMs?: number;
  /** The first look-ups of a fresh order on an adapter that pushes nothing (see `nextPollDelay`). Default 50 ms. */
  readonly minPollIntervalMs?: number;
  readonly advisories?: AdvisoryRegistry;
  /**
   * Signed net position on a symbol that the host accounts for *besides* this execution
   * (other executions' fills), read at reconciliation time. Defaults to 0: a flat account.
   */
  readonly otherPositionQuantity?: (symbol: string, executionId: string) => number;
  /** Ed25519 public keys (PEM); when given, a snapshot must carry an approval signed by one of them. */
  readonly approvers?: readonly string[];
  /**
   * Sees every broker call: the request before it is sent (a returned promise is awaited before
   * the send), then the answer or the failure.
   */
  readonly onBrokerCall?: BrokerObserver;
  /**
   * The answer to a cancel the host already requested for this execution (the kill switch
   * fan-out, see {@link killSwitchCancelTarget}), taken once. Asked only when the KILL_SWITCH
   * event said `cancelRequested`; without an answer here, the execution cancels by itself.
   */
  readonly requestedCancel?: (executionId: string) => Promise<OrderReport> | undefined;
  /**
   * Called just before anything from outside (a broker answer, a pushed report, a poll) reaches
   * the execution, so a host that queued events for it (kill switch changes delivered in slices)
   * delivers them first: the execution then hears of the switch before anything it learns later.
   */
  readonly beforeDelivery?: (executionId: string) => void;
}

export type { BrokerCall };

/** The order an execution would cancel: by clientOrderId, with the broker's id once known. */
const orderRef = (c: ExecutionContext): OrderRef => ({ clientOrderId: c.clientOrderId!, brokerOrderId: c.order?.brokerOrderId ?? null, symbol: c.snapshot!.symbol });

/** A submit request is out and its answer (or its call limit) has not come yet. */
const submitAnswerAwaited = (c: ExecutionContext): boolean => {
  const last = c.attempts.at(-1);
  return last !== undefined && last.kind === 'submit' && last.outcome === 'in_flight';
};

/** `live.trading` or any state inside it; read off the state value (`matches` costs more, and this runs per execution). */
const inTrading = (value: unknown): boolean => {
  const live = value !== null && typeof value === 'object' ? (value as { live?: unknown }).live : undefined;
  return live === 'trading' || (live !== null && typeof live === 'object' && 'trading' in live);
};

/**
 * The order this execution would cancel at once if a KILL_SWITCH event with `state` reached it
 * now, or null. It reads the same conditions as the chart's region-level rule on `live.trading`
 * (the switch cancels, and no send's answer is awaited) and the order not being over, so a host
 * can request every such cancel in one batch and then tell each execution with
 * `{ type: 'KILL_SWITCH', state, cancelRequested: true }`; the execution then goes through
 * stopping as always but waits for that cancel's answer instead of sending its own.
 *
 * @example
 * const ref = killSwitchCancelTarget(actor.getSnapshot(), 'active');
 */
export function killSwitchCancelTarget(snapshot: SnapshotFrom<ExecutionMachine>, state: KillSwitchState): OrderRef | null {
  if (snapshot.status !== 'active' || !killSwitchCancelsWorkingOrders(state) || !inTrading(snapshot.value)) return null;
  const c = snapshot.context;
  if (submitAnswerAwaited(c) || (c.order !== null && isTerminalStatus(c.order.status))) return null;
  return orderRef(c);
}

/**
 * The one clientOrderId of a snapshot: derived from its hash, so even two engines share it.
 *
 * @example
 * clientOrderIdFor(snapshot); // 'wd-' and the first 24 characters of snapshot.hash
 * const report = await broker.getOrder({ clientOrderId: clientOrderIdFor(snapshot), symbol: snapshot.symbol });
 */
export const clientOrderIdFor = (snapshot: FrozenSnapshot): string => `wd-${snapshot.hash.slice(0, 24)}`;
const protectionIdFor = (clientOrderId: string): string => `${clientOrderId}-p`;

/**
 * An in-memory registry: one advisory per machine definition.
 *
 * @example
 * const advisories = createAdvisoryRegistry();
 * const machine = createExecutionMachine({ broker: new PaperBroker({ seed: 1 }), advisories });
 */
export function createAdvisoryRegistry(): AdvisoryRegistry {
  const claimed = new Map<string, string>();
  return { has: (id) => claimed.has(id), claim: (c) => void claimed.set(c.advisoryId, c.executionId) };
}

const isoAt = (ms: number): string => new Date(ms).toISOString();

function readDurability(broker: BrokerAdapter): ClientOrderIdDurability {
  try {
    const declared = broker.clientOrderIdDurability;
    return declared === 'durable' || declared === 'none' ? declared : 'openOrdersOnly';
  } catch {
    return 'openOrdersOnly';
  }
}

/** Whether the adapter pushes order updates (`subscribe`); a throwing getter means it does not. */
function readPushes(broker: BrokerAdapter): boolean {
  try {
    return typeof broker.subscribe === 'function';
  } catch {
    return false;
  }
}

/**
 * Builds the execution statechart bound to a broker and a clock.
 *
 * @example
 * const machine = createExecutionMachine({ broker: new PaperBroker({ seed: 1 }) });
 * const actor = createActor(machine, { input: { snapshot } }).start();
 */
export function createExecutionMachine(deps: ExecutionMachineDeps) {
  const { broker } = deps;
  const clock = deps.clock ?? systemClock;
  const pollIntervalMs = deps.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const minPollIntervalMs = deps.minPollIntervalMs ?? FAST_POLL_MS;
  const advisories = deps.advisories ?? createAdvisoryRegistry();
  const otherPositionQuantity = deps.otherPositionQuantity ?? (() => 0);
  const now = () => clock.now();
  if (deps.approvers && deps.approvers.length === 0) throw new TypeError('approvers is empty: list at least one Ed25519 public key, or leave the option out');
  const approvers = deps.approvers ? parseApproverKeys(deps.approvers) : null;
  // Read once, defensively: a custom adapter that does not say is assumed not to keep ids durably.
  const venueKeepsClientIds = readDurability(broker) === 'durable';
  const venuePushes = readPushes(broker);
  // The one boundary every call crosses: bounded, validated, observed (src/broker/checkedBroker.ts).
  const checked = checkedBroker(broker, { clock, ...(deps.onBrokerCall ? { observe: deps.onBrokerCall } : {}) });

  /** Why a resend is not allowed right now (rule 5), or null if it is. */
  const resendBlocker = (c: ExecutionContext): { reason: StopReason; error: ExecutionError | null } | null => {
    const snapshot = c.snapshot!;
    if (c.deadlinePassed || c.deadlineAt === null || now() >= c.deadlineAt) return { reason: 'deadline', error: null };
    const ks = killSwitchProblem(c.killSwitch);
    if (ks) return { reason: 'kill_switch', error: ks };
    const other = hashProblem(snapshot) ?? expiryProblem(snapshot, now());
    if (other) return { reason: 'unrecoverable', error: other };
    if (c.submitAttempts >= MAX_SUBMIT_ATTEMPTS) {
      return { reason: 'retries_exhausted', error: { code: ErrorCode.RetriesExhausted, message: `${c.submitAttempts} submission attempts without a definitive answer` } };
    }
    // Rule 5 on a venue that forgets client ids once an order is done (Binance): the same id could
    // be a second order. Only a failure proving nothing left this process allows a resend there.
    if (!venueKeepsClientIds && !c.lastSendNotMade) {
      return { reason: 'resend_unsafe', error: { code: ErrorCode.RetriesExhausted, message: 'the venue keeps client order ids only among open orders; an unconfirmed order is never resent there' } };
    }
    return null;
  };

  const recordAttemptOutcome = (attempts: readonly Attempt[], patch: Partial<Attempt>): Attempt[] =>
    attempts.map((a, i) => (i === attempts.length - 1 ? { ...a, ...patch } : a));

  const beforeDelivery = deps.beforeDelivery;
  /** An answer reaches the execution only after whatever the host queued for it (see `beforeDelivery`). */
  const delivered = <T>(executionId: string, answer: Promise<T>): Promise<T> =>
    beforeDelivery === undefined
      ? answer
      : answer.then(
          (v) => {
            beforeDelivery(executionId);
            return v;
          },
          (e: unknown) => {
            beforeDelivery(executionId);
            throw e;
          },
        );

  const submit = async (input: { executionId: string; request: OrderRequest; claim: AdvisoryClaim | null }): Promise<OrderReport> => {
    // The claim is what a restart resumes from, so it is recorded right here, before the first
    // send. (An action would not do: in XState's initial macrostep, invokes start before actions run.)
    if (input.claim) {
      try {
        advisories.claim(input.claim);
      } catch (e) {
        // Nothing is sent without a claim on record: a refusal, never an unknown outcome.
        const code = e instanceof BrokerError && e.code === 'journal_unavailable' ? 'journal_unavailable' : 'duplicate_advisory';
        throw new BrokerError(`advisory ${input.claim.advisoryId} could not be claimed: ${describeThrown(e)}`, { retryable: false, code });
      }
    }
    return checked.submitOrder(input.executionId, input.request);
  };
  const refInput = ({ context }: { context: ExecutionContext }) => ({ executionId: context.executionId, ref: orderRef(context) });

  return setup({
    types: {
      context: {} as ExecutionContext,
      events: {} as ExecutionEvent,
      input: {} as ExecutionInput,
      emitted: {} as ExecutionEmitted,
      tags: {} as 'settled' | 'awaitingResolution',
    },
    actors: {
      submitOrder: fromPromise<OrderReport, { executionId: string; request: OrderRequest; claim: AdvisoryClaim | null }>(({ input }) => delivered(input.executionId, submit(input))),
      lookupOrder: fromPromise<OrderReport | null, { executionId: string; ref: OrderRef }>(({ input }) => delivered(input.executionId, checked.getOrder(input.executionId, input.ref))),
      cancelOrder: fromPromise<OrderReport, { executionId: string; ref: OrderRef; alreadyRequested: boolean }>(({ input }) =>
        // The kill switch fan-out may have sent this cancel already: its answer is this cancel's answer.
        delivered(input.executionId, (input.alreadyRequested ? deps.requestedCancel?.(input.executionId) : undefined) ?? checked.cancelOrder(input.executionId, input.ref)),
      ),
      placeProtection: fromPromise<ProtectionReport, { executionId: string; request: ProtectionRequest }>(({ input }) => delivered(input.executionId, checked.placeProtection(input.executionId, input.request))),
      reconcile: fromPromise<{ order: OrderReport | null; position: PositionReport }, { executionId: string; ref: OrderRef; symbol: string }>(({ input }) =>
        // Exactly one getOrder and one getPosition (rule 6), asked together; each bounded and checked
        // to be about this order and this symbol.
        delivered(
          input.executionId,
          Promise.all([checked.getOrder(input.executionId, input.ref), checked.getPosition(input.executionId, input.symbol)]).then(([order, position]) => ({ order, position })),
        ),
      ),
      /** Polls the order while it works; every answer becomes an ORDER_UPDATE. */
      watchOrder: fromCallback<ExecutionEvent, { executionId: string; ref: OrderRef }>(({ input, sendBack }) => {
        let stopped = false;
        let timer: unknown;
        // A venue that pushes is polled at the engine's interval, as a backstop; one that does not is
        // polled fast while a fill is most likely, then less and less often (rules/polling.ts).
        const since = clock.now();
        const delay = () => (venuePushes ? pollIntervalMs : nextPollDelay(clock.now() - since, pollIntervalMs, minPollIntervalMs));
        const poll = async () => {
          try {
            const found = await checked.getOrder(input.executionId, input.ref);
            if (stopped) return;
            beforeDelivery?.(input.executionId);
            if (stopped) return;
            sendBack(found === null ? { type: 'POLL_FAILED', error: 'broker does not know the order' } : { type: 'ORDER_UPDATE', report: found });
          } catch (e) {
            if (stopped) return;
            beforeDelivery?.(input.executionId);
            if (stopped) return;
            const code = e instanceof BrokerError ? e.code : undefined;
            // An answer about another order, or one that cannot be read, is reported as such; silence or a failure is a failed poll.
            sendBack(code === 'wrong_order' || code === 'unreadable_answer' ? { type: 'REPORT_INVALID', problem: 'unreadable poll answer' } : { type: 'POLL_FAILED', error: describeThrown(e) });
          }
          if (!stopped) timer = clock.setTimeout(poll, delay());
        };
        timer = clock.setTimeout(poll, delay());
        return () => {
          stopped = true;
          clock.clearTimeout(timer);
        };
      }),
      /** Push updates from the broker, filtered to this execution's order. */
      orderFeed: fromCallback<ExecutionEvent, { executionId: string; clientOrderId: string }>(({ input, sendBack }) =>
        checked.subscribe(
          input.clientOrderId,
          (report) => {
            beforeDelivery?.(input.executionId);
            sendBack({ type: 'ORDER_UPDATE', report });
          },
          (problem) => {
            beforeDelivery?.(input.executionId);
            sendBack({ type: 'REPORT_INVALID', problem });
          },
        ),
      ),
    },
    delays: {
      // Delays read the context only, never a clock: a test, or a restart, reproduces a run exactly.
      /** Rule 4: the window left when the deadline was set (30 s, or what a restart had left). */
      hardTimeout: ({ context }) => context.hardTimeoutMs,
      retryBackoff: ({ context }) => context.pauseMs,
      cancelRetryDelay: ({ context }) => context.pauseMs,
      protectionRetryDelay: ({ context }) => context.pauseMs,
    },
    guards: {
      // --- entry preconditions (rules 1, 3 BEFORE, approval, expiry, once per advisory)
      inputWellFormed: ({ context }) => context.snapshot !== null,
      resumingExecution: ({ context }) => context.recovery !== null && context.recovery.clientOrderId === context.clientOrderId,
      snapshotHashIntact: ({ context }) => hashProblem(context.snapshot!) === null,
      approvalPresent: ({ context }) => approvalProblem(context.snapshot!, now(), approvers) === null,
      notExpired: ({ context }) => expiryProblem(context.snapshot!, now()) === null,
      firstExecutionOfAdvisory: ({ context }) => !advisories.has(context.snapshot!.advisoryId),
      killSwitchAllowsEntry: ({ context }) => killSwitchAllowsNewOrders(context.killSwitch),
      // --- while trading
      brokerRejectedOrder: ({ event }) => (event as { output?: OrderReport }).output?.status === 'rejected',
      brokerRefusedDefinitively: ({ event }) => classifyBrokerFailure((event as { error?: unknown }).error).kind === 'rejected',
      orderFoundAtBroker: ({ event }) => (event as { output?: OrderReport | null }).output != null,
      /** Rule 5: deadline, kill switch, expiry, hash and the attempt bound, re-checked before each resend. */
      mayResend: ({ context }) => resendBlocker(context) === null,
      /** Nothing forbids a resend but the venue's client-id rule: keep looking the order up instead. */
      resendUnsafeOnVenue: ({ context }) => resendBlocker(context)?.reason === 'resend_unsafe',
      orderFullyFilled: ({ context }) => context.order !== null && context.order.filledQuantity >= context.snapshot!.positionSize,
      orderEndedAtBroker: ({ context }) => context.order !== null && isTerminalStatus(context.order.status),
      killSwitchCancelsOrders: ({ context }) => killSwitchCancelsWorkingOrders(context.killSwitch),
      /** A submit request is out and its answer (or its call limit) has not come yet. */
      submitAnswerAwaited: ({ context }) => submitAnswerAwaited(context),
      orderStillWorking: ({ context }) => context.order !== null && !isTerminalStatus(context.order.status),
      cancelAttemptsLeft: ({ context }) => context.cancelAttempts < MAX_CANCEL_ATTEMPTS,
      // --- after the order
      anyQuantityFilled: ({ context }) => (context.order?.filledQuantity ?? 0) > 0,
      fillPriceKnown: ({ context }) => (context.order?.averageFillPrice ?? 0) > 0,
      protectionConfirmed: ({ event }) => (event as { output?: ProtectionReport }).output?.status === 'placed',
      protectionRetryable: ({ context, event }) =>
        context.protectionAttempts < MAX_PROTECTION_ATTEMPTS && classifyBrokerFailure((event as { error?: unknown }).error).kind === 'unknown',
      reconciliationMatched: ({ context }) => context.reconciliation?.status === 'matched',
    },
    actions: {
      rejectWith: assign((_, params: { error: ExecutionError; phase?: KillSwitchPhase }) => ({
        rejection: params.error,
        ...(params.phase ? { killSwitchPhase: params.phase } : {}),
      })),
      rejectForInput: assign(({ context }) => ({
        rejection: {
          code: ErrorCode.InvalidSnapshot,
          message: `invalid snapshot: ${(context.inputIssues ?? []).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`,
        },
      })),
      rejectForPrecondition: assign(({ context }, params: { check: 'hash' | 'approval' | 'expiry' | 'killSwitch' }) => {
        const s = context.snapshot!;
        const problem =
          params.check === 'hash' ? hashProblem(s) : params.check === 'approval' ? approvalProblem(s, now(), approvers) : params.check === 'expiry' ? expiryProblem(s, now()) : killSwitchProblem(context.killSwitch);
        return {
          rejection: problem,
          ...(params.check === 'killSwitch' ? { killSwitchPhase: 'before' as const, killSwitchSeen: context.killSwitch } : {}),
        };
      }),
      restoreExecution: assign(({ context }) => ({
        deadlineAt: context.recovery!.deadlineAt,
        // What is left of the stored window, fixed now: the timer reads it from the context.
        hardTimeoutMs: Math.max(0, context.recovery!.deadlineAt - now()),
        submitAttempts: context.recovery!.submitAttempts,
        // Nobody knows what became of the last send: the look-up that follows decides.
        unconfirmedSend: true,
      })),
      startHardDeadline: assign({ deadlineAt: () => now() + HARD_TIMEOUT_MS, hardTimeoutMs: HARD_TIMEOUT_MS }),
      /** Each pause's length is decided when it starts and kept in the context, where its timer reads it. */
      startPause: assign((_, params: { kind: 'retry' | 'cancel' | 'protection'; attempts: number }) => ({
        pauseMs:
          params.kind === 'cancel' ? CANCEL_RETRY_DELAY_MS : params.kind === 'protection' ? PROTECTION_RETRY_DELAY_MS : (RETRY_BACKOFF_MS[Math.min(params.attempts, RETRY_BACKOFF_MS.length - 1)] ?? 0),
      })),
      markDeadlinePassed: assign({ deadlinePassed: true }),
      recordSubmitAttempt: assign(({ context }) => ({
        submitAttempts: context.submitAttempts + 1,
        lastSendNotMade: false,
        unconfirmedSend: true,
        attempts: [
          ...context.attempts,
          { number: context.attempts.length + 1, kind: 'submit' as const, clientOrderId: context.clientOrderId!, quantity: context.snapshot!.positionSize, at: isoAt(now()), stage: 'submitted' as const, outcome: 'in_flight' as const, error: null },
        ],
      })),
      recordLookupAttempt: assign(({ context }) => ({
        attempts: [
          ...context.attempts,
          { number: context.attempts.length + 1, kind: 'lookup' as const, clientOrderId: context.clientOrderId!, quantity: 0, at: isoAt(now()), stage: 'submitted' as const, outcome: 'in_flight' as const, error: null },
        ],
      })),
      settleAttempt: assign(({ context }, params: { outcome: Attempt['outcome']; error?: unknown }) => ({
        // Any answer but "unknown" settles whether the order exists — except that "not found" proves
        // nothing on a venue whose look-ups may lag and whose ids are not durable.
        unconfirmedSend: params.outcome === 'unknown' || (params.outcome === 'not_found' && !venueKeepsClientIds) ? context.unconfirmedSend : false,
        lastSendNotMade:
          params.outcome === 'unknown' && context.attempts.at(-1)?.kind === 'submit' ? params.error instanceof BrokerError && params.error.code === 'not_sent' : context.lastSendNotMade,
        attempts: recordAttemptOutcome(context.attempts, {
          outcome: params.outcome,
          stage: params.outcome === 'acknowledged' || params.outcome === 'found' ? 'pending' : 'submitted',
          error: params.error === undefined ? null : classifyBrokerFailure(params.error).message,
        }),
      })),
      mergeReport: assign(({ context }, params: { report: OrderReport | null | undefined }) => {
        if (!params.report) return {};
        const order = mergeOrderReport(context.order, params.report);
        const full = order.filledQuantity >= context.snapshot!.positionSize;
        return { order, fullFillKnownAt: full && context.fullFillKnownAt === null ? now() : context.fullFillKnownAt };
      }),
      /** A pushed report proves the order exists: a look-up still in flight is answered by it. */
      adoptPushedOrder: assign(({ context }) => ({
        unconfirmedSend: false,
        attempts: context.attempts.at(-1)?.outcome === 'in_flight' ? recordAttemptOutcome(context.attempts, { outcome: 'found', stage: 'pending' }) : context.attempts,
      })),
      markOutcomeUncertain: assign({ outcomeUncertain: true }),
      /** A send that no answer has confirmed or ruled out leaves the outcome uncertain. */
      carryUnconfirmedSend: assign(({ context }) => ({ outcomeUncertain: context.outcomeUncertain || context.unconfirmedSend })),
      markOutcomeKnown: assign({ outcomeUncertain: false }),
      stopBecause: assign(({ context }, params: { reason: StopReason; error?: ExecutionError }) =>
        context.stopReason !== null ? {} : { stopReason: params.reason, stopError: params.error ?? null },
      ),
      stopForBrokerRefusal: assign(({ context }, params: { error: unknown }) => {
        const failure = classifyBrokerFailure(params.error);
        const code = failure.code === 'duplicate_advisory' ? ErrorCode.DuplicateAdvisory : failure.code === 'journal_unavailable' ? ErrorCode.JournalUnavailable : ErrorCode.BrokerRejected;
        return context.stopReason !== null ? {} : { stopReason: 'broker_rejected' as const, stopError: { code, message: failure.message } };
      }),
      stopForRejectedReport: assign(({ context }) =>
        context.stopReason !== null ? {} : { stopReason: 'broker_rejected' as const, stopError: { code: ErrorCode.BrokerRejected, message: context.order?.reason ?? 'the broker rejected the order' } },
      ),
      stopBecauseResendBlocked: assign(({ context }) => {
        const blocker = resendBlocker(context) ?? { reason: 'retries_exhausted' as const, error: null };
        return context.stopReason !== null ? {} : { stopReason: blocker.reason, stopError: blocker.error };
      }),
      applyKillSwitch: assign(({ context, event }, params: { phase: KillSwitchPhase }) => {
        if (event.type !== 'KILL_SWITCH') return {};
        const engaged = event.state !== KillSwitchState.Off;
        return {
          killSwitch: event.state,
          killSwitchPhase: engaged && context.killSwitchPhase === null ? params.phase : context.killSwitchPhase,
          killSwitchSeen: engaged ? mostSevere(context.killSwitchSeen, event.state) : context.killSwitchSeen,
          // The host already asked the broker to cancel (the fan-out): stopping waits for that answer.
          cancelRequested: context.cancelRequested || (params.phase === 'during' && event.cancelRequested === true),
        };
      }),
      countCancelAttempt: assign(({ context }) => ({ cancelAttempts: context.cancelAttempts + 1 })),
      /** A cancel the fan-out requested counts once; a later attempt sends its own. */
      forgetRequestedCancel: assign({ cancelRequested: false }),
      computeProtection: assign(({ context }) => {
        const s = context.snapshot!;
        const averageFillPrice = context.order!.averageFillPrice!;
        const levels = protectiveLevels(s.side, averageFillPrice, s.slOffsetPct, s.tpOffsetPct);
        return { protection: { ...levels, quantity: context.order!.filledQuantity, averageFillPrice } };
      }),
      countProtectionAttempt: assign(({ context }) => ({ protectionAttempts: context.protectionAttempts + 1 })),
      recordProtectionPlaced: assign((_, params: { quantity: number; tickSize: number | undefined }) => ({
        protectionPlaced: true,
        protectedQuantity: params.quantity,
        protectionTick: params.tickSize ?? null,
        protectionError: null,
      })),
      recordProtectionFailure: assign((_, params: { problem: string }) => ({ protectionError: params.problem })),
      recordReconciliation: assign(({ context }, params: { observed: { order: OrderReport | null; position: PositionReport } }) => {
        const s = context.snapshot!;
        const expected: ReconciliationExpectation = {
          symbol: s.symbol,
          side: s.side,
          order: context.order,
          priorPositionQuantity: otherPositionQuantity(s.symbol, context.executionId),
          protection: context.protection,
          protectedQuantity: context.protectionPlaced ? context.protectedQuantity : 0,
          priceTick: context.protectionPlaced ? context.protectionTick : null,
          outcomeUncertain: context.outcomeUncertain,
          positionSize: s.positionSize,
          protectionFailure: context.protectionPlaced ? null : (context.protectionError ?? (context.protection ? 'protection was not confirmed' : null)),
        };
        const diff = diffReconciliation(expected, params.observed);
        const report: ReconciliationReport = { ...diff, checkedAt: isoAt(now()), queries: { getOrder: 1, getPosition: 1 } };
        return { reconciliation: report };
      }),
      recordReconciliationUnavailable: assign((_, params: { error: unknown }) => ({
        reconciliation: {
          status: 'unavailable' as const,
          checkedAt: isoAt(now()),
          mismatches: [{ field: 'broker', expected: 'answer', actual: null, message: `reconciliation query failed: ${describeThrown(params.error)}` }],
          queries: { getOrder: 1, getPosition: 1 },
        },
      })),
      settle: assign(({ context }, params: { awaitingResolution: boolean }) => ({ result: buildExecutionResult(context, now(), params.awaitingResolution) })),
      recordResolution: assign(({ event }) =>
        event.type === 'RESOLVE' ? { resolution: { operator: event.operator, note: event.note, at: isoAt(now()) } } : {},
      ),
      reportUnhandled: emit(({ event }) => ({ type: 'unhandled' as const, event: { type: event.type } })),
    },
  }).createMachine({
    id: 'execution',
    context: ({ input }) => {
      const parsed = input.parsed ?? parseSnapshotInput(input.snapshot);
      const snapshot = parsed.kind === 'invalid' ? null : parsed.snapshot;
      return {
        executionId: input.executionId ?? randomUUID(),
        snapshot,
        recovery: input.recovery ?? null,
        inputIssues: parsed.kind === 'invalid' ? parsed.issues : null,
        clientOrderId: snapshot && parsed.kind === 'valid' ? clientOrderIdFor(snapshot) : null,
        killSwitch: input.killSwitch ?? KillSwitchState.Off,
        killSwitchPhase: null,
        killSwitchSeen: KillSwitchState.Off,
        startedAt: now(),
        deadlineAt: null,
        hardTimeoutMs: HARD_TIMEOUT_MS,
        pauseMs: 0,
        deadlinePassed: false,
        submitAttempts: 0,
        attempts: [],
        order: null,
        fullFillKnownAt: null,
        outcomeUncertain: false,
        unconfirmedSend: false,
        lastSendNotMade: false,
        stopReason: null,
        stopError: null,
        cancelAttempts: 0,
        cancelRequested: false,
        protection: null,
        protectionPlaced: false,
        protectedQuantity: 0,
        protectionTick: null,
        protectionAttempts: 0,
        protectionError: null,
        reconciliation: null,
        rejection: null,
        result: null,
        resolution: null,
      };
    },
    // Every event no state handles is reported (and journaled by the engine), never dropped silently.
    on: {
      '*': { actions: 'reportUnhandled' },
    },
    initial: 'validating',
    states: {
      validating: {
        always: [
          { guard: not('inputWellFormed'), target: 'rejected', actions: 'rejectForInput' },
          { guard: not('snapshotHashIntact'), target: 'rejected', actions: { type: 'rejectForPrecondition', params: { check: 'hash' } } },
          // A restart resumes what a previous process started: look the order up first, never resend blindly.
          { guard: 'resumingExecution', target: '#execution.live.trading.unconfirmed', actions: 'restoreExecution' },
          { guard: not('approvalPresent'), target: 'rejected', actions: { type: 'rejectForPrecondition', params: { check: 'approval' } } },
          { guard: not('notExpired'), target: 'rejected', actions: { type: 'rejectForPrecondition', params: { check: 'expiry' } } },
          {
            guard: not('firstExecutionOfAdvisory'),
            target: 'rejected',
            actions: { type: 'rejectWith', params: { error: { code: ErrorCode.DuplicateAdvisory, message: 'this advisory has already been executed' } } },
          },
          { guard: not('killSwitchAllowsEntry'), target: 'rejected', actions: { type: 'rejectForPrecondition', params: { check: 'killSwitch' } } },
          // Rule 4: the clock starts at the first submission.
          { target: 'live', actions: 'startHardDeadline' },
        ],
      },

      live: {
        invoke: { id: 'orderFeed', src: 'orderFeed', input: ({ context }) => ({ executionId: context.executionId, clientOrderId: context.clientOrderId! }) },
        on: {
          ORDER_UPDATE: { actions: { type: 'mergeReport', params: ({ event }) => ({ report: event.report }) } },
          KILL_SWITCH: { actions: { type: 'applyKillSwitch', params: { phase: 'during' } } },
          POLL_FAILED: {},
          REPORT_INVALID: { actions: 'reportUnhandled' },
          // A broken push feed is not fatal: polling still sees every fill. The failure is journaled.
          'xstate.error.actor.orderFeed': {},
        },
        initial: 'trading',
        states: {
          trading: {
            // Rule 4: at the deadline nobody waits any more, whatever is in progress (a hung submit
            // included): cancel by clientOrderId and ask for the final state.
            after: {
              hardTimeout: {
                target: '#execution.live.stopping',
                actions: ['markDeadlinePassed', { type: 'stopBecause', params: { reason: 'deadline' } }, 'carryUnconfirmedSend'],
              },
            },
            // Rule 3 DURING, for the whole region: `active` cancels by clientOrderId at once — while the
            // order works, and while its outcome is unknown (looking up, pausing, about to resend). Only a
            // send whose answer is awaited is let finish first (bounded by its call limit), so the cancel
            // cannot overtake the order it cancels. `warning` leaves the working order alone.
            always: {
              guard: and(['killSwitchCancelsOrders', not('submitAnswerAwaited')]),
              target: '#execution.live.stopping',
              actions: [{ type: 'stopBecause', params: { reason: 'kill_switch' } }, 'carryUnconfirmedSend'],
            },
            initial: 'submitting',
            states: {
              submitting: {
                entry: 'recordSubmitAttempt',
                invoke: {
                  id: 'submitOrder',
                  src: 'submitOrder',
                  input: ({ context }) => ({
                    executionId: context.executionId,
                    // Only the very first send of a fresh execution claims the advisory.
                    claim:
                      context.submitAttempts === 1 && context.recovery === null
                        ? { advisoryId: context.snapshot!.advisoryId, executionId: context.executionId, clientOrderId: context.clientOrderId!, deadlineAt: context.deadlineAt!, snapshot: context.snapshot! }
                        : null,
                    request: {
                      clientOrderId: context.clientOrderId!,
                      symbol: context.snapshot!.symbol,
                      side: context.snapshot!.side,
                      quantity: context.snapshot!.positionSize,
                      type: 'market' as const,
                    },
                  }),
                  onDone: [
                    {
                      guard: 'brokerRejectedOrder',
                      target: '#execution.live.assessing',
                      actions: [
                        { type: 'settleAttempt', params: { outcome: 'rejected' } },
                        { type: 'mergeReport', params: ({ event }) => ({ report: event.output }) },
                        'stopForRejectedReport',
                      ],
                    },
                    {
                      target: 'working',
                      actions: [{ type: 'settleAttempt', params: { outcome: 'acknowledged' } }, { type: 'mergeReport', params: ({ event }) => ({ report: event.output }) }],
                    },
                  ],
                  onError: [
                    {
                      guard: 'brokerRefusedDefinitively',
                      target: '#execution.live.assessing',
                      actions: [
                        { type: 'settleAttempt', params: ({ event }) => ({ outcome: 'rejected' as const, error: event.error }) },
                        { type: 'stopForBrokerRefusal', params: ({ event }) => ({ error: event.error }) },
                      ],
                    },
                    // Unknown outcome: the order may exist. Look it up before anything else.
                    { target: 'unconfirmed', actions: { type: 'settleAttempt', params: ({ event }) => ({ outcome: 'unknown' as const, error: event.error }) } },
                  ],
                },
              },
              /**
               * Whether the order exists is unknown (a send failed ambiguously, or a restart resumes):
               * it is looked up by clientOrderId, never assumed. Anything the broker pushes about the
               * order proves it exists, in every sub-state.
               */
              unconfirmed: {
                on: { ORDER_UPDATE: { target: 'working', actions: ['adoptPushedOrder', { type: 'mergeReport', params: ({ event }) => ({ report: event.report }) }] } },
                initial: 'lookingUp',
                states: {
                  lookingUp: {
                    entry: 'recordLookupAttempt',
                    invoke: {
                      id: 'lookupOrder',
                      src: 'lookupOrder',
                      input: ({ context }) => ({ executionId: context.executionId, ref: { clientOrderId: context.clientOrderId!, symbol: context.snapshot!.symbol } }),
                      onDone: [
                        {
                          guard: 'orderFoundAtBroker',
                          target: '#execution.live.trading.working',
                          actions: [{ type: 'settleAttempt', params: { outcome: 'found' } }, { type: 'mergeReport', params: ({ event }) => ({ report: event.output }) }],
                        },
                        { guard: 'mayResend', target: 'retryPause', actions: { type: 'settleAttempt', params: { outcome: 'not_found' } } },
                    // A venue that may have filled and forgotten the id: keep looking and listening until the deadline.
                    { guard: 'resendUnsafeOnVenue', target: 'lookupPause', actions: { type: 'settleAttempt', params: { outcome: 'not_found' } } },
                        {
                          target: '#execution.live.stopping',
                          actions: [{ type: 'settleAttempt', params: { outcome: 'not_found' } }, 'stopBecauseResendBlocked'],
                        },
                      ],
                      onError: { target: 'lookupPause', actions: { type: 'settleAttempt', params: ({ event }) => ({ outcome: 'unknown' as const, error: event.error }) } },
                    },
                  },
                  lookupPause: {
                    entry: { type: 'startPause', params: ({ context }) => ({ kind: 'retry' as const, attempts: context.submitAttempts }) },
                    after: { retryBackoff: 'lookingUp' },
                  },
                  retryPause: {
                    entry: { type: 'startPause', params: ({ context }) => ({ kind: 'retry' as const, attempts: context.submitAttempts }) },
                    after: {
                      retryBackoff: [
                        { guard: 'mayResend', target: '#execution.live.trading.submitting' },
                        { target: '#execution.live.stopping', actions: 'stopBecauseResendBlocked' },
                      ],
                    },
                    // Confirmed absent, so nothing needs cancelling; stopping still asks, in case a send lands late.
                    always: { guard: not('mayResend'), target: '#execution.live.stopping', actions: 'stopBecauseResendBlocked' },
                  },
                },
              },
              working: {
                invoke: { id: 'watchOrder', src: 'watchOrder', input: refInput },
                always: [
                  { guard: 'orderFullyFilled', target: '#execution.live.assessing' },
                  { guard: 'orderEndedAtBroker', target: '#execution.live.assessing', actions: { type: 'stopBecause', params: { reason: 'broker_ended' } } },
                ],
              },
            },
          },

          stopping: {
            initial: 'cancelling',
            states: {
              cancelling: {
                entry: 'countCancelAttempt',
                exit: 'forgetRequestedCancel',
                always: { guard: 'orderEndedAtBroker', target: 'confirming' },
                invoke: {
                  id: 'cancelOrder',
                  src: 'cancelOrder',
                  input: ({ context }) => ({ executionId: context.executionId, ref: orderRef(context), alreadyRequested: context.cancelRequested }),
                  onDone: { target: 'confirming', actions: { type: 'mergeReport', params: ({ event }) => ({ report: event.output }) } },
                  // A failed cancel proves nothing; the final-state query decides.
                  onError: 'confirming',
                },
              },
              confirming: {
                invoke: {
                  id: 'confirmOrder',
                  src: 'lookupOrder',
                  input: refInput,
                  onDone: [
                    {
                      guard: 'orderFoundAtBroker',
                      target: 'checkingFinal',
                      actions: [{ type: 'mergeReport', params: ({ event }) => ({ report: event.output }) }, 'markOutcomeKnown'],
                    },
                    { target: '#execution.live.assessing' },
                  ],
                  onError: [{ guard: 'cancelAttemptsLeft', target: 'cancelPause' }, { target: '#execution.live.assessing', actions: 'markOutcomeUncertain' }],
                },
              },
              checkingFinal: {
                always: [
                  { guard: and(['orderStillWorking', 'cancelAttemptsLeft']), target: 'cancelPause' },
                  { target: '#execution.live.assessing' },
                ],
              },
              cancelPause: { entry: { type: 'startPause', params: { kind: 'cancel', attempts: 0 } }, after: { cancelRetryDelay: 'cancelling' } },
            },
          },

          // Rule 4: whatever filled, whenever, is a position; decide protection from what is known.
          assessing: {
            always: [
              { guard: and(['anyQuantityFilled', 'fillPriceKnown']), target: 'protecting' },
              // A fill without a price cannot be protected by formula: never guess, let reconciliation flag it.
              {
                guard: 'anyQuantityFilled',
                target: '#execution.reconciling',
                actions: { type: 'recordProtectionFailure', params: { problem: 'the broker reported a fill without an average price; SL/TP cannot be computed' } },
              },
              { target: '#execution.reconciling' },
            ],
          },

          // Rule 2 and rule 3 AFTER: protection is placed even under a kill switch (it only reduces risk).
          protecting: {
            // The plan is made on every attempt from what has filled by then, so levels, quantity
            // and the average they come from always belong together.
            entry: ['countProtectionAttempt', 'computeProtection'],
            on: { KILL_SWITCH: { actions: { type: 'applyKillSwitch', params: { phase: 'after' } } } },
            invoke: {
              id: 'placeProtection',
              src: 'placeProtection',
              input: ({ context }) => ({
                executionId: context.executionId,
                request: {
                  clientOrderId: protectionIdFor(context.clientOrderId!),
                  symbol: context.snapshot!.symbol,
                  side: context.snapshot!.side,
                  quantity: context.protection!.quantity,
                  stopLoss: context.protection!.stopLoss,
                  takeProfit: context.protection!.takeProfit,
                },
              }),
              onDone: [
                {
                  guard: 'protectionConfirmed',
                  target: '#execution.reconciling',
                  actions: { type: 'recordProtectionPlaced', params: ({ event }) => ({ quantity: event.output.quantity, tickSize: event.output.tickSize }) },
                },
                {
                  target: '#execution.reconciling',
                  actions: { type: 'recordProtectionFailure', params: ({ event }) => ({ problem: `protection rejected: ${event.output.reason ?? 'no reason given'}` }) },
                },
              ],
              onError: [
                { guard: 'protectionRetryable', target: 'protectionPause' },
                { target: '#execution.reconciling', actions: { type: 'recordProtectionFailure', params: ({ event }) => ({ problem: classifyBrokerFailure(event.error).message }) } },
              ],
            },
          },
          protectionPause: { entry: { type: 'startPause', params: { kind: 'protection', attempts: 0 } }, after: { protectionRetryDelay: 'protecting' } },
        },
      },

      // Rule 6: one reconciliation, every difference listed, nothing fixed automatically.
      reconciling: {
        on: { KILL_SWITCH: { actions: { type: 'applyKillSwitch', params: { phase: 'after' } } } },
        invoke: {
          id: 'reconcile',
          src: 'reconcile',
          input: ({ context }) => ({ executionId: context.executionId, ref: orderRef(context), symbol: context.snapshot!.symbol }),
          // Record first, judge next: a guard here would run before the report is assigned.
          onDone: { target: 'judging', actions: { type: 'recordReconciliation', params: ({ event }) => ({ observed: event.output }) } },
          onError: { target: 'flagged', actions: { type: 'recordReconciliationUnavailable', params: ({ event }) => ({ error: event.error }) } },
        },
      },

      judging: {
        always: [{ guard: 'reconciliationMatched', target: 'completed' }, { target: 'flagged' }],
      },

      /** A mismatch (or an unknowable state) waits here for an operator's resolve(). */
      flagged: {
        tags: ['settled', 'awaitingResolution'],
        entry: { type: 'settle', params: { awaitingResolution: true } },
        on: { RESOLVE: { target: 'resolved', actions: 'recordResolution' } },
      },
      completed: { type: 'final', tags: ['settled'], entry: { type: 'settle', params: { awaitingResolution: false } } },
      rejected: { type: 'final', tags: ['settled'], entry: { type: 'settle', params: { awaitingResolution: false } } },
      resolved: { type: 'final', tags: ['settled'], entry: { type: 'settle', params: { awaitingResolution: false } } },
    },
  });
}

/**
 * The machine type, for hosts that invoke it as a child actor.
 *
 * @example
 * const machine: ExecutionMachine = createExecutionMachine({ broker });
 * const snap: SnapshotFrom<ExecutionMachine> = createActor(machine, { input: { snapshot } }).start().getSnapshot();
 */
export type ExecutionMachine = ReturnType<typeof createExecutionMachine>;

const unconfiguredBroker: BrokerAdapter = {
  name: 'unconfigured',
  submitOrder: () => Promise.reject(new BrokerError('no broker configured: build the machine with createExecutionMachine({ broker })', { retryable: false })),
  cancelOrder: () => Promise.reject(new BrokerError('no broker configured', { retryable: false })),
  getOrder: () => Promise.resolve(null),
  getPosition: (symbol) => Promise.resolve({ symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null }),
  placeProtection: () => Promise.reject(new BrokerError('no broker configured', { retryable: false })),
};

/**
 * The execution statechart's definition, for graph traversal, diagrams and hosts that
 * `.provide()` their own actors. It has no broker: to execute, use
 * {@link createExecutionMachine} (or `createEngine`).
 *
 * @example
 * Object.keys(executionMachine.states); // ['validating', 'live', 'reconciling', 'judging', 'flagged', 'completed', 'rejected', 'resolved']
 */
export const executionMachine: ExecutionMachine = createExecutionMachine({ broker: unconfiguredBroker });
