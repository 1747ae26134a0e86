/**
 * The execution statechart's invoked actors: each is one broker call (or the advisory claim)
 * through the env's checked boundary — bounded, validated, journaled — and nothing else. What
 * each learns reaches the execution through one path, the execution's mailbox (`env.deliver`):
 * the boundary delivers broker answers, failures and pushes; the actors deliver what the host
 * answers (the claim, the limit facts, a cancel the kill switch already requested).
 * `notProvided` stands in for the broker calls and the claim in the bare definition, `executionMachine`.
 */
import { fromCallback, fromPromise } from 'xstate';
import { BrokerError, describeThrown } from '../src/broker/errors.js';
import type { OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from '../src/domain/schemas.js';
import { nextPollDelay } from '../src/rules/polling.js';
import { NO_LIMIT_FACTS, type LimitFacts } from '../src/rules/limits.js';
import type { AdvisoryClaim, ExecutionEnv, LimitFactsRequest } from './execution.env.js';
import type { ExecutionEvent } from './execution.types.js';

type Call<I> = { readonly executionId: string } & I;
/**
 * What reconciliation reads: the order, the position, and the net position of the host's other
 * executions on the symbol as it stood when the position was asked for and when its answer was
 * taken in. The venue measured the position in between; without `others`, the net position is
 * read when the reconciliation is recorded.
 */
export type ReconcileAnswer = {
  readonly order: OrderReport | null;
  readonly position: PositionReport;
  readonly others?: { readonly asked: number; readonly answered: number; readonly low?: number; readonly high?: number };
};

/** The actors' logic, typed; `createActors(env)` and `notProvided` both have this shape. */
export const actorTypes = {
  // The bare definition has no limits: nothing to gather, every limit passes.
  readLimitFacts: fromPromise<LimitFacts, LimitFactsRequest>(() => Promise.resolve(NO_LIMIT_FACTS)),
  claimAdvisory: fromPromise<void, AdvisoryClaim>(() => notProvided('claimAdvisory')),
  submitOrder: fromPromise<OrderReport, Call<{ request: OrderRequest; protectOnFill?: OrderRequest['protectOnFill'] }>>(() => notProvided('submitOrder')),
  lookupOrder: fromPromise<OrderReport | null, Call<{ ref: OrderRef }>>(() => notProvided('lookupOrder')),
  cancelOrder: fromPromise<OrderReport, Call<{ ref: OrderRef; alreadyRequested: boolean }>>(() => notProvided('cancelOrder')),
  placeProtection: fromPromise<ProtectionReport, Call<{ request: ProtectionRequest }>>(() => notProvided('placeProtection')),
  reconcile: fromPromise<ReconcileAnswer, Call<{ ref: OrderRef; symbol: string }>>(() => notProvided('reconcile')),
  watchOrder: fromCallback<ExecutionEvent, Call<{ ref: OrderRef }>>(() => {
    throw notProvidedError('watchOrder');
  }),
  orderFeed: fromCallback<ExecutionEvent, Call<{ clientOrderId: string }>>(() => {
    throw notProvidedError('orderFeed');
  }),
};

function notProvidedError(name: string): BrokerError {
  return new BrokerError(`${name} is not provided: build the machine with createExecutionMachine({ broker }) or createEngine`, { retryable: false, code: 'not_provided' });
}
const notProvided = (name: string): Promise<never> => Promise.reject(notProvidedError(name));

export function createActors(env: ExecutionEnv): typeof actorTypes {
  const { broker, clock, deliver } = env;
  /**
   * The host's answer reaches the execution through its mailbox, like a broker's: told of the
   * switch first. It answers a step the execution is taking, so it is taken in at once (`'now'`).
   */
  const handOver = <T>(executionId: string, answer: Promise<T>): Promise<T> =>
    answer.then(
      (v) => deliver(executionId, () => v, 'now'),
      (e: unknown) =>
        deliver(
          executionId,
          () => {
            throw e;
          },
          'now',
        ),
    );
  const reconcileOnce = (executionId: string, ref: OrderRef, symbol: string): Promise<ReconcileAnswer> => {
    const fleet = env.fleetPosition;
    // On a fleet, the other executions are read from the store just before the position is asked
    // for and just after its answer; their open orders widen what the venue may have measured.
    if (fleet) {
      const order = broker.getOrder(executionId, ref);
      const measured = fleet(symbol, executionId).then((asked) =>
        broker.getPosition(executionId, symbol).then((position) => handOver(executionId, fleet(symbol, executionId)).then((answered) => ({ position, asked, answered }))),
      );
      return Promise.all([order, measured]).then(([found, { position, asked, answered }]) => ({
        order: found,
        position,
        others: { asked: asked.net, answered: answered.net, low: Math.min(asked.low, answered.low), high: Math.max(asked.high, answered.high) },
      }));
    }
    const asked = env.otherPositionQuantity(symbol, executionId);
    return Promise.all([
      broker.getOrder(executionId, ref),
      broker.getPosition(executionId, symbol).then((position) => ({ position, answered: env.otherPositionQuantity(symbol, executionId) })),
    ]).then(([order, { position, answered }]) => ({ order, position, others: { asked, answered } }));
  };
  return {
    // The facts are delivered like a broker's answer: a switch that moved meanwhile is heard first.
    // The actor's signal is aborted when the chart leaves `checkingLimits`: the execution ended.
    readLimitFacts: fromPromise<LimitFacts, LimitFactsRequest>(({ input, signal }) => handOver(input.executionId, env.readLimitFacts(input, signal))),
    // The store's answer is delivered like a broker's: a switch that moved meanwhile is heard first.
    claimAdvisory: fromPromise<void, AdvisoryClaim>(({ input }) =>
      handOver(
        input.executionId,
        (async () => {
          try {
            await env.advisories.claim(input);
          } catch (e) {
            // Nothing is sent without a claim on record: a refusal, never an unknown outcome. Held by
            // another execution, or not recorded (the store failed or did not answer).
            const code = e instanceof BrokerError && e.code === 'duplicate_advisory' ? 'duplicate_advisory' : 'journal_unavailable';
            const why = code === 'duplicate_advisory' ? 'already claimed (a previous run executed it, or an execution holds it now)' : describeThrown(e);
            throw new BrokerError(`advisory ${input.advisoryId}: ${why}`, { retryable: false, code, cause: e });
          }
        })(),
      ),
    ),
    // A venue that attaches the stop to the entry order is told the snapshot's offsets; others get the plain request.
    // Broker calls: the boundary delivers each answer (or failure) through the mailbox.
    submitOrder: fromPromise(({ input }) => broker.submitOrder(input.executionId, env.venueProtectsOnFill && input.protectOnFill ? { ...input.request, protectOnFill: input.protectOnFill } : input.request)),
    lookupOrder: fromPromise(({ input }) => broker.getOrder(input.executionId, input.ref)),
    cancelOrder: fromPromise(({ input }) => {
      // The kill switch fan-out may have sent this cancel already: its answer is this cancel's answer.
      const requested = input.alreadyRequested ? env.requestedCancel(input.executionId) : undefined;
      return requested ? handOver(input.executionId, requested) : broker.cancelOrder(input.executionId, input.ref);
    }),
    placeProtection: fromPromise(({ input }) => broker.placeProtection(input.executionId, input.request)),
    // Exactly one getOrder and one getPosition (rule 6), asked together; each bounded and checked
    // to be about this order and this symbol.
    reconcile: fromPromise(({ input }) => reconcileOnce(input.executionId, input.ref, input.symbol)),
    /** Polls the order while it works; every answer becomes an ORDER_UPDATE. */
    watchOrder: fromCallback(({ input, sendBack }) => {
      let stopped = false;
      let timer: unknown;
      // A venue that pushes is polled at the engine's interval, as a backstop; one that does not is
      // polled fast while a fill is most likely, then less and less often (rules/polling.ts).
      const since = clock.now();
      const delay = () => (env.venuePushes ? env.pollIntervalMs : nextPollDelay(clock.now() - since, env.pollIntervalMs, env.minPollIntervalMs));
      // The poll's answer was delivered through the mailbox; its event goes straight on.
      const report = (event: ExecutionEvent) => {
        if (!stopped) sendBack(event);
      };
      const poll = async () => {
        try {
          const found = await broker.getOrder(input.executionId, input.ref);
          report(found === null ? { type: 'POLL_FAILED', error: 'broker does not know the order' } : { type: 'ORDER_UPDATE', report: found });
        } catch (e) {
          const code = e instanceof BrokerError ? e.code : undefined;
          // An answer about another order, or one that cannot be read, is reported as such; silence or a failure is a failed poll.
          report(code === 'wrong_order' || code === 'unreadable_answer' ? { type: 'REPORT_INVALID', problem: 'unreadable poll answer' } : { type: 'POLL_FAILED', error: describeThrown(e) });
        }
        if (!stopped) timer = clock.setTimeout(poll, delay());
      };
      timer = clock.setTimeout(poll, delay());
      return () => {
        stopped = true;
        clock.clearTimeout(timer);
      };
    }),
    /** Push updates from the broker, filtered to this execution's order, delivered through its mailbox. */
    orderFeed: fromCallback(({ input, sendBack }) =>
      broker.subscribe(
        input.executionId,
        input.clientOrderId,
        (report) => sendBack({ type: 'ORDER_UPDATE', report }),
        (problem) => sendBack({ type: 'REPORT_INVALID', problem }),
      ),
    ),
  };
}
