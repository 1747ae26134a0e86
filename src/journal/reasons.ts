/** The reason the CLI, the demo and the console print for a result that is not a plain fill. */
import type { ExecutionResult } from '../domain/result.js';

/**
 * Its error (with what was wrong, when `detail`), and reconciliation's differences; `-` for none.
 *
 * @example
 * reasonOf(result, { detail: true }); // 'invalid_snapshot: positionSize: Too small: expected number to be >0'
 */
export function reasonOf(r: ExecutionResult, { detail }: { detail: boolean }): string {
  const parts: string[] = [];
  const silent = unreachable(r);
  if (silent !== null) parts.push(detail ? `unreachable: the broker never answered (${silent.slice(0, 160)}); no request, cancel included, is known to have reached it: check at the venue that order ${r.clientOrderId ?? '-'} does not exist` : 'unreachable');
  else if (r.error) parts.push(detail ? `${r.error.code}: ${r.error.message.replace(/^invalid snapshot: /, '').slice(0, 160)}` : r.error.code);
  if (r.reconciliation && r.reconciliation.status !== 'matched') parts.push(`${r.reconciliation.status}: ${r.reconciliation.mismatches.map((m) => m.field).join(', ')}`);
  return parts.join('; ') || '-';
}

/**
 * The last error when the broker answered nothing at all (every submit and look-up failed, nothing
 * filled): a timeout then says nothing about a cancel, which reached nothing either. Null otherwise.
 */
function unreachable(r: ExecutionResult): string | null {
  const attempts = Array.isArray(r.attempts) ? r.attempts : [];
  if (r.filledQuantity !== 0 || attempts.length === 0 || r.brokerOrderId) return null;
  if (!attempts.every((a) => a.outcome === 'unknown')) return null;
  if (r.reconciliation && r.reconciliation.status !== 'unavailable') return null;
  return attempts.at(-1)?.error ?? 'no answer';
}
