/**
 * Rule 3 between turns: the kill switch fan-out tells executions in later turns of the event
 * loop, so whatever else reaches an execution must first deliver what it has not been told: it
 * goes through the execution's mailbox (`deliver`). Every invoked actor and callback of the chart is checked here, answer and
 * failure alike: an actor added later without it fails this test.
 */
import { createActor, setup, toPromise, type AnyActorLogic } from 'xstate';
import { describe, expect, it } from 'vitest';
import { createActors } from '../../machines/execution.actors.js';
import { createEnv } from '../../machines/execution.env.js';
import { atOnce } from '../../src/broker/brokerCall.js';
import { BrokerError, PaperBroker, type OrderReport } from '../../src/index.js';
import { snapshot } from '../support/fixtures.js';

const s = snapshot();
const ref = { clientOrderId: 'wd-1', symbol: s.symbol };
const order: OrderReport = { clientOrderId: 'wd-1', brokerOrderId: 'B1', status: 'filled', filledQuantity: 1, averageFillPrice: 1.1 };

function actorsWith(fail: boolean) {
  const log: string[] = [];
  const answer = async <T,>(value: T): Promise<T> => {
    if (fail) throw new BrokerError('refused', { retryable: false, code: 'rejected' });
    return value;
  };
  const broker = Object.assign(new PaperBroker({ seed: 1 }), {
    submitOrder: () => answer(order),
    getOrder: () => answer(order),
    cancelOrder: () => answer(order),
    placeProtection: () => answer({ clientOrderId: 'wd-1-p', status: 'placed' as const, stopLoss: 1, takeProfit: 2, quantity: 1 }),
    getPosition: () => answer({ symbol: s.symbol, quantity: 1, averagePrice: 1.1, stopLoss: 1, takeProfit: 2 }),
    subscribe: (listener: (r: OrderReport) => void) => {
      queueMicrotask(() => listener(order));
      return () => undefined;
    },
  });
  const env = createEnv({
    broker,
    pollIntervalMs: 1,
    minPollIntervalMs: 1,
    advisories: { has: () => false, claim: () => answer(undefined) },
    deliver: (id, takeIn) => (log.push(`told ${id}`), atOnce(id, takeIn)),
  });
  return { actors: createActors(env), log };
}

const inputs: Record<string, unknown> = {
  claimAdvisory: { advisoryId: s.advisoryId, executionId: 'x', clientOrderId: 'wd-1', deadlineAt: 0, snapshot: s },
  submitOrder: { executionId: 'x', request: { clientOrderId: 'wd-1', symbol: s.symbol, side: 'buy', quantity: 1, type: 'market' } },
  lookupOrder: { executionId: 'x', ref },
  cancelOrder: { executionId: 'x', ref, alreadyRequested: false },
  placeProtection: { executionId: 'x', request: { clientOrderId: 'wd-1-p', symbol: s.symbol, side: 'buy', quantity: 1, stopLoss: 1, takeProfit: 2 } },
  reconcile: { executionId: 'x', ref, symbol: s.symbol },
  watchOrder: { executionId: 'x', ref },
  orderFeed: { executionId: 'x', clientOrderId: 'wd-1' },
};

describe('everything that reaches an execution tells it of the kill switch first', () => {
  for (const fail of [false, true]) {
    for (const name of Object.keys(inputs)) {
      it(`${name}: its ${fail ? 'failure' : 'answer'}`, async () => {
        const { actors, log } = actorsWith(fail);
        const logic = (actors as Record<string, AnyActorLogic>)[name]!;
        if (name === 'orderFeed' && fail) return; // a push is never a failure
        const seen: string[] = [];
        if (name === 'watchOrder' || name === 'orderFeed') {
          // Callback actors: what they send back to the machine that invokes them.
          const host = setup({ actors: { child: logic } }).createMachine({
            invoke: { src: 'child', input: inputs[name] },
            on: { '*': { actions: ({ event }) => seen.push(`${log.length > 0 ? 'after telling' : 'untold'}: ${event.type}`) } },
          });
          const parent = createActor(host).start();
          for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 2));
          parent.stop();
          expect(seen[0]).toMatch(/^after telling: /);
        } else {
          const actor = createActor(logic, { input: inputs[name] }).start();
          await toPromise(actor).then(
            () => seen.push(log.length > 0 ? 'after telling' : 'untold'),
            () => seen.push(log.length > 0 ? 'after telling' : 'untold'),
          );
          expect(seen).toEqual(['after telling']);
        }
        expect(log[0]).toBe('told x');
      });
    }
  }
});
