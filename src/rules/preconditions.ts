/**
 * Checks made before anything is sent (and again before every retry). Each returns the error
 * it would cause, or null; the statechart turns each into a guard.
 */
import { ErrorCode, type KillSwitchState } from '../domain/constants.js';
import type { ExecutionError } from '../domain/result.js';
import type { FrozenSnapshot } from '../domain/schemas.js';
import { snapshotHashMatches } from '../domain/snapshot.js';
import { signatureProblem } from '../domain/approvals.js';
import type { KeyObject } from 'node:crypto';
import { killSwitchAllowsNewOrders } from './killSwitch.js';

export function hashProblem(snapshot: FrozenSnapshot): ExecutionError | null {
  return snapshotHashMatches(snapshot)
    ? null
    : { code: ErrorCode.SnapshotTampered, message: 'snapshot content does not match its hash: it changed after it was frozen' };
}

/** Approval present, not dated in the future and, when the engine lists approvers, signed by one of them. */
export function approvalProblem(snapshot: FrozenSnapshot, nowMs: number, approvers: readonly KeyObject[] | null = null): ExecutionError | null {
  const approval = snapshot.approval;
  if (!approval) return { code: ErrorCode.NotApproved, message: 'snapshot carries no approval' };
  if (Date.parse(approval.approvedAt) > nowMs) {
    return { code: ErrorCode.NotApproved, message: `approval is dated in the future (${approval.approvedAt})` };
  }
  if (approvers) {
    const problem = signatureProblem(snapshot, approvers);
    if (problem) return { code: ErrorCode.NotApproved, message: problem };
  }
  return null;
}

export function expiryProblem(snapshot: FrozenSnapshot, nowMs: number): ExecutionError | null {
  return nowMs < Date.parse(snapshot.expiresAt)
    ? null
    : { code: ErrorCode.SnapshotExpired, message: `snapshot expired at ${snapshot.expiresAt}` };
}

export function killSwitchProblem(state: KillSwitchState): ExecutionError | null {
  return killSwitchAllowsNewOrders(state)
    ? null
    : { code: ErrorCode.KillSwitchActive, message: `kill switch is ${state}: no new orders` };
}
