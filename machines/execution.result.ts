/** Turns the machine's context into the public ExecutionResult. Pure. */
import { ErrorCode, ExecutionStage } from '../src/domain/constants.js';
import type { ExecutionError, ExecutionResult } from '../src/domain/result.js';
import { classifyOutcome } from '../src/rules/outcome.js';
import { slippagePct } from '../src/rules/slippage.js';
import type { ExecutionContext } from './execution.types.js';

/** `awaitingResolution` is the machine's own verdict (state `flagged`), the single source of the flag. */
export function buildExecutionResult(c: ExecutionContext, nowMs: number, awaitingResolution: boolean): ExecutionResult {
  const s = c.snapshot;
  const filledQuantity = c.order?.filledQuantity ?? 0;
  const fillPrice = filledQuantity > 0 ? (c.order?.averageFillPrice ?? null) : null;

  let status: ExecutionResult['status'];
  let error: ExecutionError | null;
  if (c.rejection) {
    status = ExecutionStage.Rejected;
    error = c.rejection;
  } else {
    const outcome = classifyOutcome({
      positionSize: s?.positionSize ?? 0,
      filledQuantity,
      fullFillKnownAt: c.fullFillKnownAt,
      deadlineAt: c.deadlineAt,
      stopReason: c.stopReason,
      stopError: c.stopError,
    });
    status = outcome.status;
    error = outcome.error;
    if (!error && c.protectionError) error = { code: ErrorCode.ProtectionFailed, message: c.protectionError };
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
    stopLoss: c.protection?.stopLoss ?? null,
    takeProfit: c.protection?.takeProfit ?? null,
    slippagePct: fillPrice !== null && s ? slippagePct(s.side, s.referencePrice, fillPrice) : null,
    killSwitch: {
      state: c.killSwitchPhase ? c.killSwitchSeen : c.killSwitch,
      phase: c.killSwitchPhase,
    },
    attempts: c.attempts,
    protectionPlaced: c.protectionPlaced,
    reconciliation: c.reconciliation,
    requiresManualResolution: awaitingResolution,
    error,
    startedAt: new Date(c.startedAt).toISOString(),
    finishedAt: new Date(nowMs).toISOString(),
    durationMs: nowMs - c.startedAt,
  };
}
