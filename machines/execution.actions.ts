/**
 * The execution statechart's actions: each updates the context (or tells the host something)
 * and decides nothing — the chart's transitions and guards decide. Times come from the env's
 * clock when an action runs; delays then read what was stored.
 */
import { assign, enqueueActions, type ParameterizedObject } from 'xstate';
import { BrokerError, classifyBrokerFailure, describeThrown } from '../src/broker/errors.js';
import { CANCEL_RETRY_DELAY_MS, ErrorCode, HARD_TIMEOUT_MS, KillSwitchState, PROTECTION_RETRY_DELAY_MS, RETRY_BACKOFF_MS } from '../src/domain/constants.js';
import type { Attempt, ExecutionError, ReconciliationReport } from '../src/domain/result.js';
import type { OrderReport } from '../src/domain/schemas.js';
import { mostSevere } from '../src/rules/killSwitch.js';
import { mergeOrderReport } from '../src/rules/orderReports.js';
import type { StopReason } from '../src/rules/outcome.js';
import { approvalProblem, expiryProblem, hashProblem, killSwitchProblem } from '../src/rules/preconditions.js';
import { protectiveLevels, signedQuantity } from '../src/rules/protection.js';
import { diffReconciliation } from '../src/rules/reconciliation.js';
import { limitProblem, priceBoundFor, type LimitCheck, type LimitFacts } from '../src/rules/limits.js';
import type { ReconcileAnswer } from './execution.actors.js';
import type { ExecutionEnv } from './execution.env.js';
import { buildExecutionResult } from './execution.result.js';
import type { ExecutionContext, ExecutionEmitted, ExecutionEvent, ExecutionHostEvent, KillSwitchPhase } from './execution.types.js';

type Args = { readonly context: ExecutionContext; readonly event: ExecutionEvent };
/** An `assign` typed for this machine, with the params a transition hands it. */
const update = <P extends ParameterizedObject['params'] | undefined = undefined>(fn: (args: Args, params: P) => Partial<ExecutionContext>) =>
  assign<ExecutionContext, ExecutionEvent, P, ExecutionEvent, never>(fn as never);
/**
 * Tells the host: emitted to whoever listens with `actor.on(type, …)`, and, when the execution runs
 * as a child actor (invoked or spawned by a parent machine), also sent to that parent as
 * `warden.<type>` with the execution's id, so a parent chart reacts with `on: { 'warden.fill': … }`.
 */
const tell = <P extends ParameterizedObject['params'] | undefined = undefined>(fn: (args: Args, params: P) => ExecutionEmitted) =>
  enqueueActions<ExecutionContext, ExecutionEvent, P, ExecutionEvent, never, never, never, never, ExecutionEmitted>(({ context, event, enqueue, self }, params) => {
    const emitted = fn({ context, event }, params as P);
    enqueue.emit(emitted);
    if (self._parent !== undefined) enqueue.sendParent({ ...emitted, type: `warden.${emitted.type}`, executionId: context.executionId } as ExecutionHostEvent);
  });

/** A precondition rule 1, 3, 5 or the approval names, checked again to say why it failed. */
export type PreconditionCheck = 'hash' | 'approval' | 'expiry' | 'killSwitch';

const isoAt = (ms: number): string => new Date(ms).toISOString();
const settleLast = (attempts: readonly Attempt[], patch: Partial<Attempt>): Attempt[] => attempts.map((a, i) => (i === attempts.length - 1 ? { ...a, ...patch } : a));
const newAttempt = (c: ExecutionContext, kind: Attempt['kind'], nowMs: number): Attempt => ({
  number: c.attempts.length + 1,
  kind,
  clientOrderId: c.clientOrderId!,
  quantity: kind === 'submit' ? c.snapshot!.positionSize : 0,
  at: isoAt(nowMs),
  stage: 'submitted',
  outcome: 'in_flight',
  error: null,
});

export function createActions(env: ExecutionEnv) {
  const { now } = env;
  const problemWith = (c: ExecutionContext, check: PreconditionCheck): ExecutionError | null => {
    const s = c.snapshot!;
    if (check === 'hash') return hashProblem(s);
    if (check === 'approval') return approvalProblem(s, c.facts.now, c.facts.approvers);
    if (check === 'expiry') return expiryProblem(s, c.facts.now);
    return killSwitchProblem(c.killSwitch.state);
  };
  /** The first reason to stop is the one the result gives; later ones do not overwrite it. */
  const stopWith = (c: ExecutionContext, reason: StopReason, error: ExecutionError | null): Partial<ExecutionContext> => (c.stop !== null ? {} : { stop: { reason, error } });
  const refuse = (error: ExecutionError | null): Partial<ExecutionContext> => ({ stop: { reason: 'refused', error } });
  const consumedIf = (error: ExecutionError | null, claimed: boolean): ExecutionError | null =>
    error && claimed ? { ...error, message: `${error.message}; the advisory's claim was already recorded, so it is consumed (nothing was sent): approve it again as a new advisory to trade it` } : error;

  return {
    /**
     * The start, and what the guards will need to know of the world outside, read once and kept as
     * data: the clock (a start the input gave is kept), whether the host's registry already knows
     * the advisory, whether the venue keeps client ids, the approvers' keys.
     */
    markStarted: update(({ context }) => {
      const startedAt = context.startedAt > 0 ? context.startedAt : now(context);
      return {
        startedAt,
        facts: {
          now: startedAt,
          advisoryKnown: context.snapshot !== null && env.advisories.has(context.snapshot.advisoryId),
          venueKeepsClientIds: env.venueKeepsClientIds,
          approvers: env.approvers,
          priceAskedAt: 0,
        },
      };
    }),
    /** Rule 2: the broker is being asked for the price of what filled, at this filled quantity (once per quantity). */
    notePriceAsked: update(({ context }) => ({ facts: { ...context.facts, priceAskedAt: context.order?.filledQuantity ?? 0 } })),
    /** The clock's reading, kept for the guards that judge time (rule 5, before a resend: the deadline and the expiry). */
    readClock: update(({ context }) => ({ facts: { ...context.facts, now: now(context) } })),
    // --- refusals before anything is sent
    /**
     * A precondition refuses the order. `claimed`: the advisory's claim was already recorded when the
     * refusal came (the switch moved while it was written); a claim is never taken back, so the
     * message says the advisory is consumed.
     */
    refuseBecause: update(({ context }, params: { check: PreconditionCheck; claimed?: boolean }) => ({
      ...refuse(consumedIf(problemWith(context, params.check), params.claimed === true)),
      ...(params.check === 'killSwitch' ? { killSwitch: { ...context.killSwitch, phase: 'before' as const, seen: context.killSwitch.state } } : {}),
    })),
    refuseDuplicate: update(() => refuse({ code: ErrorCode.DuplicateAdvisory, message: 'this advisory has already been executed' })),
    /** A pre-trade limit refused the order: its code, and a message naming the limit, the value and the figure. */
    refuseLimit: update(({ context }, params: { limit: LimitCheck; facts: LimitFacts }) => refuse(limitProblem(params.limit, context.snapshot!, params.facts))),
    refuseLimitsUnread: update((_, params: { error: unknown }) => refuse({ code: ErrorCode.Internal, message: `the limits could not be checked, so nothing was sent: ${describeThrown(params.error)}` })),
    /** The collar travels with the order to an adapter that can bound the fill price at the venue. */
    notePriceBound: update(({ context }, params: { facts: LimitFacts }) => ({ send: { ...context.send, priceBound: priceBoundFor(context.snapshot!, params.facts.limits) } })),
    refuseUnclaimed: update((_, params: { error: unknown }) => {
      const failure = classifyBrokerFailure(params.error);
      return refuse({ code: failure.code === 'duplicate_advisory' ? ErrorCode.DuplicateAdvisory : ErrorCode.JournalUnavailable, message: `the advisory could not be claimed: ${failure.message}` });
    }),

    // --- rule 4: the deadline, fixed once and kept in the context for its timer
    fixHardDeadline: update(({ context }) => ({ deadline: { at: now(context) + HARD_TIMEOUT_MS, windowMs: HARD_TIMEOUT_MS, passed: false } })),
    /** The timer waits what is left of the fixed deadline when trading starts (the claim took some of it). */
    armHardDeadline: update(({ context }) => ({ deadline: { at: context.deadline!.at, windowMs: Math.min(HARD_TIMEOUT_MS, Math.max(0, context.deadline!.at - now(context))), passed: false } })),
    restoreExecution: update(({ context }) => {
      const r = context.recovery!;
      const ks = context.killSwitch;
      const engaged = ks.state !== KillSwitchState.Off;
      return {
        // A switch set while no engine ran meets this execution mid-flight: DURING, as if heard now.
        ...(engaged ? { killSwitch: { ...ks, phase: ks.phase ?? ('during' as const), seen: mostSevere(ks.seen, ks.state) } } : {}),
        // A clock that reads earlier than the claim's never stretches the window past HARD_TIMEOUT_MS.
        deadline: { at: r.deadlineAt, windowMs: Math.min(HARD_TIMEOUT_MS, Math.max(0, r.deadlineAt - now(context))), passed: false },
        // Nobody knows what became of the last send: the look-up that follows decides.
        send: { ...context.send, attempts: r.submitAttempts, unconfirmed: true },
      };
    }),
    markDeadlinePassed: update(({ context }) => ({ deadline: { ...context.deadline!, passed: true } })),
    /** Rule 5: the pause before a resend is over; `checkingResend` checks every precondition again before it sends. */
    serveRetryPause: update(({ context }) => ({ send: { ...context.send, pauseServed: true } })),
    /** Each pause's length is decided when it starts and kept in the context, where its timer reads it. */
    startPause: update((_, params: { kind: 'retry' | 'cancel' | 'protection'; attempts: number }) => ({
      pauseMs: params.kind === 'cancel' ? CANCEL_RETRY_DELAY_MS : params.kind === 'protection' ? PROTECTION_RETRY_DELAY_MS : (RETRY_BACKOFF_MS[Math.min(params.attempts, RETRY_BACKOFF_MS.length - 1)] ?? 0),
    })),

    // --- sending and looking up
    recordSubmitAttempt: update(({ context }) => ({
      send: { ...context.send, attempts: context.send.attempts + 1, lastNotMade: false, unconfirmed: true, pauseServed: false },
      attempts: [...context.attempts, newAttempt(context, 'submit', now(context))],
    })),
    recordLookupAttempt: update(({ context }) => ({ attempts: [...context.attempts, newAttempt(context, 'lookup', now(context))] })),
    settleAttempt: update(({ context }, params: { outcome: Attempt['outcome']; error?: unknown }) => ({
      send: {
        ...context.send,
        // Any answer but "unknown" settles whether the order exists — except that "not found" proves
        // nothing on a venue whose look-ups may lag and whose ids are not durable.
        unconfirmed: params.outcome === 'unknown' || (params.outcome === 'not_found' && !context.facts.venueKeepsClientIds) ? context.send.unconfirmed : false,
        lastNotMade:
          params.outcome === 'unknown' && context.attempts.at(-1)?.kind === 'submit' ? params.error instanceof BrokerError && params.error.code === 'not_sent' : context.send.lastNotMade,
      },
      attempts: settleLast(context.attempts, {
        outcome: params.outcome,
        stage: params.outcome === 'acknowledged' || params.outcome === 'found' ? 'pending' : 'submitted',
        error: params.error === undefined ? null : classifyBrokerFailure(params.error).message,
      }),
    })),
    mergeReport: update(({ context }, params: { report: OrderReport | null | undefined }) => {
      if (!params.report) return {};
      const order = mergeOrderReport(context.order, params.report);
      const full = order.filledQuantity >= context.snapshot!.positionSize;
      return { order, fullFillKnownAt: full && context.fullFillKnownAt === null ? now(context) : context.fullFillKnownAt };
    }),
    /** A pushed report proves the order exists: a look-up still in flight is answered by it. */
    adoptPushedOrder: update(({ context }) => ({
      send: { ...context.send, unconfirmed: false },
      attempts: context.attempts.at(-1)?.outcome === 'in_flight' ? settleLast(context.attempts, { outcome: 'found', stage: 'pending' }) : context.attempts,
    })),
    markOutcomeUncertain: update(({ context }) => ({ send: { ...context.send, outcomeUncertain: true } })),
    /** A send that no answer has confirmed or ruled out leaves the outcome uncertain. */
    carryUnconfirmedSend: update(({ context }) => ({ send: { ...context.send, outcomeUncertain: context.send.outcomeUncertain || context.send.unconfirmed } })),
    markOutcomeKnown: update(({ context }) => ({ send: { ...context.send, outcomeUncertain: false } })),

    // --- why trading stopped
    stopBecause: update(({ context }, params: { reason: StopReason; error?: ExecutionError }) => stopWith(context, params.reason, params.error ?? null)),
    /** Rule 5: a resend a precondition forbids stops with that precondition's own reason. */
    stopBeforeResend: update(({ context }, params: { check: PreconditionCheck | 'deadline' | 'attempts' }) => {
      if (params.check === 'deadline') return stopWith(context, 'deadline', null);
      if (params.check === 'attempts') return stopWith(context, 'retries_exhausted', { code: ErrorCode.RetriesExhausted, message: `${context.send.attempts} submission attempts without a definitive answer` });
      return stopWith(context, params.check === 'killSwitch' ? 'kill_switch' : 'unrecoverable', problemWith(context, params.check));
    }),
    stopForBrokerRefusal: update(({ context }, params: { error: unknown }) => {
      const failure = classifyBrokerFailure(params.error);
      return stopWith(context, 'broker_rejected', { code: failure.code === 'journal_unavailable' ? ErrorCode.JournalUnavailable : ErrorCode.BrokerRejected, message: failure.message });
    }),
    stopForRejectedReport: update(({ context }) => stopWith(context, 'broker_rejected', { code: ErrorCode.BrokerRejected, message: context.order?.reason ?? 'the broker rejected the order' })),

    // --- rule 3: the kill switch as this execution hears it
    /** `phase: null` tracks the switch without it having met the execution yet (before anything was sent, the claim decides). */
    applyKillSwitch: update(({ context, event }, params: { phase: KillSwitchPhase | null }) => {
      if (event.type !== 'KILL_SWITCH') return {};
      const engaged = event.state !== KillSwitchState.Off;
      const ks = context.killSwitch;
      return {
        killSwitch: { state: event.state, phase: engaged && ks.phase === null ? params.phase : ks.phase, seen: engaged && params.phase !== null ? mostSevere(ks.seen, event.state) : ks.seen },
        // The host already asked the broker to cancel (the fan-out): stopping waits for that answer.
        ...(params.phase === 'during' && event.cancelRequested === true ? { cancel: { ...context.cancel, requested: true } } : {}),
      };
    }),
    countCancelAttempt: update(({ context }) => ({ cancel: { ...context.cancel, attempts: context.cancel.attempts + 1 } })),
    /** A cancel the fan-out requested counts once; a later attempt sends its own. */
    forgetRequestedCancel: update(({ context }) => ({ cancel: { ...context.cancel, requested: false } })),

    // --- rule 2: protection from the actual fill
    /**
     * The plan is made on every attempt from what has filled by then, so levels, quantity and price
     * belong together. Attempts count tries of one plan: an amend for a new fill starts again at one.
     */
    planProtection: update(({ context }) => {
      const s = context.snapshot!;
      const averageFillPrice = context.order!.averageFillPrice!;
      const quantity = context.order!.filledQuantity;
      const plan = { ...protectiveLevels(s.side, averageFillPrice, s.slOffsetPct, s.tpOffsetPct), quantity, averageFillPrice };
      const p = context.protection;
      const samePlan = p.kind !== 'none' && p.plan !== null && p.plan.quantity === quantity && p.plan.averageFillPrice === averageFillPrice;
      return { protection: { kind: 'planned', plan, attempts: samePlan ? p.attempts + 1 : 1 } };
    }),
    recordProtectionPlaced: update(({ context }, params: { quantity: number; tickSize: number | undefined }) =>
      context.protection.kind === 'planned' ? { protection: { ...context.protection, kind: 'placed', quantity: params.quantity, tick: params.tickSize ?? null } } : {},
    ),
    recordProtectionFailure: update(({ context }, params: { problem: string }) => {
      const p = context.protection;
      return { protection: { kind: 'failed', plan: p.kind === 'none' ? null : p.plan, attempts: p.kind === 'none' ? 0 : p.attempts, error: params.problem, retrying: false } };
    }),
    /** While the order works, an unknown outcome is tried again after PROTECTION_RETRY_DELAY_MS (the chart raises PROTECTION_RETRY). */
    recordProtectionUnknown: update(({ context }, params: { problem: string }) => {
      const p = context.protection;
      return p.kind === 'planned' ? { protection: { kind: 'failed', plan: p.plan, attempts: p.attempts, error: params.problem, retrying: true } } : {};
    }),

    // --- rule 6: one reconciliation
    recordReconciliation: update(({ context }, params: { observed: ReconcileAnswer }) => {
      const s = context.snapshot!;
      const othersOn = (o: ReconcileAnswer) =>
        o.others ? { priorPositionQuantity: o.others.answered, priorPositionQuantityAsked: o.others.asked, ...(o.others.low !== undefined && o.others.high !== undefined ? { priorPositionRange: { low: o.others.low, high: o.others.high } } : {}) } : { priorPositionQuantity: env.otherPositionQuantity(s.symbol, context.executionId) };
      const p = context.protection;
      const placed = p.kind === 'placed' ? p : null;
      const diff = diffReconciliation(
        {
          symbol: s.symbol,
          side: s.side,
          order: context.order,
          ...othersOn(params.observed),
          protection: p.kind === 'none' ? null : p.plan,
          protectedQuantity: placed?.quantity ?? 0,
          priceTick: placed?.tick ?? null,
          outcomeUncertain: context.send.outcomeUncertain,
          positionSize: s.positionSize,
          protectionFailure: p.kind === 'failed' ? p.error : p.kind === 'planned' ? 'protection was not confirmed' : null,
        },
        params.observed,
      );
      const report: ReconciliationReport = { ...diff, checkedAt: isoAt(now(context)), queries: { getOrder: 1, getPosition: 1 } };
      return { reconciliation: report };
    }),
    recordReconciliationUnavailable: update(({ context }, params: { error: unknown }) => ({
      reconciliation: {
        status: 'unavailable' as const,
        checkedAt: isoAt(now(context)),
        mismatches: [{ field: 'broker', expected: 'answer', actual: null, message: `reconciliation query failed: ${describeThrown(params.error)}` }],
        queries: { getOrder: 1, getPosition: 1 },
      },
    })),

    // --- the end
    settle: update(({ context }, params: { awaitingResolution: boolean }) => ({ result: buildExecutionResult(context, now(context), params.awaitingResolution) })),

    // --- what the host hears
    reportUnhandled: tell(({ event }) => ({ type: 'unhandled', event: { type: event.type } })),
    reportFill: tell(({ context }) => ({ type: 'fill', symbol: context.snapshot!.symbol, signedQuantity: signedQuantity(context.snapshot!.side, context.order?.filledQuantity ?? 0) })),
    reportSettled: tell(({ context }, params: { state: string }) => ({ type: 'settled', result: context.result!, state: params.state })),
  };
}
