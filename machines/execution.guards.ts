/**
 * The execution statechart's guards: each is named after the rule it encodes and reads only the
 * context and the params a transition hands it — never a clock, a registry or the venue: time and
 * the facts of the world outside are in the context (`facts`), read there by actions when the chart
 * needs them. Rules themselves are pure functions in `src/rules`; a guard only asks one of them
 * about this execution. The same guards serve the bare definition and every deployment.
 */
import { classifyBrokerFailure } from '../src/broker/errors.js';
import { MAX_CANCEL_ATTEMPTS, MAX_PROTECTION_ATTEMPTS, MAX_SUBMIT_ATTEMPTS } from '../src/domain/constants.js';
import type { OrderReport, ProtectionReport } from '../src/domain/schemas.js';
import { killSwitchAllowsNewOrders, killSwitchCancelsWorkingOrders } from '../src/rules/killSwitch.js';
import { isTerminalStatus, priceBehindFill } from '../src/rules/orderReports.js';
import { approvalProblem, expiryProblem, hashProblem } from '../src/rules/preconditions.js';
import { limitProblem, type LimitFacts } from '../src/rules/limits.js';
import type { KillSwitchState } from '../src/domain/constants.js';
import type { ExecutionContext } from './execution.types.js';

type On = { readonly context: ExecutionContext };
/** A limit guard judges the facts its transition hands it (the answer of `readLimitFacts`). */
type Facts = { readonly facts: LimitFacts };

/** A submit request is out and its answer (or its call limit) has not come yet. */
export const submitAnswerAwaited = (c: ExecutionContext): boolean => {
  const last = c.attempts.at(-1);
  return last !== undefined && last.kind === 'submit' && last.outcome === 'in_flight';
};

/** See the guard of the same name: a pure reading of the context, shared with the invariant checks. */
export const filledBeyondProtected = (c: ExecutionContext): boolean => {
  const filled = c.order?.filledQuantity ?? 0;
  if (!(filled > 0) || !((c.order?.averageFillPrice ?? 0) > 0)) return false;
  const p = c.protection;
  if (p.kind === 'none') return true;
  if (p.kind === 'planned' || p.plan === null) return false;
  return filled > p.plan.quantity;
};

/**
 * Rule 3 DURING, decided once: in `live.trading` a switch that cancels working orders stops
 * trading at once, unless a submit's answer is awaited (the cancel must not overtake the order it
 * cancels; the stop comes with the answer). The chart's region rule is this guard
 * (`killSwitchStopsTrading`); the engine asks it with a switch state not yet told
 * (`killSwitchCancelTarget`) to request every such cancel in one batch.
 */
export const killSwitchStopsTrading = (c: ExecutionContext, state: KillSwitchState = c.killSwitch.state): boolean => killSwitchCancelsWorkingOrders(state) && !submitAnswerAwaited(c);

/** The broker said the order is over (filled, cancelled, rejected): nothing left to cancel. */
export const orderEnded = (c: ExecutionContext): boolean => c.order !== null && isTerminalStatus(c.order.status);

/**
 * The guards, one per rule they encode. `facts.now` is the clock as an action last read it for
 * the chart: at the start (validation) and on entering `checkingResend` (rule 5).
 */
export const executionGuards = {
    // --- entry preconditions (rules 1, 3 BEFORE, approval, expiry, once per advisory)
    inputWellFormed: ({ context }: On) => context.snapshot !== null,
    resumingExecution: ({ context }: On) => context.recovery !== null && context.recovery.clientOrderId === context.clientOrderId,
    snapshotHashIntact: ({ context }: On) => hashProblem(context.snapshot!) === null,
    approvalPresent: ({ context }: On) => approvalProblem(context.snapshot!, context.facts.now, context.facts.approvers) === null,
    notExpired: ({ context }: On) => expiryProblem(context.snapshot!, context.facts.now) === null,
    firstExecutionOfAdvisory: ({ context }: On) => !context.facts.advisoryKnown,
    killSwitchAllowsEntry: ({ context }: On) => killSwitchAllowsNewOrders(context.killSwitch.state),
    // --- pre-trade limits, one guard each (true when that limit refuses the order), judged on the facts gathered before the claim
    notTradable: ({ context }: On, params: Facts) => limitProblem('tradable', context.snapshot!, params.facts) !== null,
    exceedsMaxQuantity: ({ context }: On, params: Facts) => limitProblem('quantity', context.snapshot!, params.facts) !== null,
    exceedsMaxNotional: ({ context }: On, params: Facts) => limitProblem('notional', context.snapshot!, params.facts) !== null,
    exceedsMaxPosition: ({ context }: On, params: Facts) => limitProblem('position', context.snapshot!, params.facts) !== null,
    exceedsOrderRate: ({ context }: On, params: Facts) => limitProblem('rate', context.snapshot!, params.facts) !== null,
    outsidePriceCollar: ({ context }: On, params: Facts) => limitProblem('collar', context.snapshot!, params.facts) !== null,
    // --- rule 5, before each resend: each blocker its own guard, so each stop names its reason
    /** The deadline fired, or its time has come (a resend is checked against the clock as read on entering `checkingResend`, not just the timer). */
    deadlinePassed: ({ context }: On) => context.deadline === null || context.deadline.passed || context.facts.now >= context.deadline.at,
    submitAttemptsLeft: ({ context }: On) => context.send.attempts < MAX_SUBMIT_ATTEMPTS,
    /**
     * Rule 5 on a venue that forgets client ids once an order is done (Binance): the same id could
     * be a second order. Only a failure proving nothing left this process allows a resend there.
     */
    resendSafeOnVenue: ({ context }: On) => context.facts.venueKeepsClientIds || context.send.lastNotMade,
    /** Rule 5: the pause before this resend is over (`checkingResend` then checks every precondition again, and sends). */
    retryPauseServed: ({ context }: On) => context.send.pauseServed,
    // --- while trading
    brokerRejectedOrder: (_: On, params: { report: OrderReport }) => params.report.status === 'rejected',
    brokerRefusedDefinitively: (_: On, params: { error: unknown }) => classifyBrokerFailure(params.error).kind === 'rejected',
    orderFoundAtBroker: (_: On, params: { report: OrderReport | null }) => params.report !== null,
    orderFullyFilled: ({ context }: On) => context.order !== null && context.order.filledQuantity >= context.snapshot!.positionSize,
    orderEndedAtBroker: ({ context }: On) => orderEnded(context),
    /** Rule 3 DURING, the region rule of `live.trading` (see {@link killSwitchStopsTrading}). */
    killSwitchStopsTrading: ({ context }: On) => killSwitchStopsTrading(context),
    orderStillWorking: ({ context }: On) => context.order !== null && !isTerminalStatus(context.order.status),
    /** Rule 4's window is still open, as the clock was last read (the watch after a cancel lasts until it closes). */
    windowOpen: ({ context }: On) => context.deadline !== null && !context.deadline.passed && context.facts.now < context.deadline.at,
    /** A send no answer confirmed or ruled out: the order may exist, or appear (rule 3 after, rule 4). */
    sendOutcomeUncertain: ({ context }: On) => context.send.outcomeUncertain,
    /** The broker has told of the order (an answer, a look-up or a push): it exists. */
    orderKnown: ({ context }: On) => context.order !== null,
    cancelAttemptsLeft: ({ context }: On) => context.cancel.attempts < MAX_CANCEL_ATTEMPTS,
    // --- after the order
    anyQuantityFilled: ({ context }: On) => (context.order?.filledQuantity ?? 0) > 0,
    fillPriceKnown: ({ context }: On) => (context.order?.averageFillPrice ?? 0) > 0,
    /** Rule 2: part of what filled has no reported price, and the broker was not yet asked for it at this filled quantity. */
    fillPriceUnasked: ({ context }: On) => context.order !== null && priceBehindFill(context.order) && context.facts.priceAskedAt !== context.order.filledQuantity,
    /**
     * Rule 2 as fills land: a priced fill exceeds what protection was last asked to cover, and no
     * protection request is out. Covers the first fill, each later fill (an amend), and a fill that
     * came after an attempt failed (tried again at once).
     */
    filledBeyondProtected: ({ context }: On) => filledBeyondProtected(context),
    /** The protection the venue confirmed is already for the final filled quantity at its average: nothing to amend. */
    protectedAsFilled: ({ context }: On) => {
      const p = context.protection;
      const o = context.order;
      return p.kind === 'placed' && o !== null && p.plan.quantity === o.filledQuantity && p.plan.averageFillPrice === o.averageFillPrice;
    },
    /**
     * A protection request is out and its answer (or its call's time limit) has not come. The next
     * request for the same protective id waits for it: two requests out at once may reach the venue
     * in either order, and an older one landing last would leave the older levels in place.
     */
    protectionInFlight: ({ context }: On) => context.protection.kind === 'planned',
    /** An unknown protection outcome while the order worked waits for its retry (PROTECTION_RETRY). */
    protectionRetryAwaited: ({ context }: On) => context.protection.kind === 'failed' && context.protection.retrying,
    protectionConfirmed: (_: On, params: { report: ProtectionReport }) => params.report.status === 'placed',
    protectionRetryable: ({ context }: On, params: { error: unknown }) =>
      context.protection.kind === 'planned' && context.protection.attempts < MAX_PROTECTION_ATTEMPTS && classifyBrokerFailure(params.error).kind === 'unknown',
    reconciliationMatched: ({ context }: On) => context.reconciliation?.status === 'matched',
};
