/** A broker that answers at once and fills every market order completely on submission: only CPU is left to measure. */
import type { BrokerAdapter, OrderReport, PositionReport, ProtectionReport } from '../src/index.js';

export class InstantBroker implements BrokerAdapter {
  readonly name = 'instant';
  /** Client order ids are unique for the venue's lifetime: a resend can never make a second order. */
  readonly clientOrderIdDurability = 'durable' as const;
  private readonly orders = new Map<string, OrderReport>();
  private readonly positions = new Map<string, PositionReport>();

  constructor(private readonly price = 1.1) {}

  submitOrder(req: { clientOrderId: string; symbol: string; side: 'buy' | 'sell'; quantity: number }): Promise<OrderReport> {
    let order = this.orders.get(req.clientOrderId);
    if (!order) {
      order = { clientOrderId: req.clientOrderId, brokerOrderId: `I-${this.orders.size + 1}`, status: 'filled', filledQuantity: req.quantity, averageFillPrice: this.price };
      this.orders.set(req.clientOrderId, order);
      const p = this.positions.get(req.symbol);
      const signed = (p?.quantity ?? 0) + (req.side === 'buy' ? req.quantity : -req.quantity);
      this.positions.set(req.symbol, { symbol: req.symbol, quantity: signed, averagePrice: this.price, stopLoss: p?.stopLoss ?? null, takeProfit: p?.takeProfit ?? null });
    }
    return Promise.resolve(order);
  }
  cancelOrder(ref: { clientOrderId: string }): Promise<OrderReport> {
    return Promise.resolve(this.orders.get(ref.clientOrderId)!);
  }
  getOrder(ref: { clientOrderId: string }): Promise<OrderReport | null> {
    return Promise.resolve(this.orders.get(ref.clientOrderId) ?? null);
  }
  getPosition(symbol: string): Promise<PositionReport> {
    return Promise.resolve(this.positions.get(symbol) ?? { symbol, quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null });
  }
  placeProtection(req: { clientOrderId: string; symbol: string; quantity: number; stopLoss: number; takeProfit: number }): Promise<ProtectionReport> {
    const p = this.positions.get(req.symbol)!;
    this.positions.set(req.symbol, { ...p, stopLoss: req.stopLoss, takeProfit: req.takeProfit });
    return Promise.resolve({ clientOrderId: req.clientOrderId, status: 'placed', stopLoss: req.stopLoss, takeProfit: req.takeProfit, quantity: req.quantity });
  }
}
