/**
 * Merging broker reports into one view of the order. Reports arrive by push and by polling,
 * duplicated, late and out of order; the merge is monotonic so none of that can move the view
 * backwards: filled quantity never decreases and a final status is never reopened.
 */
import type { OrderReport, OrderStatus } from '../domain/schemas.js';

/** What Warden believes about its order. Same shape as a report. */
export type OrderView = OrderReport;

const TERMINAL: ReadonlySet<OrderStatus> = new Set(['filled', 'cancelled', 'rejected']);

export const isTerminalStatus = (status: OrderStatus): boolean => TERMINAL.has(status);

/**
 * Folds `incoming` into `current`.
 * - filled quantity: the maximum ever reported (cumulative by contract);
 * - average price: from the report with the most filled quantity;
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
  const averageFillPrice = more ? (incoming.averageFillPrice ?? current.averageFillPrice) : (current.averageFillPrice ?? incoming.averageFillPrice);

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
  });
}

function normalise(view: OrderView): OrderView {
  // A working order with something filled is partially filled, whatever the adapter called it.
  return view.status === 'pending' && view.filledQuantity > 0 ? { ...view, status: 'partially_filled' } : view;
}
