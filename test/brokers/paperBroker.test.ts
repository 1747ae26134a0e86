import { describe, expect, it } from 'vitest';
import { BrokerError, PaperBroker, createEngine } from '../../src/index.js';
import { VirtualClock } from '../../src/testing/index.js';
import { silentLogger, snapshot, T0 } from '../support/fixtures.js';

const req = (id: string, side: 'buy' | 'sell' = 'buy', quantity = 10) => ({ clientOrderId: id, symbol: 'EURUSD', side, quantity, type: 'market' as const });

async function runPaper(seed: number) {
  const clock = new VirtualClock(T0);
  const broker = new PaperBroker({ clock, seed, markets: { EURUSD: { price: 1.1, slippageBps: 5 } } });
  const engine = createEngine({ broker, clock, logger: silentLogger() });
  return clock.run(engine.execute(snapshot()));
}

describe('PaperBroker', () => {
  it('is deterministic for a seed, and the seed matters', async () => {
    const a = await runPaper(7);
    const b = await runPaper(7);
    const c = await runPaper(8);
    expect([a.fillPrice, a.durationMs]).toEqual([b.fillPrice, b.durationMs]);
    expect(a.fillPrice).not.toBe(c.fillPrice);
  });

  it('slippage is adverse and bounded by slippageBps', async () => {
    for (let seed = 1; seed < 20; seed++) {
      const r = await runPaper(seed);
      expect(r.slippagePct!).toBeGreaterThanOrEqual(0);
      expect(r.slippagePct!).toBeLessThanOrEqual(0.05 + 1e-9);
    }
  });

  it('is idempotent on clientOrderId', async () => {
    const clock = new VirtualClock(T0);
    const broker = new PaperBroker({ clock, markets: { EURUSD: { price: 1.1, noLiquidity: true } } });
    const first = await clock.run(broker.submitOrder(req('x')));
    const again = await clock.run(broker.submitOrder(req('x')));
    expect(again.brokerOrderId).toBe(first.brokerOrderId);
    expect(broker.venue.snapshot().orders).toHaveLength(1);
  });

  it('fills in steps, keeps positions with average price, and protective orders', async () => {
    const clock = new VirtualClock(T0);
    const broker = new PaperBroker({ clock, seed: 1, markets: { EURUSD: { price: 1.1, slippageBps: 0, fillSteps: [{ afterMs: 100, fraction: 0.5 }, { afterMs: 200, fraction: 0.5 }] } } });
    await clock.run(broker.submitOrder(req('x')));
    await clock.advance(150);
    expect((await clock.run(broker.getOrder({ clientOrderId: 'x' })))?.status).toBe('partially_filled');
    await clock.advance(100);
    expect((await clock.run(broker.getOrder({ clientOrderId: 'x' })))?.status).toBe('filled');
    await clock.run(broker.placeProtection({ clientOrderId: 'x-p', symbol: 'EURUSD', side: 'buy', quantity: 10, stopLoss: 1.09, takeProfit: 1.12 }));
    expect(await clock.run(broker.getPosition('EURUSD'))).toEqual({ symbol: 'EURUSD', quantity: 10, averagePrice: 1.1, stopLoss: 1.09, takeProfit: 1.12 });
  });

  it('refuses protection larger than the position', async () => {
    const clock = new VirtualClock(T0);
    const broker = new PaperBroker({ clock, markets: { EURUSD: { price: 1.1 } } });
    const r = await clock.run(broker.placeProtection({ clientOrderId: 'p', symbol: 'EURUSD', side: 'buy', quantity: 1, stopLoss: 1, takeProfit: 2 }));
    expect(r.status).toBe('rejected');
  });

  it('an unlisted symbol is a definitive refusal', async () => {
    const clock = new VirtualClock(T0);
    const broker = new PaperBroker({ clock, markets: {} });
    const err = await clock.run(broker.submitOrder(req('x'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).retryable).toBe(false);
  });

  it('cancelling an unknown order is a definitive error; cancelling a filled one returns it filled', async () => {
    const clock = new VirtualClock(T0);
    const broker = new PaperBroker({ clock, markets: { EURUSD: { price: 1.1, fillAfterMs: 10 } } });
    await expect(clock.run(broker.cancelOrder({ clientOrderId: 'nope' }))).rejects.toMatchObject({ retryable: false, code: 'unknown_order' });
    await clock.run(broker.submitOrder(req('x')));
    await clock.advance(100);
    expect((await clock.run(broker.cancelOrder({ clientOrderId: 'x' }))).status).toBe('filled');
  });

  it('a short that is bought back flattens the position and drops its protection', async () => {
    const clock = new VirtualClock(T0);
    const broker = new PaperBroker({ clock, markets: { EURUSD: { price: 1.1, fillAfterMs: 10, slippageBps: 0 } } });
    await clock.run(broker.submitOrder(req('s', 'sell')));
    await clock.advance(50);
    await clock.run(broker.placeProtection({ clientOrderId: 's-p', symbol: 'EURUSD', side: 'sell', quantity: 10, stopLoss: 1.2, takeProfit: 1.0 }));
    expect((await clock.run(broker.getPosition('EURUSD'))).quantity).toBe(-10);
    await clock.run(broker.submitOrder(req('b', 'buy')));
    await clock.advance(50);
    expect(await clock.run(broker.getPosition('EURUSD'))).toEqual({ symbol: 'EURUSD', quantity: 0, averagePrice: null, stopLoss: null, takeProfit: null });
  });
});
