/**
 * Virtual time over real sockets. The engine runs on a VirtualClock, the venue answers over
 * loopback HTTP. Time may only jump while no broker call is in flight, so every request takes
 * zero virtual time and a 30 s deadline costs nothing, deterministically.
 */
import type { BrokerAdapter } from '../../src/index.js';
import type { VirtualClock } from '../../src/testing/index.js';

const idle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Wraps a broker so that `quiet()` resolves once no call to it is in flight. */
export function trackCalls(broker: BrokerAdapter): { broker: BrokerAdapter; quiet: () => Promise<void> } {
  let pending = 0;
  let wake: (() => void) | null = null;
  const wrapped = new Proxy(broker, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || key === 'subscribe') return value;
      return (...args: unknown[]) => {
        pending++;
        const result = Promise.resolve((value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
        return result.finally(() => {
          pending--;
          if (pending === 0) wake?.();
        });
      };
    },
  });
  const quiet = async () => {
    // Quiet means: nothing in flight, and still nothing after the program has reacted.
    for (;;) {
      while (pending > 0) await new Promise<void>((resolve) => (wake = resolve));
      for (let i = 0; i < 5; i++) await idle();
      if (pending === 0) return;
    }
  };
  return { broker: wrapped, quiet };
}

/** Drives `clock` until `promise` settles, jumping only when the broker is quiet. */
export async function drive<T>(clock: VirtualClock, quiet: () => Promise<void>, promise: Promise<T>, limitMs = 10 * 60_000): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => (settled = true));
  tracked.catch(() => undefined);
  const limit = clock.now() + limitMs;
  for (;;) {
    await quiet();
    if (settled) return tracked;
    if (clock.now() > limit) throw new Error(`still pending after ${limitMs} ms of simulated time`);
    if (!(await clock.step())) throw new Error('pending with no timer scheduled and no broker call in flight (deadlock)');
  }
}
