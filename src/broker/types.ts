/** The contract every broker adapter implements (DESIGN §6). */
import type { OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest } from '../domain/schemas.js';

export type { OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest };

/**
 * A broker as Warden sees it. Throw {@link BrokerError} with `retryable: false` for a definitive
 * refusal; anything else thrown means the outcome is unknown and the order may exist.
 *
 * @example
 * class MyBroker implements BrokerAdapter { readonly name = 'my-broker'; async submitOrder(req) { ... } ... }
 */
export interface BrokerAdapter {
  readonly name: string;
  /** Must be idempotent on `req.clientOrderId`: a resend returns the existing order. */
  submitOrder(req: OrderRequest): Promise<OrderReport>;
  /** Returns the order's state after the cancel attempt (it may have filled first). */
  cancelOrder(ref: OrderRef): Promise<OrderReport>;
  /** `null` means the broker does not know the order. */
  getOrder(ref: OrderRef): Promise<OrderReport | null>;
  /** Called only by reconciliation. Quantity is signed: + long, - short. */
  getPosition(symbol: string): Promise<PositionReport>;
  placeProtection(req: ProtectionRequest): Promise<ProtectionReport>;
  /** Optional push updates for all orders; returns an unsubscribe function. */
  subscribe?(listener: (report: OrderReport) => void): () => void;
}
