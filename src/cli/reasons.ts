/** The reason the CLI and the demo print for a result that is not a plain fill. */
import type { ExecutionResult } from '../domain/result.js';

/**
 * Its error (with what was wrong, when `detail`), and reconciliation's differences; `-` for none.
 *
 * @example
 * reasonOf(result, { detail: true }); // 'invalid_snapshot: positionSize: Too small: expected number to be >0'
 */
export function reasonOf(r: ExecutionResult, { detail }: { detail: boolean }): string {
  const parts: string[] = [];
  if (r.error) parts.push(detail ? `${r.error.code}: ${r.error.message.replace(/^invalid snapshot: /, '').slice(0, 160)}` : r.error.code);
  if (r.reconciliation && r.reconciliation.status !== 'matched') parts.push(`${r.reconciliation.status}: ${r.reconciliation.mismatches.map((m) => m.field).join(', ')}`);
  return parts.join('; ') || '-';
}
