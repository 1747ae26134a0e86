/** Shapes of what an execution returns: attempts, reconciliation report, the result itself. */
import type { ErrorCode, FinalStatus, KillSwitchState, ReconciliationStatus } from './constants.js';

/**
 * One request to send the order (the first send or a retry), or a look-up after an unknown outcome.
 *
 * @example
 * const retried = result.attempts.filter((a: Attempt) => a.kind === 'submit').length > 1;
 */
export interface Attempt {
  readonly number: number;
  readonly kind: 'submit' | 'lookup';
  readonly clientOrderId: string;
  readonly quantity: number;
  readonly at: string;
  /** `submitted` while waiting for the broker, `pending` once the broker holds the order. */
  readonly stage: 'submitted' | 'pending';
  /** `in_flight` only while the execution runs (journal records); in a result, a request never answered is `unknown`. */
  readonly outcome: 'acknowledged' | 'rejected' | 'unknown' | 'found' | 'not_found' | 'in_flight';
  readonly error: string | null;
}

/**
 * One difference between what Warden expects and what the broker reports.
 *
 * @example
 * for (const m of result.reconciliation?.mismatches ?? []) console.log(`${m.field}: ${m.message}`);
 */
export interface ReconciliationMismatch {
  readonly field: string;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly message: string;
}

/**
 * What reconciliation found after an execution: its status, every mismatch, and how many look-ups it took.
 *
 * @example
 * const report: ReconciliationReport | null = result.reconciliation;
 * if (report && report.status !== 'matched') console.log(report.mismatches);
 */
export interface ReconciliationReport {
  readonly status: ReconciliationStatus;
  readonly checkedAt: string;
  /** Every difference found; none overwrites another. Empty exactly when `status` is `matched`. */
  readonly mismatches: readonly ReconciliationMismatch[];
  readonly queries: { readonly getOrder: number; readonly getPosition: number };
}

/**
 * Why an execution did not end as planned: a code to branch on and a message for people.
 *
 * @example
 * if (result.error?.code === 'snapshot_expired') console.log(result.error.message);
 */
export interface ExecutionError {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * What `engine.execute` resolves to. Every field is always present; unknown values are null.
 *
 * @example
 * const result: ExecutionResult = await engine.execute(snapshot);
 * console.log(result.status, result.fillPrice, result.protectionPlaced);
 */
export interface ExecutionResult {
  readonly executionId: string;
  readonly advisoryId: string | null;
  readonly snapshotHash: string | null;
  readonly status: FinalStatus;
  readonly clientOrderId: string | null;
  readonly brokerOrderId: string | null;
  /** Average price of what actually filled. */
  readonly fillPrice: number | null;
  readonly filledQuantity: number;
  readonly stopLoss: number | null;
  readonly takeProfit: number | null;
  /** Percent; positive means worse than the reference price for the side. */
  readonly slippagePct: number | null;
  readonly killSwitch: { readonly state: KillSwitchState; readonly phase: 'before' | 'during' | 'after' | null };
  readonly attempts: readonly Attempt[];
  /** Whether protective orders were confirmed placed at the broker for the filled quantity. */
  readonly protectionPlaced: boolean;
  readonly reconciliation: ReconciliationReport | null;
  readonly requiresManualResolution: boolean;
  readonly error: ExecutionError | null;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationMs: number;
}
