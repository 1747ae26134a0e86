/** Context, input and events of the execution statechart. */
import type { KeyObject } from 'node:crypto';
import type { KillSwitchState } from '../src/domain/constants.js';
import type { Attempt, ExecutionError, ExecutionResult, ReconciliationReport } from '../src/domain/result.js';
import type { FrozenSnapshot, OrderReport } from '../src/domain/schemas.js';
import type { SnapshotInputResult } from '../src/domain/snapshot.js';
import type { OrderView } from '../src/rules/orderReports.js';
import type { StopReason } from '../src/rules/outcome.js';
import type { ProtectiveLevels } from '../src/rules/protection.js';

/**
 * What an execution actor starts from: the snapshot, and optionally its id, the kill switch state and a recovery.
 *
 * @example
 * const input: ExecutionInput = { snapshot, executionId: 'exec-1', killSwitch: engine.killSwitch.state('EURUSD') };
 * const actor = createActor(createExecutionMachine({ broker }), { input }).start();
 */
export interface ExecutionInput {
  /** A FrozenSnapshot or raw input; validated in the machine's first state. */
  readonly snapshot: unknown;
  /** The host's own parse of `snapshot`, when it has one: the machine then does not parse again. */
  readonly parsed?: SnapshotInputResult;
  readonly executionId?: string;
  /**
   * When the execution starts, on the host's clock (ms since epoch): validation judges approval and
   * expiry at this time. Without it, a machine from `createExecutionMachine` reads its clock; the
   * bare `executionMachine` reads no clock, and its time stands at this start (0 without one).
   */
  readonly startedAt?: number;
  /** Effective kill switch state for the snapshot's symbol when the execution starts. */
  readonly killSwitch?: KillSwitchState;
  /**
   * Resume an execution a previous process started (from its journal): the order is looked up
   * by clientOrderId before anything else, and the stored absolute deadline still applies.
   */
  readonly recovery?: ExecutionRecovery;
}

export interface ExecutionRecovery {
  readonly clientOrderId: string;
  /** Absolute deadline (ms since epoch) set at the first submission. */
  readonly deadlineAt: number;
  /** Submissions already journaled. */
  readonly submitAttempts: number;
}

export type KillSwitchPhase = 'before' | 'during' | 'after';

/** The protection plan of the latest attempt: levels from `averageFillPrice`, for `quantity`. */
export type ProtectionPlan = ProtectiveLevels & { readonly quantity: number; readonly averageFillPrice: number };

/**
 * Rule 2's protective orders, as far as they got: none needed yet, planned from the fill (and
 * being placed), confirmed placed, or failed (refused, unknown after every attempt, or a fill
 * without a price, when there is no plan at all). Fills are protected as they land, so while the
 * order works a plan may amend what the venue holds under the same protective id, and an
 * unknown answer may wait for its retry (`retrying`).
 *
 * @example
 * const placed = context.protection.kind === 'placed' ? context.protection.quantity : 0;
 */
export type ProtectionState =
  | { readonly kind: 'none' }
  | { readonly kind: 'planned'; readonly plan: ProtectionPlan; readonly attempts: number }
  | { readonly kind: 'placed'; readonly plan: ProtectionPlan; readonly attempts: number; readonly quantity: number; readonly tick: number | null }
  | { readonly kind: 'failed'; readonly plan: ProtectionPlan | null; readonly attempts: number; readonly error: string; readonly retrying: boolean };

/**
 * The facts of the world outside that the guards judge, read by actions and kept in the context.
 *
 * @example
 * const late = context.facts.now >= context.deadline!.at;
 */
export interface ExecutionFacts {
  readonly now: number;
  readonly advisoryKnown: boolean;
  readonly venueKeepsClientIds: boolean;
  readonly approvers: readonly KeyObject[] | null;
  /** The filled quantity at which the broker was last asked for the order's price (rule 2; 0: never). */
  readonly priceAskedAt: number;
}

/**
 * Everything the execution statechart knows about one execution, from validation to its result.
 * Eighteen top-level keys at most, related facts in one tagged value each: XState copies the
 * context on every `assign`, and a wider object turns that copy into a slow dictionary-mode one.
 *
 * @example
 * const { clientOrderId, send, result }: ExecutionContext = actor.getSnapshot().context;
 */
export interface ExecutionContext {
  readonly executionId: string;
  readonly snapshot: FrozenSnapshot | null;
  readonly clientOrderId: string | null;
  readonly recovery: ExecutionRecovery | null;
  readonly startedAt: number;
  /**
   * What the guards know of the world outside, as data: the clock as an action last read it for the
   * chart (`now`: at the start, and on entering `checkingResend`), whether the host's registry already
   * knew the advisory at the start, whether the venue keeps client ids durably, the approvers' keys,
   * and at which filled quantity the broker was last asked for the fill's price.
   */
  readonly facts: ExecutionFacts;
  /** Effective kill switch for the symbol (kept current by KILL_SWITCH events); when a non-off switch first met this execution, and the most severe state seen. */
  readonly killSwitch: { readonly state: KillSwitchState; readonly phase: KillSwitchPhase | null; readonly seen: KillSwitchState };
  /**
   * Rule 4's absolute deadline, set once when the order is about to be sent; `windowMs` is what the
   * hard-timeout timer waits (fixed when set, read by the timer); `passed` once it fired.
   */
  readonly deadline: { readonly at: number; readonly windowMs: number; readonly passed: boolean } | null;
  /** The length of the pause in progress, fixed when it starts (its timer reads it). */
  readonly pauseMs: number;
  /**
   * Sending the order: how many sends, whether one is out that no answer has confirmed or ruled
   * out (`unconfirmed`), whether the last failed in a way proving it never left this process
   * (`lastNotMade`), whether the order's outcome stays uncertain (`outcomeUncertain`), and the
   * price collar's bound sent with it (`priceBound`, null without a collar), and whether the pause
   * before a resend is over (`pauseServed`).
   */
  readonly send: { readonly attempts: number; readonly unconfirmed: boolean; readonly lastNotMade: boolean; readonly outcomeUncertain: boolean; readonly priceBound: number | null; readonly pauseServed: boolean };
  readonly attempts: readonly Attempt[];
  readonly order: OrderView | null;
  readonly fullFillKnownAt: number | null;
  /** Cancel requests sent, and whether the host's kill switch fan-out already requested the next one. */
  readonly cancel: { readonly attempts: number; readonly requested: boolean };
  readonly protection: ProtectionState;
  /** Why the execution stopped short, or was refused before anything was sent (`refused`). */
  readonly stop: { readonly reason: StopReason | 'refused'; readonly error: ExecutionError | null } | null;
  readonly reconciliation: ReconciliationReport | null;
  readonly result: ExecutionResult | null;
}

/**
 * Events the execution statechart handles: order reports, poll failures and kill switch changes.
 * An operator's resolution of a flag is not one: a flagged execution is over (its final state
 * `flagged`); the host keeps the flag and records its resolution.
 *
 * @example
 * actor.send({ type: 'KILL_SWITCH', state: 'active' });
 */
export type ExecutionEvent =
  | { type: 'ORDER_UPDATE'; report: OrderReport }
  | { type: 'REPORT_INVALID'; problem: string }
  | { type: 'POLL_FAILED'; error: string }
  /** `cancelRequested`: the host already asked the broker to cancel this order (the kill switch fan-out). */
  | { type: 'KILL_SWITCH'; state: KillSwitchState; cancelRequested?: boolean }
  /** Raised by the machine itself, PROTECTION_RETRY_DELAY_MS after protection's outcome was unknown while the order worked. */
  | { type: 'PROTECTION_RETRY' };

/**
 * What the statechart tells its host, which listens with `actor.on(type, …)` and never reads the
 * context: an event no state handled (journaled), a change of the filled quantity (the engine's
 * position ledger), and a result (`settled`: the execution completed, was rejected, flagged for
 * an operator, or resolved).
 *
 * @example
 * actor.on('fill', ({ symbol, signedQuantity }) => ledger.update(executionId, symbol, signedQuantity));
 * actor.on('settled', ({ result }) => console.log(result.status, result.requiresManualResolution));
 */
export type ExecutionEmitted =
  | { type: 'unhandled'; event: { type: string } }
  | { type: 'fill'; symbol: string; signedQuantity: number }
  | { type: 'settled'; result: ExecutionResult; state: string };

/**
 * What an execution running as a child actor sends its parent machine: each emitted event, typed
 * `warden.<type>` and carrying the execution's id (a parent may run several). Every ending also
 * reaches the parent as the invoke's `onDone`, with the `ExecutionResult` as `event.output`.
 *
 * @example
 * // in the parent's config
 * on: { 'warden.fill': { actions: assign({ net: ({ context, event }) => context.net + event.signedQuantity }) } },
 */
export type ExecutionHostEvent =
  | { type: 'warden.unhandled'; executionId: string; event: { type: string } }
  | { type: 'warden.fill'; executionId: string; symbol: string; signedQuantity: number }
  | { type: 'warden.settled'; executionId: string; result: ExecutionResult; state: string };
