/** Which final status an execution ends with, from what is known when it stops. */
import { ErrorCode, ExecutionStage, type FinalStatus } from '../domain/constants.js';
import type { ExecutionError } from '../domain/result.js';

/** Why Warden stopped trading an order before it filled completely. */
export type StopReason = 'deadline' | 'kill_switch' | 'broker_rejected' | 'retries_exhausted' | 'broker_ended' | 'unrecoverable' | 'resend_unsafe';

export interface OutcomeFacts {
  readonly positionSize: number;
  readonly filledQuantity: number;
  /** When Warden first knew the order was completely filled (ms), or null. */
  readonly fullFillKnownAt: number | null;
  /** Absolute hard deadline (ms), or null if nothing was ever sent. */
  readonly deadlineAt: number | null;
  readonly stopReason: StopReason | null;
  /** Set when the stop came with a specific error (e.g. the broker's rejection text). */
  readonly stopError: ExecutionError | null;
}

/**
 * Rule 4 in one place: any filled quantity is a position, whatever stopped the order.
 * - everything filled: `filled`, or `executed_full_late` if the fill was only known at/after the deadline;
 * - something filled: `partially_filled`;
 * - nothing filled: the stop reason decides.
 */
export function classifyOutcome(f: OutcomeFacts): { status: FinalStatus; error: ExecutionError | null } {
  if (f.filledQuantity > 0 && f.filledQuantity >= f.positionSize) {
    const late = f.deadlineAt !== null && f.fullFillKnownAt !== null && f.fullFillKnownAt >= f.deadlineAt;
    return { status: late ? ExecutionStage.ExecutedFullLate : ExecutionStage.Filled, error: null };
  }
  if (f.filledQuantity > 0) return { status: ExecutionStage.PartiallyFilled, error: null };
  switch (f.stopReason) {
    case 'kill_switch':
      return { status: ExecutionStage.Cancelled, error: f.stopError ?? { code: ErrorCode.KillSwitchActive, message: 'kill switch cancelled the order before anything filled' } };
    case 'deadline':
      return { status: ExecutionStage.FailedTimeout, error: { code: ErrorCode.Timeout, message: 'nothing filled within the 30 s window; the order was cancelled' } };
    case 'broker_rejected':
      return { status: ExecutionStage.Failed, error: f.stopError ?? { code: ErrorCode.BrokerRejected, message: 'the broker rejected the order' } };
    case 'retries_exhausted':
    case 'resend_unsafe':
      return { status: ExecutionStage.Failed, error: f.stopError ?? { code: ErrorCode.RetriesExhausted, message: 'submission attempts exhausted' } };
    case 'broker_ended':
      return { status: ExecutionStage.Failed, error: f.stopError ?? { code: ErrorCode.BrokerRejected, message: 'the broker ended the order with nothing filled' } };
    case 'unrecoverable':
    case null:
      return { status: ExecutionStage.Failed, error: f.stopError ?? { code: ErrorCode.Internal, message: 'execution stopped without a known reason' } };
  }
}
