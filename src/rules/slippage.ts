import type { Side } from '../domain/constants.js';

/**
 * Slippage in percent of the reference price; positive means the fill was worse for the side
 * (paid more on a buy, received less on a sell).
 *
 * @example
 * slippagePct('buy', 100, 101); // 1
 * slippagePct('sell', 100, 101); // -1
 */
export function slippagePct(side: Side, referencePrice: number, averageFillPrice: number): number {
  const adverse = side === 'buy' ? averageFillPrice - referencePrice : referencePrice - averageFillPrice;
  return Number(((adverse / referencePrice) * 100).toPrecision(12));
}
