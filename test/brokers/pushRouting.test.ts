/**
 * Pushed reports: one subscription at the adapter for every execution of an engine, each report
 * routed by its clientOrderId (a push about an order nobody follows costs a look-up, not a parse
 * per execution), and the adapter's subscription dropped when nobody follows anything.
 */
import { describe, expect, it } from 'vitest';
import { checkedBroker } from '../../src/broker/checkedBroker.js';
import { PaperBroker, type OrderReport } from '../../src/index.js';

function pushingVenue() {
  const listeners = new Set<(report: unknown) => void>();
  let subscribes = 0;
  let unsubscribes = 0;
  const adapter = Object.assign(new PaperBroker({ seed: 1 }), {
    subscribe(listener: (report: unknown) => void) {
      subscribes++;
      listeners.add(listener);
      return () => {
        unsubscribes++;
        listeners.delete(listener);
      };
    },
  });
  const push = (report: unknown) => [...listeners].forEach((l) => l(report));
  return { adapter, push, counts: () => ({ subscribes, unsubscribes, listening: listeners.size }) };
}

const report = (clientOrderId: string, filledQuantity = 0): OrderReport => ({ clientOrderId, brokerOrderId: `B-${clientOrderId}`, status: filledQuantity > 0 ? 'filled' : 'pending', filledQuantity, averageFillPrice: filledQuantity > 0 ? 1.1 : null });

describe('pushed reports', () => {
  it('one adapter subscription serves every order, each report reaching only the order it names', () => {
    const venue = pushingVenue();
    const broker = checkedBroker(venue.adapter, { clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined } });
    const heard: string[] = [];
    const follow = (id: string) => broker.subscribe('x', id, (r) => heard.push(`${id}:${r.clientOrderId}:${r.filledQuantity}`), (p) => heard.push(`${id}:invalid:${p}`));
    const stopA = follow('a');
    const stopB = follow('b');
    expect(venue.counts()).toEqual({ subscribes: 1, unsubscribes: 0, listening: 1 });

    venue.push(report('b', 2));
    venue.push(report('zzz', 1)); // nobody here follows it
    venue.push({ clientOrderId: 'a', status: 'nonsense' }); // ours, unreadable
    venue.push(null);
    expect(heard).toEqual(['b:b:2', 'a:invalid:unreadable pushed report']);

    stopA();
    stopA(); // twice is harmless
    expect(venue.counts().unsubscribes).toBe(0); // b still follows its order
    stopB();
    expect(venue.counts()).toEqual({ subscribes: 1, unsubscribes: 1, listening: 0 });
    venue.push(report('b', 3));
    expect(heard).toHaveLength(2);

    follow('c'); // following again subscribes again
    expect(venue.counts().subscribes).toBe(2);
  });

  it('an adapter whose subscribe throws fails that subscription only; the next one tries again', () => {
    let attempts = 0;
    const adapter = Object.assign(new PaperBroker({ seed: 1 }), {
      subscribe() {
        attempts++;
        if (attempts === 1) throw new Error('socket closed');
        return () => undefined;
      },
    });
    const broker = checkedBroker(adapter, { clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined } });
    expect(() => broker.subscribe('x', 'a', () => undefined, () => undefined)).toThrow('socket closed');
    expect(() => broker.subscribe('x', 'b', () => undefined, () => undefined)).not.toThrow();
    expect(attempts).toBe(2);
  });

  for (const paced of [false, true]) {
    it(`a hostile or broken push never reaches the adapter as an exception, and one execution's failure is its own (${paced ? 'paced' : 'at once'})`, async () => {
      const venue = pushingVenue();
      const broker = checkedBroker(venue.adapter, {
        clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined },
        ...(paced ? { deliver: <T,>(_id: string, takeIn: () => T) => Promise.resolve().then(takeIn) } : {}),
      });
      const heard: string[] = [];
      broker.subscribe('x', 'a', () => {
        throw new Error('this execution failed');
      }, () => undefined);
      broker.subscribe('x', 'a', (r) => heard.push(`second:${r.filledQuantity}`), (p) => heard.push(`second:${p}`));
      const hostile = {
        clientOrderId: 'a',
        get status(): string {
          throw new Error('hostile getter');
        },
      };
      const reused = report('a', 1);
      expect(() => venue.push(hostile)).not.toThrow();
      expect(() => venue.push(reused)).not.toThrow();
      (reused as { filledQuantity: number }).filledQuantity = 99; // the adapter reuses its object
      await new Promise((r) => setImmediate(r));
      expect(heard).toEqual(['second:unreadable pushed report', 'second:1']); // read as it arrived
    });
  }

  it('reports an adapter replays inside subscribe reach the execution that subscribed', () => {
    const adapter = Object.assign(new PaperBroker({ seed: 1 }), {
      subscribe(listener: (report: unknown) => void) {
        listener(report('a', 2)); // what the venue already knows, replayed at once
        return () => undefined;
      },
    });
    const broker = checkedBroker(adapter, { clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined } });
    const heard: number[] = [];
    broker.subscribe('x', 'a', (r) => heard.push(r.filledQuantity), () => undefined);
    expect(heard).toEqual([2]);
  });
});
