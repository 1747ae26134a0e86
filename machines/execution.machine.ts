/**
 * The lifecycle of one frozen snapshot, as an XState v5 statechart. This file is the chart and
 * nothing else: guards (execution.guards.ts) are named after the rule they encode, actions
 * (execution.actions.ts) update the context, actors (execution.actors.ts) are the broker calls.
 * `executionMachine` is the complete definition; `createExecutionMachine(deps)` supplies its
 * parts with `.provide()`.
 *
 * Read the `createMachine` config as the specification. The generated diagram is in
 * docs/execution-machine.md.
 */
import { and, cancel, not, raise, setup, spawnChild, type SnapshotFrom } from 'xstate';
import { randomUUID } from 'node:crypto';
import type { BrokerAdapter } from '../src/broker/types.js';
import { BrokerError, classifyBrokerFailure } from '../src/broker/errors.js';
import { ErrorCode, HARD_TIMEOUT_MS, KillSwitchState, PROTECTION_RETRY_DELAY_MS } from '../src/domain/constants.js';
import type { FrozenSnapshot, OrderRef, ProtectionReport } from '../src/domain/schemas.js';
import type { ExecutionResult } from '../src/domain/result.js';
import { parseSnapshotInput } from '../src/domain/snapshot.js';
import type { LimitCheck, LimitFacts } from '../src/rules/limits.js';
import { actorTypes, createActors } from './execution.actors.js';
import { createActions } from './execution.actions.js';
import { createEnv, type ExecutionEnv, type ExecutionMachineDeps } from './execution.env.js';
import { executionGuards, killSwitchStopsTrading, orderEnded } from './execution.guards.js';
import type { Clock } from '../src/domain/clock.js';
import type { ExecutionContext, ExecutionEmitted, ExecutionEvent, ExecutionInput } from './execution.types.js';

export type { ExecutionContext, ExecutionEvent, ExecutionInput, ExecutionEmitted, ExecutionHostEvent } from './execution.types.js';
export { createAdvisoryRegistry, type AdvisoryClaim, type AdvisoryRegistry, type BrokerCall, type ExecutionMachineDeps } from './execution.env.js';

/**
 * The one clientOrderId of a snapshot: derived from its hash, so even two engines share it.
 *
 * @example
 * clientOrderIdFor(snapshot); // 'wd-' and the first 24 characters of snapshot.hash
 * const report = await broker.getOrder({ clientOrderId: clientOrderIdFor(snapshot), symbol: snapshot.symbol });
 */
export const clientOrderIdFor = (snapshot: FrozenSnapshot): string => `wd-${snapshot.hash.slice(0, 24)}`;
const protectionIdFor = (clientOrderId: string): string => `${clientOrderId}-p`;

/** The order an execution would cancel: by clientOrderId, with the broker's id once known. */
const orderRef = (c: ExecutionContext): OrderRef => ({ clientOrderId: c.clientOrderId!, brokerOrderId: c.order?.brokerOrderId ?? null, symbol: c.snapshot!.symbol });
const refInput = ({ context }: { context: ExecutionContext }) => ({ executionId: context.executionId, ref: orderRef(context) });

/**
 * Rule 2's request for the latest plan. One protective client id per order: each amend replaces
 * what the venue holds under it (never a second stop), and a resend of the same plan changes nothing.
 */
const protectionInput = ({ context }: { context: ExecutionContext }) => {
  const plan = context.protection.kind === 'planned' ? context.protection.plan : null;
  return {
    executionId: context.executionId,
    request: {
      clientOrderId: protectionIdFor(context.clientOrderId!),
      symbol: context.snapshot!.symbol,
      side: context.snapshot!.side,
      quantity: plan!.quantity,
      stopLoss: plan!.stopLoss,
      takeProfit: plan!.takeProfit,
    },
  };
};

/** A spawned child's answer (its done and error events are not in the machine's typed event union). */
const outputOf = (event: unknown): ProtectionReport => (event as { output: ProtectionReport }).output;
const errorOf = (event: unknown): unknown => (event as { error: unknown }).error;

/** The bare definition's parts: they exist for the types and the diagram; no broker is ever called. */
const unconfiguredBroker: BrokerAdapter = {
  name: 'unconfigured',
  submitOrder: () => Promise.reject(new BrokerError('no broker configured: build the machine with createExecutionMachine({ broker })', { retryable: false })),
  cancelOrder: () => Promise.reject(new BrokerError('no broker configured', { retryable: false })),
  getOrder: () => Promise.resolve(null),
  getPosition: (symbol) => Promise.resolve({ symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null }),
  placeProtection: () => Promise.reject(new BrokerError('no broker configured', { retryable: false })),
};
/** A clock that stands still; nothing in the bare definition reads it (its actors are not provided). */
const standingClock: Clock = { now: () => 0, setTimeout: () => { throw new Error('the bare executionMachine keeps no timers of its own'); }, clearTimeout: () => undefined };
/** The bare definition reads no clock: its time stands at the start its input gives (`input.startedAt`). */
const unbound: ExecutionEnv = { ...createEnv({ broker: unconfiguredBroker, clock: standingClock }), now: (c) => c.startedAt };
/** Merge what the broker said about the order, and tell the host the fill it now knows. */
const merge = <E>(report: (args: { event: E }) => unknown) => [{ type: 'mergeReport' as const, params: ({ event }: { event: E }) => ({ report: report({ event }) as never }) }, 'reportFill' as const];
/** A limit guard (true when the limit refuses), judged on the facts `readLimitFacts` answered; and the refusal that names the limit. */
const limit = <G extends 'notTradable' | 'exceedsMaxQuantity' | 'exceedsMaxNotional' | 'exceedsMaxPosition' | 'exceedsOrderRate' | 'outsidePriceCollar'>(type: G) => ({
  type,
  params: ({ event }: { event: { output: LimitFacts } }) => ({ facts: event.output }),
});
const refuseLimit = (check: LimitCheck) => ({ type: 'refuseLimit' as const, params: ({ event }: { event: { output: LimitFacts } }) => ({ limit: check, facts: event.output }) });
const settleAs = (state: 'completed' | 'rejected' | 'flagged') => [
  { type: 'settle' as const, params: { awaitingResolution: state === 'flagged' } },
  { type: 'reportSettled' as const, params: { state } },
];

/**
 * The execution statechart's complete definition, for graph traversal, diagrams and hosts that
 * `.provide()` their own parts. Its actors are not provided (they reject): to execute, use
 * {@link createExecutionMachine} (or `createEngine`).
 *
 * @example
 * Object.keys(executionMachine.states); // ['validating', 'checkingLimits', 'claiming', 'live', 'reconciling', 'judging', 'flagged', 'completed', 'rejected']
 */
export const executionMachine = setup({
  types: {
    context: {} as ExecutionContext,
    events: {} as ExecutionEvent,
    input: {} as ExecutionInput,
    output: {} as ExecutionResult,
    emitted: {} as ExecutionEmitted,
    tags: {} as 'settled' | 'awaitingResolution' | 'trading',
  },
  actors: actorTypes,
  // Guards read only the context and their params: the same in the bare definition and every deployment.
  guards: executionGuards,
  actions: createActions(unbound),
  delays: {
    // Delays read the context only, never a clock: a test, or a restart, reproduces a run exactly.
    /** Rule 4: the window left when the deadline was set (30 s, or what a claim or a restart left of it). */
    hardTimeout: ({ context }) => context.deadline?.windowMs ?? HARD_TIMEOUT_MS,
    retryBackoff: ({ context }) => context.pauseMs,
    cancelRetryDelay: ({ context }) => context.pauseMs,
    protectionRetryDelay: ({ context }) => context.pauseMs,
  },
}).createMachine({
  id: 'execution',
  context: ({ input }) => {
    const parsed = input.parsed ?? parseSnapshotInput(input.snapshot);
    const snapshot = parsed.kind === 'invalid' ? null : parsed.snapshot;
    return {
      executionId: input.executionId ?? randomUUID(),
      snapshot,
      clientOrderId: snapshot && parsed.kind === 'valid' ? clientOrderIdFor(snapshot) : null,
      recovery: input.recovery ?? null,
      startedAt: input.startedAt ?? 0, // or set on entry, from the provided clock
      facts: { now: input.startedAt ?? 0, advisoryKnown: false, venueKeepsClientIds: false, approvers: null, priceAskedAt: 0 }, // read on entry
      killSwitch: { state: input.killSwitch ?? KillSwitchState.Off, phase: null, seen: KillSwitchState.Off },
      deadline: null,
      pauseMs: 0,
      send: { attempts: 0, unconfirmed: false, lastNotMade: false, outcomeUncertain: false, priceBound: null, pauseServed: false },
      attempts: [],
      order: null,
      fullFillKnownAt: null,
      cancel: { attempts: 0, requested: false },
      protection: { kind: 'none' },
      stop:
        parsed.kind === 'invalid'
          ? { reason: 'refused', error: { code: ErrorCode.InvalidSnapshot, message: `invalid snapshot: ${parsed.issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}` } }
          : null,
      reconciliation: null,
      result: null,
    };
  },
  // Every ending is final and hands out its result: a parent's `onDone` gets it as `event.output`.
  output: ({ context }) => context.result!,
  // Every event no state handles is reported (and journaled by the engine), never dropped silently.
  on: {
    '*': { actions: 'reportUnhandled' },
  },
  entry: 'markStarted',
  initial: 'validating',
  states: {
    // Rules 1, 3 BEFORE, approval, expiry, once per advisory: each refusal names its rule.
    validating: {
      always: [
        { guard: not('inputWellFormed'), target: 'rejected' },
        { guard: not('snapshotHashIntact'), target: 'rejected', actions: { type: 'refuseBecause', params: { check: 'hash' } } },
        // A restart resumes what a previous process started: look the order up first, never resend blindly.
        { guard: 'resumingExecution', target: '#execution.live.trading.unconfirmed', actions: 'restoreExecution' },
        { guard: not('approvalPresent'), target: 'rejected', actions: { type: 'refuseBecause', params: { check: 'approval' } } },
        { guard: not('notExpired'), target: 'rejected', actions: { type: 'refuseBecause', params: { check: 'expiry' } } },
        { guard: not('firstExecutionOfAdvisory'), target: 'rejected', actions: 'refuseDuplicate' },
        { guard: not('killSwitchAllowsEntry'), target: 'rejected', actions: { type: 'refuseBecause', params: { check: 'killSwitch' } } },
        { target: 'checkingLimits' },
      ],
    },

    /**
     * Pre-trade limits that no approval overrides. The engine gathers the facts (the venue's quote
     * and tradability, the position and the orders of the last minute) and admits the order in the
     * same step; each limit is then one guard over those facts. A refusal sends nothing.
     */
    checkingLimits: {
      on: { KILL_SWITCH: { actions: { type: 'applyKillSwitch', params: { phase: null } } } },
      // Rule 3 BEFORE while the venue is asked (a quote may take seconds): a switch (or a shutdown)
      // refuses at once, before the advisory is claimed, so the snapshot can run once it is lifted.
      always: { guard: not('killSwitchAllowsEntry'), target: 'rejected', actions: { type: 'refuseBecause', params: { check: 'killSwitch' } } },
      invoke: {
        id: 'readLimitFacts',
        src: 'readLimitFacts',
        input: ({ context }) => ({ executionId: context.executionId, snapshot: context.snapshot! }),
        onDone: [
          { guard: limit('notTradable'), target: 'rejected', actions: refuseLimit('tradable') },
          { guard: limit('exceedsMaxQuantity'), target: 'rejected', actions: refuseLimit('quantity') },
          { guard: limit('exceedsMaxNotional'), target: 'rejected', actions: refuseLimit('notional') },
          { guard: limit('exceedsMaxPosition'), target: 'rejected', actions: refuseLimit('position') },
          { guard: limit('exceedsOrderRate'), target: 'rejected', actions: refuseLimit('rate') },
          { guard: limit('outsidePriceCollar'), target: 'rejected', actions: refuseLimit('collar') },
          { target: 'claiming', actions: { type: 'notePriceBound', params: ({ event }) => ({ facts: event.output }) } },
        ],
        onError: { target: 'rejected', actions: { type: 'refuseLimitsUnread', params: ({ event }) => ({ error: event.error }) } },
      },
    },

    /**
     * One execution per advisory, ever: the advisory is claimed (with its clientOrderId and the
     * absolute deadline, fixed here: rule 4's clock starts with the first submission) before anything
     * is sent. A claim held elsewhere, or one that cannot be recorded, is a refusal: nothing was sent.
     */
    claiming: {
      entry: 'fixHardDeadline',
      on: { KILL_SWITCH: { actions: { type: 'applyKillSwitch', params: { phase: null } } } },
      invoke: {
        id: 'claimAdvisory',
        src: 'claimAdvisory',
        input: ({ context }) => ({
          advisoryId: context.snapshot!.advisoryId,
          executionId: context.executionId,
          clientOrderId: context.clientOrderId!,
          deadlineAt: context.deadline!.at,
          snapshot: context.snapshot!,
        }),
        onDone: [
          // Rule 3 BEFORE still holds if the switch moved while the claim was being recorded.
          // The claim is on record and never taken back: the advisory is consumed, and the refusal says so.
          { guard: not('killSwitchAllowsEntry'), target: 'rejected', actions: { type: 'refuseBecause', params: { check: 'killSwitch', claimed: true } } },
          { target: 'live', actions: 'armHardDeadline' },
        ],
        onError: { target: 'rejected', actions: { type: 'refuseUnclaimed', params: ({ event }) => ({ error: event.error }) } },
      },
    },

    live: {
      invoke: { id: 'orderFeed', src: 'orderFeed', input: ({ context }) => ({ executionId: context.executionId, clientOrderId: context.clientOrderId! }) },
      // Rule 2 as fills land, for the whole region: the first priced fill is protected at once and
      // each later one amends it (quantity and levels from the new average), while the order's own
      // flow (working, stopping on the deadline or the kill switch) goes on untouched. Rule 3 AFTER:
      // no kill-switch guard here. Once the order is over, `assessing` takes over.
      // The request is a spawned child: it outlives the state that sent it (working → stopping).
      always: { guard: 'filledBeyondProtected', actions: ['planProtection', cancel('protectionRetry'), spawnChild('placeProtection', { id: 'protectFill', input: protectionInput })] },
      on: {
        ORDER_UPDATE: { actions: merge<{ report: unknown }>(({ event }) => event.report) },
        KILL_SWITCH: { actions: { type: 'applyKillSwitch', params: { phase: 'during' } } },
        POLL_FAILED: {},
        REPORT_INVALID: { actions: 'reportUnhandled' },
        // A broken push feed is not fatal: polling still sees every fill. The failure is journaled.
        'xstate.error.actor.orderFeed': {},
        // The answer about a fill's protection, while the order works or stops. A fill that landed
        // meanwhile is covered next (filledBeyondProtected); a failure leaves the final round to try again.
        'xstate.done.actor.protectFill': [
          {
            guard: { type: 'protectionConfirmed', params: ({ event }: { event: unknown }) => ({ report: outputOf(event) }) },
            actions: { type: 'recordProtectionPlaced', params: ({ event }: { event: unknown }) => ({ quantity: outputOf(event).quantity, tickSize: outputOf(event).tickSize }) },
          },
          { actions: { type: 'recordProtectionFailure', params: ({ event }: { event: unknown }) => ({ problem: `protection rejected: ${outputOf(event).reason ?? 'no reason given'}` }) } },
        ],
        'xstate.error.actor.protectFill': [
          {
            guard: { type: 'protectionRetryable', params: ({ event }: { event: unknown }) => ({ error: errorOf(event) }) },
            actions: [
              { type: 'recordProtectionUnknown', params: ({ event }: { event: unknown }) => ({ problem: classifyBrokerFailure(errorOf(event)).message }) },
              raise({ type: 'PROTECTION_RETRY' }, { id: 'protectionRetry', delay: () => PROTECTION_RETRY_DELAY_MS }),
            ],
          },
          { actions: { type: 'recordProtectionFailure', params: ({ event }: { event: unknown }) => ({ problem: classifyBrokerFailure(errorOf(event)).message }) } },
        ],
        PROTECTION_RETRY: { guard: 'protectionRetryAwaited', actions: ['planProtection', spawnChild('placeProtection', { id: 'protectFill', input: protectionInput })] },
      },
      initial: 'trading',
      states: {
        trading: {
          // Rule 4: at the deadline nobody waits any more, whatever is in progress (a hung submit
          // included): cancel by clientOrderId and ask for the final state.
          after: {
            hardTimeout: {
              target: '#execution.live.stopping',
              actions: ['markDeadlinePassed', { type: 'stopBecause', params: { reason: 'deadline' } }],
            },
          },
          // Rule 3 DURING, for the whole region: `active` cancels by clientOrderId at once — while the
          // order works, and while its outcome is unknown (looking up, pausing, about to resend). Only a
          // send whose answer is awaited is let finish first (bounded by its call limit), so the cancel
          // cannot overtake the order it cancels. `warning` leaves the working order alone.
          tags: ['trading'],
          always: {
            guard: 'killSwitchStopsTrading',
            target: '#execution.live.stopping',
            actions: { type: 'stopBecause', params: { reason: 'kill_switch' } },
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
                  request: {
                    clientOrderId: context.clientOrderId!,
                    symbol: context.snapshot!.symbol,
                    side: context.snapshot!.side,
                    quantity: context.snapshot!.positionSize,
                    type: 'market' as const,
                    // The price collar, for an adapter that can bound the fill price at the venue.
                    ...(context.send.priceBound !== null ? { priceBound: context.send.priceBound } : {}),
                  },
                  protectOnFill: { slOffsetPct: context.snapshot!.slOffsetPct, tpOffsetPct: context.snapshot!.tpOffsetPct, referencePrice: context.snapshot!.referencePrice },
                }),
                onDone: [
                  {
                    guard: { type: 'brokerRejectedOrder', params: ({ event }) => ({ report: event.output }) },
                    target: '#execution.live.assessing',
                    actions: [{ type: 'settleAttempt', params: { outcome: 'rejected' } }, ...merge<{ output: unknown }>(({ event }) => event.output), 'stopForRejectedReport'],
                  },
                  { target: 'working', actions: [{ type: 'settleAttempt', params: { outcome: 'acknowledged' } }, ...merge<{ output: unknown }>(({ event }) => event.output)] },
                ],
                onError: [
                  {
                    guard: { type: 'brokerRefusedDefinitively', params: ({ event }) => ({ error: event.error }) },
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
              on: { ORDER_UPDATE: { target: 'working', actions: ['adoptPushedOrder', ...merge<{ report: unknown }>(({ event }) => event.report)] } },
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
                        guard: { type: 'orderFoundAtBroker', params: ({ event }) => ({ report: event.output }) },
                        target: '#execution.live.trading.working',
                        actions: [{ type: 'settleAttempt', params: { outcome: 'found' } }, ...merge<{ output: unknown }>(({ event }) => event.output)],
                      },
                      { target: 'checkingResend', actions: { type: 'settleAttempt', params: { outcome: 'not_found' } } },
                    ],
                    onError: { target: 'lookupPause', actions: { type: 'settleAttempt', params: ({ event }) => ({ outcome: 'unknown' as const, error: event.error }) } },
                  },
                },
                // Rule 5: the order is not there. Send it again only if every precondition of a send
                // still holds, checked here and only here: once now, and again after the pause, just before the send.
                checkingResend: {
                  entry: 'readClock',
                  always: [
                    { guard: 'deadlinePassed', target: '#execution.live.stopping', actions: { type: 'stopBeforeResend', params: { check: 'deadline' } } },
                    { guard: not('killSwitchAllowsEntry'), target: '#execution.live.stopping', actions: { type: 'stopBeforeResend', params: { check: 'killSwitch' } } },
                    { guard: not('snapshotHashIntact'), target: '#execution.live.stopping', actions: { type: 'stopBeforeResend', params: { check: 'hash' } } },
                    { guard: not('notExpired'), target: '#execution.live.stopping', actions: { type: 'stopBeforeResend', params: { check: 'expiry' } } },
                    { guard: not('submitAttemptsLeft'), target: '#execution.live.stopping', actions: { type: 'stopBeforeResend', params: { check: 'attempts' } } },
                    // A venue that may have filled and forgotten the id: keep looking and listening until the deadline.
                    { guard: not('resendSafeOnVenue'), target: 'lookupPause' },
                    { guard: 'retryPauseServed', target: '#execution.live.trading.submitting' },
                    { target: 'retryPause' },
                  ],
                },
                lookupPause: {
                  entry: { type: 'startPause', params: ({ context }) => ({ kind: 'retry' as const, attempts: context.send.attempts }) },
                  after: { retryBackoff: 'lookingUp' },
                },
                retryPause: {
                  entry: { type: 'startPause', params: ({ context }) => ({ kind: 'retry' as const, attempts: context.send.attempts }) },
                  // A switch that forbids new orders during the pause (the one precondition an event can
                  // take away meanwhile) stops it at once; checkingResend names the reason.
                  always: { guard: not('killSwitchAllowsEntry'), target: 'checkingResend' },
                  after: { retryBackoff: { target: 'checkingResend', actions: 'serveRetryPause' } },
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

        // However trading stopped (deadline, kill switch, a precondition of a resend), a send no
        // answer confirmed or ruled out leaves the order's outcome uncertain: reconciliation flags it.
        stopping: {
          entry: 'carryUnconfirmedSend',
          initial: 'cancelling',
          states: {
            cancelling: {
              entry: 'countCancelAttempt',
              exit: 'forgetRequestedCancel',
              always: { guard: 'orderEndedAtBroker', target: 'confirming' },
              invoke: {
                id: 'cancelOrder',
                src: 'cancelOrder',
                input: ({ context }) => ({ executionId: context.executionId, ref: orderRef(context), alreadyRequested: context.cancel.requested }),
                onDone: { target: 'confirming', actions: merge<{ output: unknown }>(({ event }) => event.output) },
                // A failed cancel proves nothing; the final-state query decides.
                onError: 'confirming',
              },
            },
            confirming: {
              entry: 'readClock',
              invoke: {
                id: 'confirmOrder',
                src: 'lookupOrder',
                input: refInput,
                onDone: [
                  {
                    guard: { type: 'orderFoundAtBroker', params: ({ event }) => ({ report: event.output }) },
                    target: 'checkingFinal',
                    actions: [...merge<{ output: unknown }>(({ event }) => event.output), 'markOutcomeKnown'],
                  },
                  // Rule 3 after a send no answer confirmed: "not there" may be "not there yet" (the
                  // request still on its way, or acted on late). Keep looking until the deadline; an
                  // order that shows up is cancelled if it works, protected if it filled (rule 4).
                  { guard: and(['sendOutcomeUncertain', 'windowOpen']), target: 'watching' },
                  { target: '#execution.live.assessing' },
                ],
                onError: [
                  // Watching for an order a send may still make: a failed look-up is looked again, never a cancel of nothing.
                  { guard: and(['sendOutcomeUncertain', 'windowOpen']), target: 'watching' },
                  { guard: 'cancelAttemptsLeft', target: 'cancelPause' },
                  { target: '#execution.live.assessing', actions: 'markOutcomeUncertain' },
                ],
              },
            },
            checkingFinal: {
              always: [{ guard: and(['orderStillWorking', 'cancelAttemptsLeft']), target: 'cancelPause' }, { target: '#execution.live.assessing' }],
            },
            cancelPause: { entry: { type: 'startPause', params: { kind: 'cancel', attempts: 0 } }, after: { cancelRetryDelay: 'cancelling' } },
            watching: {
              // At least the first retry pause (250 ms), even for an execution resumed with no send on record.
              entry: { type: 'startPause', params: ({ context }) => ({ kind: 'retry' as const, attempts: Math.max(1, context.send.attempts) }) },
              // A report of the order (pushed, or a poll's) is acted on at once.
              always: { guard: 'orderKnown', target: 'checkingFinal', actions: 'markOutcomeKnown' },
              after: { retryBackoff: 'confirming' },
            },
          },
        },

        // Rule 4: whatever filled, whenever, is a position; decide protection from what is known.
        // The order is over. A protection request still out is waited for, never overtaken: the
        // final request goes under the same id, and sent while the other is out, the two may reach
        // the venue in either order — the older landing last would leave its levels in place.
        assessing: {
          always: [
            // Rule 2 needs the price of every filled unit: part of the fill was reported without one
            // (none at all, or only a smaller fill's). Ask for the order once at this quantity first.
            { guard: 'fillPriceUnasked', target: 'pricing' },
            // Protected as it filled, for the final quantity and average: nothing left to place.
            { guard: 'protectedAsFilled', target: '#execution.reconciling' },
            // A request still out (the final one or an older plan): wait for its answer, then decide.
            { guard: 'protectionInFlight', target: 'awaitingProtection' },
            // Nothing out: the final request (same id: it replaces, never adds).
            { guard: and(['anyQuantityFilled', 'fillPriceKnown']), target: 'protecting', actions: cancel('protectionRetry') },
            // A fill without a price cannot be protected by formula: never guess, let reconciliation flag it.
            {
              guard: 'anyQuantityFilled',
              target: '#execution.reconciling',
              actions: [cancel('protectionRetry'), { type: 'recordProtectionFailure', params: { problem: 'the broker reported a fill without an average price; SL/TP cannot be computed' } }],
            },
            { target: '#execution.reconciling', actions: cancel('protectionRetry') },
          ],
        },

        // Rule 2: the order's own report, for the price of what filled. Whatever it answers (a
        // failure included), `assessing` decides from what is then known: a price still missing for
        // part of the fill is protected at the price known and reconciliation flags the difference;
        // no price at all is never guessed.
        pricing: {
          entry: 'notePriceAsked',
          // The order is over: a switch that meets the execution now meets it AFTER, as in protecting.
          on: { KILL_SWITCH: { actions: { type: 'applyKillSwitch', params: { phase: 'after' } } } },
          invoke: {
            id: 'priceOrder',
            src: 'lookupOrder',
            input: refInput,
            onDone: { target: 'assessing', actions: merge<{ output: unknown }>(({ event }) => event.output) },
            onError: 'assessing',
          },
        },

        // A protection request went out while the order was still working: its answer (taken in by
        // the region's handlers, within the call's time limit) comes first. Placed as filled →
        // reconciling; anything else (an older plan, a failure, an unknown outcome) → assessing
        // again, which sends the final request itself once nothing is out.
        awaitingProtection: {
          on: { KILL_SWITCH: { actions: { type: 'applyKillSwitch', params: { phase: 'after' } } } },
          always: [
            { guard: 'protectedAsFilled', target: '#execution.reconciling' },
            { guard: not('protectionInFlight'), target: 'assessing' },
          ],
        },

        // Rule 2 and rule 3 AFTER: protection is placed even under a kill switch (it only reduces risk).
        protecting: {
          entry: 'planProtection',
          on: { KILL_SWITCH: { actions: { type: 'applyKillSwitch', params: { phase: 'after' } } } },
          invoke: {
            id: 'placeProtection',
            src: 'placeProtection',
            input: protectionInput,
            onDone: [
              {
                guard: { type: 'protectionConfirmed', params: ({ event }) => ({ report: event.output }) },
                target: '#execution.reconciling',
                actions: { type: 'recordProtectionPlaced', params: ({ event }) => ({ quantity: event.output.quantity, tickSize: event.output.tickSize }) },
              },
              {
                target: '#execution.reconciling',
                actions: { type: 'recordProtectionFailure', params: ({ event }) => ({ problem: `protection rejected: ${event.output.reason ?? 'no reason given'}` }) },
              },
            ],
            onError: [
              { guard: { type: 'protectionRetryable', params: ({ event }) => ({ error: event.error }) }, target: 'protectionPause' },
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

    /**
     * A mismatch (or an unknowable state): the execution is over, its result says a person must
     * look (`requiresManualResolution`). What waits for that person is the host's, not this actor's:
     * the engine keeps the flag and the symbol's reconciliation hold until `resolve()`.
     */
    flagged: { type: 'final', tags: ['settled', 'awaitingResolution'], entry: settleAs('flagged') },
    completed: { type: 'final', tags: ['settled'], entry: settleAs('completed') },
    rejected: { type: 'final', tags: ['settled'], entry: settleAs('rejected') },
  },
});

/**
 * The machine type, for hosts that invoke it as a child actor.
 *
 * @example
 * const machine: ExecutionMachine = createExecutionMachine({ broker });
 * const snap: SnapshotFrom<ExecutionMachine> = createActor(machine, { input: { snapshot } }).start().getSnapshot();
 */
export type ExecutionMachine = typeof executionMachine;

/**
 * The execution statechart with its parts supplied: guards, actions and actors bound to a broker,
 * a clock and the host's hooks. The chart itself is {@link executionMachine}, unchanged.
 *
 * @example
 * const machine = createExecutionMachine({ broker: new PaperBroker({ seed: 1 }) });
 * const actor = createActor(machine, { input: { snapshot } }).start();
 */
export function createExecutionMachine(deps: ExecutionMachineDeps): ExecutionMachine {
  const env = createEnv(deps);
  return executionMachine.provide({ actors: createActors(env), actions: createActions(env) });
}

/**
 * The order this execution would cancel at once if a KILL_SWITCH event with `state` reached it
 * now, or null. It asks the chart's own guards: in `live.trading` (its tag), the region rule
 * `killSwitchStopsTrading` with that state, and `cancelling`'s `orderEndedAtBroker` (an order
 * over is not cancelled). So a host can request every such cancel in one batch and then tell each
 * execution with `{ type: 'KILL_SWITCH', state, cancelRequested: true }`; the execution then goes
 * through stopping as always but waits for that cancel's answer instead of sending its own.
 *
 * @example
 * const ref = killSwitchCancelTarget(actor.getSnapshot(), 'active');
 */
export function killSwitchCancelTarget(snapshot: SnapshotFrom<ExecutionMachine>, state: KillSwitchState): OrderRef | null {
  if (snapshot.status !== 'active' || !snapshot.hasTag('trading')) return null;
  const c = snapshot.context;
  return killSwitchStopsTrading(c, state) && !orderEnded(c) ? orderRef(c) : null;
}
