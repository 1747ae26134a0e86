/** Rule 2: stop-loss and take-profit come from the actual average fill price. */
import type { Side } from '../domain/constants.js';

export interface ProtectiveLevels {
  readonly stopLoss: number;
  readonly takeProfit: number;
}

/** Twelve significant digits: removes binary noise (1.1 * 0.99 = 1.0890000000000002) without moving a price. */
const tidy = (n: number): number => Number(n.toPrecision(12));

/**
 * `stopLoss = fill × (1 + slOffsetPct)`, `takeProfit = fill × (1 + tpOffsetPct)`.
 * Direction is checked here as well as in the schema, so a level can never sit on the wrong side
 * of the fill even if this function is called with unvalidated numbers.
 *
 * @example
 * protectiveLevels('buy', 1.1, -0.01, 0.02); // { stopLoss: 1.089, takeProfit: 1.122 }
 */
export function protectiveLevels(side: Side, averageFillPrice: number, slOffsetPct: number, tpOffsetPct: number): ProtectiveLevels {
  if (!(Number.isFinite(averageFillPrice) && averageFillPrice > 0)) {
    throw new RangeError(`fill price must be a positive number, got ${averageFillPrice}`);
  }
  const wrongWay = side === 'buy' ? !(slOffsetPct < 0 && tpOffsetPct > 0) : !(slOffsetPct > 0 && tpOffsetPct < 0);
  if (wrongWay || Math.abs(slOffsetPct) >= 1 || Math.abs(tpOffsetPct) >= 1) {
    throw new RangeError(`offsets sl=${slOffsetPct} tp=${tpOffsetPct} are not valid for a ${side}`);
  }
  return { stopLoss: tidy(averageFillPrice * (1 + slOffsetPct)), takeProfit: tidy(averageFillPrice * (1 + tpOffsetPct)) };
}

/** The side of the orders that close a position opened by `side`. */
export const closingSide = (side: Side): Side => (side === 'buy' ? 'sell' : 'buy');

/**
 * A quantity traded on `side` as a change of position: positive for a buy, negative for a sell.
 *
 * @example
 * signedQuantity('sell', 3); // -3
 */
export const signedQuantity = (side: Side, quantity: number): number => (side === 'buy' ? quantity : -quantity);
