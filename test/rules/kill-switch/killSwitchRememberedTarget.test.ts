import { describe, expect, it } from 'vitest';
import { createKillSwitchFanOut, rememberCancelTarget, type FanOutTarget } from '../../../src/engine/killSwitchFanOut.js';
import { createLoopBudget } from '../../../src/engine/loopBudget.js';
import type { CancelItem } from '../../../src/broker/checkedBroker.js';

/** A snapshot as the chart would show it to the fan-out: working (order `pending`) or with its order over. */
const snapshotOf = (status: 'pending' | 'cancelled') =>
  ({ status: 'active', value: { live: { trading: 'working' } }, hasTag: (tag: string) => tag === 'trading', context: { attempts: [], order: { status, brokerOrderId: 'B-1' }, clientOrderId: 'wd-1', snapshot: { symbol: 'EURUSD' } } }) as never;

const change = { at: new Date(0).toISOString(), symbol: null, from: 'off', to: 'active', type: 'manual', reason: 'panic', operator: 'ops' } as const;

function fanOutOver(target: FanOutTarget) {
  const asked: CancelItem[] = [];
  const fanOut = createKillSwitchFanOut({
    running: new Map([['exec-1', target]]),
    stateOf: () => 'active',
    cancelOrders: (batch) => void asked.push(...batch),
    loop: createLoopBudget(1_000),
  });
  return { fanOut, asked };
}

describe('the cancel target remembered at each step of an execution', () => {
  it('is used while the execution is still at the snapshot it was worked out from', () => {
    const working = snapshotOf('pending');
    const target: FanOutTarget = { symbol: 'EURUSD', send: () => undefined, snapshot: () => working };
    rememberCancelTarget(target, working);
    const { fanOut, asked } = fanOutOver(target);
    fanOut.onChange(change);
    expect(asked.map((i) => i.ref.clientOrderId)).toEqual(['wd-1']);
    expect(asked[0]!.ref).toBe(target.fanOut!.target);
  });

  it('is never trusted once the execution stepped on: an order that ended meanwhile is not cancelled', () => {
    const working = snapshotOf('pending');
    let current = working;
    const target: FanOutTarget = { symbol: 'EURUSD', send: () => undefined, snapshot: () => current };
    rememberCancelTarget(target, working);
    // The order is over in a later snapshot the fan-out has not been told of.
    current = snapshotOf('cancelled');
    const { fanOut, asked } = fanOutOver(target);
    fanOut.onChange(change);
    expect(asked).toEqual([]);
  });
});
