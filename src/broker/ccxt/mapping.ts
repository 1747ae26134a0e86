/** ccxt's answers in Warden's words: order reports, statuses, protective levels, the price tick. */
import type { OrderReport, OrderStatus } from '../../domain/schemas.js';
import type { CcxtOrder, CcxtPosition } from './types.js';

// ccxt's precisionMode values.
const DECIMAL_PLACES = 2;
const TICK_SIZE = 4;

/**
 * An order as Warden reports it (the average price from the cost when the venue gives none).
 *
 * @example
 * orderReportOf({ id: '8389765', status: 'closed', filled: 0.01, average: 97000 }, 'wd-1'); // { status: 'filled', … }
 */
export function orderReportOf(order: CcxtOrder, clientOrderId: string): OrderReport {
  const filled = order.filled ?? 0;
  const average = order.average ?? (filled > 0 && order.cost ? order.cost / filled : undefined);
  return {
    clientOrderId: order.clientOrderId ?? clientOrderId,
    brokerOrderId: order.id ?? null,
    status: statusOf(order.status, filled),
    filledQuantity: filled,
    averageFillPrice: average !== undefined && average > 0 ? average : null,
  };
}

/** The price tick of a market, from its price precision in the exchange's precision mode; undefined when unknown. */
export function tickSizeOf(precision: number | undefined, precisionMode: number | undefined): number | undefined {
  if (precision === undefined) return undefined;
  if (precisionMode === TICK_SIZE) return precision;
  if (precisionMode === DECIMAL_PLACES) return 10 ** -precision;
  return undefined;
}

/** Steps closer to a whole number of ticks than this are float noise (96514.9 computed as 96514.899999…), not a level off the tick. */
const TICK_NOISE = 1e-6;

/**
 * A price level on the market's tick: rounded `'up'`, `'down'` or to the `'nearest'` tick. A level
 * already on the tick, give or take float noise, is kept; the result carries no float noise itself.
 *
 * @example
 * levelOnTick(96_514.93999, 0.1, 'up'); // 96515 (a long's stop: tighter, never wider)
 * levelOnTick(97_485.06, 0.1, 'down'); // 97485 (a short's stop)
 */
export function levelOnTick(level: number, tick: number, direction: 'up' | 'down' | 'nearest'): number {
  const steps = level / tick;
  const nearest = Math.round(steps);
  const whole = Math.abs(steps - nearest) < TICK_NOISE || direction === 'nearest' ? nearest : direction === 'up' ? Math.ceil(steps) : Math.floor(steps);
  let decimals = 0;
  while (decimals < 15 && Math.abs(Math.round(tick * 10 ** decimals) - tick * 10 ** decimals) > TICK_NOISE) decimals++;
  return Number((whole * tick).toFixed(decimals));
}

/** ccxt's unified status, in Warden's words. Anything unrecognised is still working. */
function statusOf(status: string | undefined, filled: number): OrderStatus {
  switch (status) {
    case 'closed':
      return 'filled';
    case 'canceled':
    case 'expired':
      return 'cancelled';
    case 'rejected':
      return 'rejected';
    default:
      return filled > 0 ? 'partially_filled' : 'pending';
  }
}

/**
 * The working reduce-only trigger orders that close the position, read as its SL and TP. A
 * venue's raw type (`STOP_MARKET`, `TAKE_PROFIT_MARKET`) decides which is which; without one,
 * the side of the entry price does. With several of a kind, the latest counts.
 */
export function protectiveLevelsOf(orders: readonly CcxtOrder[], quantity: number, entry: number | null): { stopLoss: number | null; takeProfit: number | null } {
  const closing = quantity > 0 ? 'sell' : 'buy';
  let stopLoss: { price: number; at: number } | null = null;
  let takeProfit: { price: number; at: number } | null = null;
  for (const o of orders) {
    const price = o.triggerPrice ?? o.stopLossPrice ?? o.takeProfitPrice;
    if (quantity === 0 || o.reduceOnly !== true || o.side !== closing || price === undefined || !(price > 0)) continue;
    const rawType = String((o.info as { orderType?: unknown; type?: unknown } | undefined)?.orderType ?? (o.info as { type?: unknown } | undefined)?.type ?? '').toUpperCase();
    const isTakeProfit = rawType.includes('TAKE_PROFIT')
      ? true
      : rawType.includes('STOP')
        ? false
        : o.takeProfitPrice !== undefined || (entry !== null && (quantity > 0 ? price > entry : price < entry));
    const at = o.timestamp ?? 0;
    if (isTakeProfit) {
      if (!takeProfit || at >= takeProfit.at) takeProfit = { price, at };
    } else if (!stopLoss || at >= stopLoss.at) stopLoss = { price, at };
  }
  return { stopLoss: stopLoss?.price ?? null, takeProfit: takeProfit?.price ?? null };
}

/** A position row of a hedge-mode account: ccxt's `hedged`, or Binance's own `positionSide` LONG/SHORT. */
export function isHedgeModeRow(p: CcxtPosition): boolean {
  if (p.hedged === true) return true;
  const side = (p.info as { positionSide?: unknown } | undefined)?.positionSide;
  return side === 'LONG' || side === 'SHORT';
}
