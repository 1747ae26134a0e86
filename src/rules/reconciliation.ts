/**
 * Rule 6: compare what Warden expects with what the broker reports, once, and list every
 * difference. Never decides how to fix anything.
 */
import { ReconciliationStatus, type Side } from '../domain/constants.js';
import type { ReconciliationMismatch } from '../domain/result.js';
import type { OrderReport, PositionReport } from '../domain/schemas.js';
import type { OrderView } from './orderReports.js';
import { isTerminalStatus, priceBehindFill } from './orderReports.js';
import { signedQuantity } from './protection.js';

/** Brokers round prices to their tick size; levels within this relative distance are equal. */
export const PRICE_TOLERANCE = 1e-6;
const QUANTITY_TOLERANCE = 1e-9;

export interface ReconciliationExpectation {
  readonly symbol: string;
  readonly side: Side;
  /** The approved size: nothing above it may have filled. */
  readonly positionSize: number;
  /** Warden's merged view of its order; null if the broker never acknowledged it. */
  readonly order: OrderView | null;
  /**
   * Signed net position on the symbol that Warden accounts for besides this execution (the
   * host's other executions' fills), as known when the position answer was taken in.
   */
  readonly priorPositionQuantity: number;
  /**
   * The same, as known when the position was asked for (default: `priorPositionQuantity`). The
   * venue measured the position somewhere in between: a position between the two is explained by
   * the other executions' fills heard while it answered, and is not a difference.
   */
  readonly priorPositionQuantityAsked?: number;
  /**
   * On a fleet: the least and most the other executions may hold at the venue (their open orders
   * may have filled more than their engines heard). A position in this range, plus this
   * execution's fill, is explained.
   */
  readonly priorPositionRange?: { readonly low: number; readonly high: number };
  /** Levels computed from the fill (rule 2); null when nothing filled. */
  readonly protection: { readonly stopLoss: number; readonly takeProfit: number } | null;
  /** Quantity the broker confirmed as protected (0 when protection was not confirmed). */
  readonly protectedQuantity: number;
  /**
   * The price increment the broker rounded the levels to, when it said so: a level less than one
   * tick from the computed one is the computed level, rounded. Null: levels must match exactly.
   */
  readonly priceTick: number | null;
  /** An order may exist that was never confirmed either way (e.g. a submit still in flight at the deadline). */
  readonly outcomeUncertain: boolean;
  /** Why this execution's own protection was not confirmed (refused, failed, no price), or null. */
  readonly protectionFailure: string | null;
}

export interface ReconciliationObservation {
  readonly order: OrderReport | null;
  readonly position: PositionReport;
}

const sameQuantity = (a: number, b: number) => Math.abs(a - b) <= QUANTITY_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b));
const samePrice = (a: number, b: number) => Math.abs(a - b) <= PRICE_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
/** `got` is `want` rounded to the broker's tick, up or down (less than one tick away, plus float noise). */
const roundedLevel = (want: number, got: number, tick: number | null) =>
  samePrice(want, got) || (tick !== null && Math.abs(want - got) < tick * (1 + 1e-9));

/**
 * Lists every difference between `expected` and `observed` and names the overall status:
 * `phantom_position` > `missing_position` > `missing_sl_tp` > `mismatch` > `matched`.
 *
 * @example
 * const { status, mismatches } = diffReconciliation(expected, { order, position });
 */
export function diffReconciliation(
  expected: ReconciliationExpectation,
  observed: ReconciliationObservation,
): { status: ReconciliationStatus; mismatches: ReconciliationMismatch[] } {
  const out: ReconciliationMismatch[] = [];
  const add = (field: string, exp: unknown, act: unknown, message: string) => out.push({ field, expected: exp, actual: act, message });
  let phantom = false;
  let missingPosition = false;
  let missingSlTp = false;

  // --- the order
  const mine = expected.order;
  const theirs = observed.order;
  if (mine && !theirs) add('order', 'known to the broker', null, 'the broker does not know an order Warden saw acknowledged');
  if (!mine && theirs && theirs.status !== 'rejected') add('order', null, theirs.status, 'the broker holds an order Warden never saw acknowledged');
  if (mine && theirs) {
    if (mine.status !== theirs.status) add('order.status', mine.status, theirs.status, 'order status differs');
    if (!sameQuantity(mine.filledQuantity, theirs.filledQuantity)) {
      add('order.filledQuantity', mine.filledQuantity, theirs.filledQuantity, 'filled quantity differs');
    }
    if (mine.averageFillPrice !== null && theirs.averageFillPrice !== null && !samePrice(mine.averageFillPrice, theirs.averageFillPrice)) {
      add('order.averageFillPrice', mine.averageFillPrice, theirs.averageFillPrice, 'average fill price differs');
    }
  }
  // Rule 2 could not see the whole fill's price (reported without one, and the look-up could not
  // give it): its levels come from the price of part of it. Never matched, whatever else agrees.
  if (mine && priceBehindFill(mine)) {
    add('order.pricedQuantity', mine.filledQuantity, mine.pricedQuantity ?? 0, `the broker reported ${mine.filledQuantity - (mine.pricedQuantity ?? 0)} of the ${mine.filledQuantity} filled without a price: protection levels come from the price of the first ${mine.pricedQuantity ?? 0}`);
  }
  if (theirs && !isTerminalStatus(theirs.status)) add('order.open', 'final', theirs.status, 'the order is still working at the broker');
  if (expected.outcomeUncertain) add('order.outcome', 'known', 'unknown', 'a submission may have reached the broker without being confirmed');

  // --- the position, for the snapshot's symbol only
  const position = observed.position;
  if (position.symbol !== expected.symbol) {
    add('position.symbol', expected.symbol, position.symbol, 'the broker answered for another symbol');
  }
  const filled = mine?.filledQuantity ?? 0;
  const signedFill = signedQuantity(expected.side, filled);
  const expectedQty = expected.priorPositionQuantity + signedFill;
  const askedQty = (expected.priorPositionQuantityAsked ?? expected.priorPositionQuantity) + signedFill;
  const range = expected.priorPositionRange;
  const explained =
    sameQuantity(expectedQty, position.quantity) ||
    sameQuantity(askedQty, position.quantity) ||
    (position.quantity > Math.min(expectedQty, askedQty) && position.quantity < Math.max(expectedQty, askedQty)) ||
    (range !== undefined && position.quantity >= range.low + signedFill - QUANTITY_TOLERANCE && position.quantity <= range.high + signedFill + QUANTITY_TOLERANCE);
  if (!explained) {
    if (expectedQty === 0) {
      phantom = true;
      add('position.quantity', 0, position.quantity, 'the broker shows a position Warden did not open');
    } else if (position.quantity === 0) {
      missingPosition = true;
      add('position.quantity', expectedQty, 0, 'the broker shows no position where Warden expects one');
    } else {
      add('position.quantity', expectedQty, position.quantity, 'position size differs');
    }
  }
  // Alone on the symbol, the venue's position is this execution's: its entry price is compared.
  const alone = expected.priorPositionQuantity === 0 && (expected.priorPositionQuantityAsked ?? 0) === 0 && (range === undefined || (range.low === 0 && range.high === 0));
  if (alone && filled > 0 && mine?.averageFillPrice != null) {
    if (position.averagePrice === null || !samePrice(position.averagePrice, mine.averageFillPrice)) {
      add('position.averagePrice', mine.averageFillPrice, position.averagePrice, 'position entry price differs from the fill');
    }
  }

  // --- protection (rule 2: levels from the fill)
  // What is exposed is what filled as either side knows it: a fill the broker reports that Warden
  // never heard of (its report lost, a final look-up that lagged) is a position without protection.
  const exposed = Math.max(filled, theirs?.filledQuantity ?? 0);
  if (!expected.protection && exposed > 0) {
    missingSlTp = true;
    add('position.protection', 'levels from the fill', null, 'a filled quantity has no protective levels (fill price unknown)');
  }
  // The execution's own record is judged as well as the venue's: levels at the broker may belong to
  // another execution on the same symbol, so they never stand in for this one's protection.
  if (filled > 0 && expected.protection && expected.protectionFailure !== null) {
    missingSlTp = true;
    add('protection', 'placed for the filled quantity', null, `this execution's protection was not placed: ${expected.protectionFailure}`);
  } else if (expected.protection && exposed > 0 && !sameQuantity(exposed, expected.protectedQuantity)) {
    missingSlTp = true;
    const message =
      expected.protectedQuantity < exposed
        ? `${exposed - expected.protectedQuantity} of the filled quantity${exposed > filled ? ' (as the broker reports the order)' : ''} is not protected`
        : `protection covers ${expected.protectedQuantity}, more than the ${exposed} filled`;
    add('protection.quantity', exposed, expected.protectedQuantity, message);
  } else if (expected.protection && theirs && theirs.filledQuantity < filled && expected.protectedQuantity > 0 && !sameQuantity(theirs.filledQuantity, expected.protectedQuantity)) {
    // The broker now reports less filled than Warden heard (a fill busted or corrected): protection
    // sized for the larger fill would, once triggered, close more than the position holds.
    add('protection.quantity', theirs.filledQuantity, expected.protectedQuantity, `protection covers ${expected.protectedQuantity}, more than the ${theirs.filledQuantity} the broker now reports filled (a fill busted or corrected)`);
  }
  if (filled - expected.positionSize > QUANTITY_TOLERANCE * expected.positionSize) {
    add('order.overfilled', expected.positionSize, filled, `the broker filled ${filled}, more than the approved ${expected.positionSize}`);
  }
  if (expected.protection && filled > 0) {
    for (const level of ['stopLoss', 'takeProfit'] as const) {
      const want = expected.protection[level];
      const got = position[level];
      if (got === null) {
        missingSlTp = true;
        add(`position.${level}`, want, null, `no ${level === 'stopLoss' ? 'stop-loss' : 'take-profit'} at the broker`);
      } else if (!roundedLevel(want, got, expected.priceTick)) {
        add(`position.${level}`, want, got, `${level === 'stopLoss' ? 'stop-loss' : 'take-profit'} level differs`);
      }
    }
  }

  const status = phantom
    ? ReconciliationStatus.PhantomPosition
    : missingPosition
      ? ReconciliationStatus.MissingPosition
      : missingSlTp
        ? ReconciliationStatus.MissingSlTp
        : out.length > 0
          ? ReconciliationStatus.Mismatch
          : ReconciliationStatus.Matched;
  return { status, mismatches: out };
}

/**
 * The position difference a reconciliation found on `symbol`: the venue's reported quantity less
 * the quantity Warden expected there, as its report lists them (`position.quantity`). Null when
 * the position was explained, when the venue answered for another symbol (its figure says nothing
 * of this one), or when there is no report. What an operator's resolution adopts into Warden's book.
 *
 * @example
 * positionDifference(result.reconciliation, 'EURUSD'); // -10000: "exp 20000 got 10000" (a stop fired at the venue)
 */
export function positionDifference(report: { readonly mismatches: readonly ReconciliationMismatch[] } | null | undefined, symbol: string): { symbol: string; quantity: number } | null {
  const mismatches = report?.mismatches ?? [];
  if (mismatches.some((m) => m.field === 'position.symbol')) return null;
  const m = mismatches.find((x) => x.field === 'position.quantity');
  if (!m || typeof m.expected !== 'number' || typeof m.actual !== 'number' || !Number.isFinite(m.expected) || !Number.isFinite(m.actual)) return null;
  const quantity = m.actual - m.expected;
  return quantity === 0 ? null : { symbol, quantity };
}
