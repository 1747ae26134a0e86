/** Every ExecutionResult is built here, from the machine's context or from what is known without one. Pure. */
import { ErrorCode, ExecutionStage, KillSwitchState } from '../src/domain/constants.js';
import type { Attempt, ExecutionError, ExecutionResult } from '../src/domain/result.js';
import { classifyOutcome } from '../src/rules/outcome.js';
import { slippagePct } from '../src/rules/slippage.js';
import type { ExecutionContext } from './execution.types.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The attempts as the execution ends: a request still unanswered (a submit that hung past the
 * deadline) is an unknown outcome — the order may exist — not `in_flight`, since nothing waits
 * for its answer any more.
 */
const endedAttempts = (attempts: readonly Attempt[]): readonly Attempt[] =>
  attempts.some((a) => a.outcome === 'in_flight') ? attempts.map((a) => (a.outcome === 'in_flight' ? { ...a, outcome: 'unknown', error: a.error ?? 'no answer before the execution ended; the order may exist' } : a)) : attempts;

/** `awaitingResolution` is the machine's own verdict (state `flagged`), the single source of the flag. */
export function buildExecutionResult(c: ExecutionContext, nowMs: number, awaitingResolution: boolean): ExecutionResult {
  const s = c.snapshot;
  const filledQuantity = c.order?.filledQuantity ?? 0;
  const fillPrice = filledQuantity > 0 ? (c.order?.averageFillPrice ?? null) : null;
  const protection = c.protection;
  const plan = protection.kind === 'none' ? null : protection.plan;

  let status: ExecutionResult['status'];
  let error: ExecutionError | null;
  if (c.stop?.reason === 'refused') {
    status = ExecutionStage.Rejected;
    error = c.stop.error;
  } else {
    const outcome = classifyOutcome({
      positionSize: s?.positionSize ?? 0,
      filledQuantity,
      fullFillKnownAt: c.fullFillKnownAt,
      deadlineAt: c.deadline?.at ?? null,
      stopReason: c.stop?.reason ?? null,
      stopError: c.stop?.error ?? null,
    });
    status = outcome.status;
    error = outcome.error;
    if (!error && protection.kind === 'failed') error = { code: ErrorCode.ProtectionFailed, message: protection.error };
  }

  return {
    executionId: c.executionId,
    advisoryId: s?.advisoryId ?? null,
    snapshotHash: s?.hash ?? null,
    status,
    clientOrderId: status === ExecutionStage.Rejected ? null : c.clientOrderId,
    brokerOrderId: c.order?.brokerOrderId ?? null,
    fillPrice,
    filledQuantity,
    stopLoss: plan?.stopLoss ?? null,
    takeProfit: plan?.takeProfit ?? null,
    slippagePct: fillPrice !== null && s ? slippagePct(s.side, s.referencePrice, fillPrice) : null,
    killSwitch: { state: c.killSwitch.phase ? c.killSwitch.seen : c.killSwitch.state, phase: c.killSwitch.phase },
    attempts: endedAttempts(c.attempts),
    protectionPlaced: protection.kind === 'placed',
    reconciliation: c.reconciliation,
    requiresManualResolution: awaitingResolution,
    error,
    startedAt: iso(c.startedAt),
    finishedAt: iso(nowMs),
    durationMs: nowMs - c.startedAt,
  };
}

/**
 * A result for input the engine refused without running it (closed engine), or for an execution
 * whose context is unknown: nothing was sent.
 */
export function refusedResult(executionId: string, advisoryId: string | null, nowMs: number, error: ExecutionError): ExecutionResult {
  const at = iso(nowMs);
  return {
    executionId,
    advisoryId,
    snapshotHash: null,
    status: ExecutionStage.Rejected,
    clientOrderId: null,
    brokerOrderId: null,
    fillPrice: null,
    filledQuantity: 0,
    stopLoss: null,
    takeProfit: null,
    slippagePct: null,
    killSwitch: { state: KillSwitchState.Off, phase: null },
    attempts: [],
    protectionPlaced: false,
    reconciliation: null,
    requiresManualResolution: false,
    error,
    startedAt: at,
    finishedAt: at,
    durationMs: 0,
  };
}

/** A defect inside Warden: if anything may have reached the broker (a deadline was fixed), a human must look. */
export function internalFailureResult(executionId: string, advisoryId: string | null, c: ExecutionContext | null, nowMs: number, message: string): ExecutionResult {
  const reached = c !== null && c.deadline !== null;
  const base = refusedResult(executionId, c?.snapshot?.advisoryId ?? advisoryId, nowMs, { code: ErrorCode.Internal, message });
  if (c === null) return base;
  return {
    ...base,
    snapshotHash: c.snapshot?.hash ?? null,
    status: reached ? ExecutionStage.Failed : ExecutionStage.Rejected,
    clientOrderId: reached ? c.clientOrderId : null,
    filledQuantity: c.order?.filledQuantity ?? 0,
    attempts: endedAttempts(c.attempts),
    requiresManualResolution: reached,
    startedAt: iso(c.startedAt),
    durationMs: nowMs - c.startedAt,
  };
}

/** A result whose records could not all be written: without a complete record, a human must look at whatever reached the broker. */
export function unrecordedResult(result: ExecutionResult, journalFailure: string | null): ExecutionResult {
  if (result.clientOrderId === null || result.requiresManualResolution) return result;
  return { ...result, requiresManualResolution: true, error: result.error ?? { code: ErrorCode.JournalUnavailable, message: `the journal could not be written: ${journalFailure ?? 'unknown failure'}` } };
}
