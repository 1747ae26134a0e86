/**
 * A position adjustment: what an operator's resolution of a flag adopted from the venue into
 * Warden's position ledger (rule 6). It travels in the payload of the `resolution` record
 * (`positionAdjustment: { symbol, quantity }`), so every reader of the journal — a restart, a
 * checkpoint, an archive's anchor, a fleet store — counts it exactly where the resolution is.
 */
import { JournalKind, type JournalRecord } from './types.js';

/**
 * The signed quantity added to Warden's book on a symbol: the venue's quantity less Warden's
 * expected one, as the resolved execution's reconciliation reported them.
 *
 * @example
 * const adjustment: PositionAdjustment = { symbol: 'EURUSD', quantity: -10_000 }; // a stop closed 10,000 at the venue
 */
export interface PositionAdjustment {
  readonly symbol: string;
  readonly quantity: number;
}

/**
 * The adjustment a `resolution` record carries, or null (any other record, a resolution with no
 * position difference, one from a Warden that adjusted nothing, or a payload no writer made).
 *
 * @example
 * const a = positionAdjustmentOf(record);
 * if (a) ledger.adjust(a.symbol, a.quantity);
 */
export function positionAdjustmentOf(r: JournalRecord): PositionAdjustment | null {
  if (r.kind !== JournalKind.Resolution) return null;
  const a = (r.payload as { positionAdjustment?: { symbol?: unknown; quantity?: unknown } } | null)?.positionAdjustment;
  if (!a || typeof a !== 'object' || typeof a.symbol !== 'string' || typeof a.quantity !== 'number' || !Number.isFinite(a.quantity) || a.quantity === 0) return null;
  return { symbol: a.symbol, quantity: a.quantity };
}
