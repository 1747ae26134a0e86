/** Context, input and events of the execution statechart. */
import type { KillSwitchState } from '../src/domain/constants.js';
import type { Attempt, ExecutionError, ExecutionResult, ReconciliationReport } from '../src/domain/result.js';
import type { FrozenSnapshot, OrderReport } from '../src/domain/schemas.js';
import type { SnapshotInputResult, SnapshotIssue } from '../src/domain/snapshot.js';
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

/**
 * Everything the execution statechart knows about one execution, from validation to its result.
 *
 * @example
 * const { clientOrderId, submitAttempts, result }: ExecutionContext = actor.getSnapshot().context;
 */
export interface ExecutionContext {
  readonly executionId: string;
  readonly snapshot: FrozenSnapshot | null;
  readonly recovery: ExecutionRecovery | null;
  readonly inputIssues: readonly SnapshotIssue[] | null;
  readonly clientOrderId: string | null;
  /** Effective kill switch for the symbol, kept current by KILL_SWITCH events. */
  readonly killSwitch: KillSwitchState;
  /** When a non-off switch first met this execution, and the state it had then. */
  readonly killSwitchPhase: KillSwitchPhase | null;
  readonly killSwitchSeen: KillSwitchState;
  readonly startedAt: number;
  readonly deadlineAt: number | null;
  /** The window the hard-deadline timer waits, fixed when the deadline is set (the timer reads it). */
  readonly hardTimeoutMs: number;
  /** The length of the pause in progress, fixed when it starts (its timer reads it). */
  readonly pauseMs: number;
  readonly deadlinePassed: boolean;
  readonly submitAttempts: number;
  readonly attempts: readonly Attempt[];
  readonly order: OrderView | null;
  readonly fullFillKnownAt: number | null;
  /** Something may exist at the broker that no answer has confirmed or ruled out. */
  readonly outcomeUncertain: boolean;
  /** A request to send the order is out and no answer has confirmed or ruled out the order yet. */
  readonly unconfirmedSend: boolean;
  /** The last submit failed in a way that proves it never left this process (`not_sent`). */
  readonly lastSendNotMade: boolean;
  readonly stopReason: StopReason | null;
  readonly stopError: ExecutionError | null;
  readonly cancelAttempts: number;
  /** The host's kill switch fan-out already asked the broker to cancel; the next cancel waits for that answer. */
  readonly cancelRequested: boolean;
  /** The protection plan of the latest attempt: levels from `averageFillPrice`, for `quantity`. */
  readonly protection: (ProtectiveLevels & { readonly quantity: number; readonly averageFillPrice: number }) | null;
  readonly protectionPlaced: boolean;
  /** Quantity the broker confirmed as protected. */
  readonly protectedQuantity: number;
  /** The price increment the broker said it rounded the levels to, or null. */
  readonly protectionTick: number | null;
  readonly protectionAttempts: number;
  readonly protectionError: string | null;
  readonly reconciliation: ReconciliationReport | null;
  readonly rejection: ExecutionError | null;
  readonly result: ExecutionResult | null;
  readonly resolution: { readonly operator: string; readonly note: string; readonly at: string } | null;
}

/**
 * Events the execution statechart handles: order reports, poll failures, kill switch changes and an operator's resolution.
 *
 * @example
 * actor.send({ type: 'KILL_SWITCH', state: 'active' });
 * actor.send({ type: 'RESOLVE', operator: 'ana', note: 'closed the extra 500 by hand' });
 */
export type ExecutionEvent =
  | { type: 'ORDER_UPDATE'; report: OrderReport }
  | { type: 'REPORT_INVALID'; problem: string }
  | { type: 'POLL_FAILED'; error: string }
  /** `cancelRequested`: the host already asked the broker to cancel this order (the kill switch fan-out). */
  | { type: 'KILL_SWITCH'; state: KillSwitchState; cancelRequested?: boolean }
  | { type: 'RESOLVE'; operator: string; note: string };

/** Emitted to the host (journal): events no state handles. */
export type ExecutionEmitted = { type: 'unhandled'; event: { type: string } };
