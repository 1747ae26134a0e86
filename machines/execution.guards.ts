/**
 * The execution statechart's guards: each is named after the rule it encodes and reads the
 * context (or the params a transition hands it), never a raw event. Rules themselves are pure
 * functions in `src/rules`; a guard only asks one of them about this execution.
 */
import { classifyBrokerFailure } from '../src/broker/errors.js';
import { MAX_CANCEL_ATTEMPTS, MAX_PROTECTION_ATTEMPTS, MAX_SUBMIT_ATTEMPTS } from '../src/domain/constants.js';
import type { OrderReport, ProtectionReport } from '../src/domain/schemas.js';
import { killSwitchAllowsNewOrders, killSwitchCancelsWorkingOrders } from '../src/rules/killSwitch.js';
import { isTerminalStatus } from '../src/rules/orderReports.js';
import { approvalProblem, expiryProblem, hashProblem } from '../src/rules/preconditions.js';
import { limitProblem, type LimitFacts } from '../src/rules/limits.js';
import type { ExecutionEnv } from './execution.env.js';
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

/** The deadline fired, or its time has come (a resend is checked against the clock, not just the timer). */
const deadlinePassed = (c: ExecutionContext, nowMs: number): boolean => c.deadline === null || c.deadline.passed || nowMs >= c.deadline.at;

export function createGuards(env: ExecutionEnv) {
  const { now } = env;
  return {
    // --- entry preconditions (rules 1, 3 BEFORE, approval, expiry, once per advisory)
    inputWellFormed: ({ context }: On) => context.snapshot !== null,
    resumingExecution: ({ context }: On) => context.recovery !== null && context.recovery.clientOrderId === context.clientOrderId,
    snapshotHashIntact: ({ context }: On) => hashProblem(context.snapshot!) === null,
    approvalPresent: ({ context }: On) => approvalProblem(context.snapshot!, now(), env.approvers) === null,
    notExpired: ({ context }: On) => expiryProblem(context.snapshot!, now()) === null,
    firstExecutionOfAdvisory: ({ context }: On) => !env.advisories.has(context.snapshot!.advisoryId),
    killSwitchAllowsEntry: ({ context }: On) => killSwitchAllowsNewOrders(context.killSwitch.state),
    // --- pre-trade limits, one guard each (true when that limit refuses the order), judged on the facts gathered before the claim
    notTradable: ({ context }: On, params: Facts) => limitProblem('tradable', context.snapshot!, params.facts) !== null,
    exceedsMaxQuantity: ({ context }: On, params: Facts) => limitProblem('quantity', context.snapshot!, params.facts) !== null,
    exceedsMaxNotional: ({ context }: On, params: Facts) => limitProblem('notional', context.snapshot!, params.facts) !== null,
    exceedsMaxPosition: ({ context }: On, params: Facts) => limitProblem('position', context.snapshot!, params.facts) !== null,
    exceedsOrderRate: ({ context }: On, params: Facts) => limitProblem('rate', context.snapshot!, params.facts) !== null,
    outsidePriceCollar: ({ context }: On, params: Facts) => limitProblem('collar', context.snapshot!, params.facts) !== null,
    // --- rule 5, before each resend: each blocker its own guard, so each stop names its reason
    deadlinePassed: ({ context }: On) => deadlinePassed(context, now()),
    submitAttemptsLeft: ({ context }: On) => context.send.attempts < MAX_SUBMIT_ATTEMPTS,
    /**
     * Rule 5 on a venue that forgets client ids once an order is done (Binance): the same id could
     * be a second order. Only a failure proving nothing left this process allows a resend there.
     */
    resendSafeOnVenue: ({ context }: On) => env.venueKeepsClientIds || context.send.lastNotMade,
    // --- while trading
    brokerRejectedOrder: (_: On, params: { report: OrderReport }) => params.report.status === 'rejected',
    brokerRefusedDefinitively: (_: On, params: { error: unknown }) => classifyBrokerFailure(params.error).kind === 'rejected',
    orderFoundAtBroker: (_: On, params: { report: OrderReport | null }) => params.report !== null,
    orderFullyFilled: ({ context }: On) => context.order !== null && context.order.filledQuantity >= context.snapshot!.positionSize,
    orderEndedAtBroker: ({ context }: On) => context.order !== null && isTerminalStatus(context.order.status),
    killSwitchCancelsOrders: ({ context }: On) => killSwitchCancelsWorkingOrders(context.killSwitch.state),
    submitAnswerAwaited: ({ context }: On) => submitAnswerAwaited(context),
    orderStillWorking: ({ context }: On) => context.order !== null && !isTerminalStatus(context.order.status),
    cancelAttemptsLeft: ({ context }: On) => context.cancel.attempts < MAX_CANCEL_ATTEMPTS,
    // --- after the order
    anyQuantityFilled: ({ context }: On) => (context.order?.filledQuantity ?? 0) > 0,
    fillPriceKnown: ({ context }: On) => (context.order?.averageFillPrice ?? 0) > 0,
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
    /** An unknown protection outcome while the order worked waits for its retry (PROTECTION_RETRY). */
    protectionRetryAwaited: ({ context }: On) => context.protection.kind === 'failed' && context.protection.retrying,
    protectionConfirmed: (_: On, params: { report: ProtectionReport }) => params.report.status === 'placed',
    protectionRetryable: ({ context }: On, params: { error: unknown }) =>
      context.protection.kind === 'planned' && context.protection.attempts < MAX_PROTECTION_ATTEMPTS && classifyBrokerFailure(params.error).kind === 'unknown',
    reconciliationMatched: ({ context }: On) => context.reconciliation?.status === 'matched',
  };
}
