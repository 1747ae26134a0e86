import { describe, expect, it } from 'vitest';
import { rules } from '../../../src/index.js';
import { harness, snapshot } from '../../support/fixtures.js';

const { protectiveLevels, slippagePct } = rules;

describe('rule 2: SL/TP from the actual fill', () => {
  it('buy: SL below and TP above the fill', () => {
    expect(protectiveLevels('buy', 100, -0.01, 0.02)).toEqual({ stopLoss: 99, takeProfit: 102 });
  });
  it('sell: SL above and TP below the fill', () => {
    expect(protectiveLevels('sell', 100, 0.01, -0.02)).toEqual({ stopLoss: 101, takeProfit: 98 });
  });
  it('refuses levels on the wrong side or a non-positive fill', () => {
    expect(() => protectiveLevels('buy', 100, 0.01, 0.02)).toThrow(RangeError);
    expect(() => protectiveLevels('sell', 100, -0.01, -0.02)).toThrow(RangeError);
    expect(() => protectiveLevels('buy', 0, -0.01, 0.02)).toThrow(RangeError);
    expect(() => protectiveLevels('buy', NaN, -0.01, 0.02)).toThrow(RangeError);
  });
  it('in the engine: levels come from the fill price, not the reference price, and are placed for the filled quantity', async () => {
    const h = harness();
    const s = snapshot({ referencePrice: 1.1 });
    h.fillOnAccept(50, 1.2);
    const result = await h.run(h.engine.execute(s));
    expect(result.fillPrice).toBe(1.2);
    expect(result.stopLoss).toBe(1.188);
    expect(result.takeProfit).toBe(1.224);
    expect(h.broker.callsOf('placeProtection')[0]!.args).toEqual({
      clientOrderId: `${result.clientOrderId}-p`, symbol: 'EURUSD', side: 'buy', quantity: 10, stopLoss: 1.188, takeProfit: 1.224,
    });
  });
  it('slippage is positive when worse for the side', () => {
    expect(slippagePct('buy', 100, 101)).toBe(1);
    expect(slippagePct('buy', 100, 99)).toBe(-1);
    expect(slippagePct('sell', 100, 99)).toBe(1);
    expect(slippagePct('sell', 100, 101)).toBe(-1);
  });
  it('a short from start to finish: sell fill, levels inverted, position negative, reconciled', async () => {
    const h = harness();
    const s = snapshot({ side: 'sell' });
    h.fillOnAccept(50, 1.0995);
    const result = await h.run(h.engine.execute(s));
    expect(result.status).toBe('filled');
    expect(result.slippagePct).toBeCloseTo(0.0454545, 5);
    expect(result.stopLoss).toBeGreaterThan(result.fillPrice!);
    expect(result.takeProfit).toBeLessThan(result.fillPrice!);
    expect(h.broker.venue.position('EURUSD')).toMatchObject({ quantity: -10, stopLoss: result.stopLoss, takeProfit: result.takeProfit });
    expect(result.reconciliation?.status).toBe('matched');
  });
});
