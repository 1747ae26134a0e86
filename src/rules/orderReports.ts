/**
 * Merging broker reports into one view of the order. Reports arrive by push and by polling,
 * duplicated, late and out of order; the merge is monotonic so none of that can move the view
 * backwards: filled quantity never decreases and a final status is never reopened.
 */
import type { OrderReport, OrderStatus } from '../domain/schemas.js';

/**
 * What Warden believes about its order: a report, and when its average price is from a report of
 * less filled quantity than the view's (a venue that reported a larger fill without its price),
 * how much that price covers (`pricedQuantity`). Absent when the average covers every filled unit.
 */
export type OrderView = OrderReport & { readonly pricedQuantity?: number };

/** The filled quantity a view's average price is known for. */
const pricedIn = (view: OrderView): number => (view.averageFillPrice === null ? 0 : (view.pricedQuantity ?? view.filledQuantity));

/**
 * Whether part of what filled has no reported price: none at all, or only a smaller fill's.
 *
 * @example
 * priceBehindFill({ ...report, filledQuantity: 10, averageFillPrice: 1.1, pricedQuantity: 4 }); // true
 */
export const priceBehindFill = (view: OrderView): boolean => view.filledQuantity > 0 && pricedIn(view) < view.filledQuantity;

const TERMINAL: ReadonlySet<OrderStatus> = new Set(['filled', 'cancelled', 'rejected']);

export const isTerminalStatus = (status: OrderStatus): boolean => TERMINAL.has(status);

/**
 * Folds `incoming` into `current`.
 * - filled quantity: the maximum ever reported (cumulative by contract);
 * - average price: from the priced report with the most filled quantity (a larger fill reported
 *   without a price keeps the smaller fill's price, and the view says how much it covers);
 * - status: a final status sticks, unless a later final report shows more quantity filled
 *   (a cancel that lost the race to a fill is corrected by the fill).
 *
 * @example
 * mergeOrderReport(filledReport, stalePendingReport) === filledReport-equivalent
 */
export function mergeOrderReport(current: OrderView | null, incoming: OrderReport): OrderView {
  if (current === null) return normalise(incoming);
  const more = incoming.filledQuantity > current.filledQuantity;
  const filledQuantity = Math.max(current.filledQuantity, incoming.filledQuantity);
  const pricedBefore = pricedIn(current);
  const priceFromIncoming = incoming.averageFillPrice !== null && (current.averageFillPrice === null || incoming.filledQuantity > pricedBefore);
  const averageFillPrice = priceFromIncoming ? incoming.averageFillPrice : current.averageFillPrice;
  const pricedQuantity = priceFromIncoming ? incoming.filledQuantity : pricedBefore;

  let status: OrderStatus;
  if (isTerminalStatus(current.status)) {
    status = isTerminalStatus(incoming.status) && more ? incoming.status : current.status;
  } else if (isTerminalStatus(incoming.status)) {
    status = incoming.status;
  } else {
    status = current.status === 'partially_filled' || incoming.status === 'partially_filled' ? 'partially_filled' : 'pending';
  }
  const reason = incoming.reason ?? current.reason;
  return normalise({
    clientOrderId: current.clientOrderId,
    brokerOrderId: current.brokerOrderId ?? incoming.brokerOrderId,
    status,
    filledQuantity,
    averageFillPrice,
    ...(reason === undefined ? {} : { reason }),
    ...(averageFillPrice !== null && pricedQuantity < filledQuantity ? { pricedQuantity } : {}),
  });
}

function normalise(view: OrderView): OrderView {
  // A working order with something filled is partially filled, whatever the adapter called it.
  return view.status === 'pending' && view.filledQuantity > 0 ? { ...view, status: 'partially_filled' } : view;
}
