/**
 * Rule 6 beside the fleet's other executions on one account: the position they may hold is a
 * range (their open orders may have filled more than their engines heard).
 */
import { describe, expect, it } from 'vitest';
import { rules } from '../../../src/index.js';

const { diffReconciliation } = rules;
const order = { clientOrderId: 'c', brokerOrderId: 'b', status: 'filled' as const, filledQuantity: 10, averageFillPrice: 1.1 };
const position = { symbol: 'EURUSD', quantity: 10, averagePrice: 1.1, stopLoss: 1.089, takeProfit: 1.122 };
const expected = { symbol: 'EURUSD', side: 'buy' as const, positionSize: 10, protectionFailure: null, order, priorPositionQuantity: 0, protection: { stopLoss: 1.089, takeProfit: 1.122 }, protectedQuantity: 10, priceTick: null, outcomeUncertain: false };

describe("reconciliation against the fleet's ledger", () => {
  it('a position within what the others may hold, plus this fill, is explained; one tick outside is a difference', () => {
    // Others heard 20 filled; their open buys may add up to 15 more, their open sells take 5 away.
    const fleet = { ...expected, priorPositionQuantity: 20, priorPositionQuantityAsked: 20, priorPositionRange: { low: 15, high: 35 } };
    const at = (quantity: number) => diffReconciliation(fleet, { order, position: { ...position, quantity } }).status;
    expect([at(25), at(30), at(45)]).toEqual(['matched', 'matched', 'matched']);
    expect(at(24.9)).toBe('mismatch');
    expect(at(45.1)).toBe('mismatch');
    expect(diffReconciliation(fleet, { order, position: { ...position, quantity: 46 } }).mismatches).toEqual([
      expect.objectContaining({ field: 'position.quantity', expected: 30, actual: 46 }),
    ]);
  });

  it('beside others the entry price is theirs too: compared only when the execution is alone on the symbol', () => {
    const beside = { ...expected, priorPositionQuantity: 10, priorPositionRange: { low: 10, high: 10 } };
    expect(diffReconciliation(beside, { order, position: { ...position, quantity: 20, averagePrice: 1.2 } })).toEqual({ status: 'matched', mismatches: [] });
    const aloneInFleet = { ...expected, priorPositionRange: { low: 0, high: 0 } };
    expect(diffReconciliation(aloneInFleet, { order, position: { ...position, averagePrice: 1.2 } }).mismatches.map((m) => m.field)).toEqual(['position.averagePrice']);
  });
});
