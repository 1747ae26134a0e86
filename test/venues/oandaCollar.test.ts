/**
 * The pre-trade collar at OANDA. README ("The collar fails closed") and docs/rules.md say an order
 * that passed `priceCollarPct` carries the collar's worst price as `OrderRequest.priceBound`, "for an
 * adapter that can bound the fill price at the venue (… OANDA's `priceBound`)". v20's
 * MarketOrderRequest.priceBound is "the worst price that the client is willing to have the Market
 * Order filled at": OANDA cancels (BOUNDS_VIOLATION) rather than fill beyond it.
 */
import { describe, expect, it } from 'vitest';
import type { OrderRequest } from '../../src/index.js';
import type { OandaVenue } from './oandaVenue.js';
import { useOfflineOanda } from './offlineOanda.js';

const offlineOanda = useOfflineOanda();

const order = (clientOrderId: string, overrides: Partial<OrderRequest> = {}): OrderRequest => ({ clientOrderId, symbol: 'EURUSD', side: 'buy', quantity: 1000, type: 'market', ...overrides });
const sent = (v: OandaVenue) => (v.requests.filter((r) => r.method === 'POST')[0]?.body as { order: Record<string, unknown> }).order;

describe('OandaBroker: the collar an order carries (OrderRequest.priceBound)', () => {
  it('a buy whose price moved past the collar is cancelled BOUNDS_VIOLATION, never filled beyond it', async () => {
    const { venue, broker } = await offlineOanda();
    venue.instruments.get('EUR_USD')!.price = 1.11; // 0.9 % above the reference, past a 0.5 % collar
    // The collar passed at the check (priceBound = 1.1 × 1.005); the market moved before the fill.
    const report = await broker.submitOrder(order('wd-collar1', { priceBound: 1.1055, protectOnFill: { slOffsetPct: -0.01, tpOffsetPct: 0.02, referencePrice: 1.1 } }));
    expect(sent(venue).priceBound).toBe('1.10550');
    expect(report).toMatchObject({ status: 'cancelled', filledQuantity: 0, reason: 'BOUNDS_VIOLATION' });
    expect(venue.netUnits('EUR_USD')).toBe(0);
  });

  it('a bound between two ticks is rounded inward (a buy down, a sell up), never half a tick past the collar', async () => {
    const { venue, broker } = await offlineOanda();
    await broker.submitOrder(order('wd-collar3', { priceBound: 1.1055499 }));
    expect(sent(venue).priceBound).toBe('1.10554');
    const other = await offlineOanda();
    await other.broker.submitOrder(order('wd-collar4', { side: 'sell', priceBound: 1.0945001 }));
    expect(sent(other.venue).priceBound).toBe('1.09451');
  });

  it('a sell carries its bound below the reference', async () => {
    const { venue, broker } = await offlineOanda();
    const report = await broker.submitOrder(order('wd-collar2', { side: 'sell', priceBound: 1.0945 }));
    expect(sent(venue).priceBound).toBe('1.09450');
    expect(report).toMatchObject({ status: 'filled', filledQuantity: 1000 });
  });
});
