/**
 * The executions' mailbox: the one way anything from outside reaches an execution. A broker's
 * answer or failure, a pushed report, a poll's result, the store's answer to a claim, the limit
 * facts, a cancel the kill switch already requested, and the execution's own timers all go
 * through `deliver(executionId, takeIn)`:
 *
 * 1. it waits for a turn of the engine's loop budget (src/engine/loopBudget.ts), in arrival order
 *    (the host's own answers to a step the execution takes, `'now'`, do not queue);
 * 2. it tells the execution every kill switch change it has not heard yet (the fan-out's `tell`);
 * 3. it runs `takeIn`, which journals what arrived (the checked boundary's observer) and hands it
 *    over: it resolves the invoked actor's promise, or calls the callback actor's `sendBack`.
 *
 * So an execution never acts on a switch it has not heard of, the journal reads in the order the
 * execution learned things, and a burst of answers never holds the event loop.
 */
import type { Deliver } from '../broker/brokerCall.js';
import type { Clock } from '../domain/clock.js';
import type { LoopBudget } from './loopBudget.js';

/** Delivers like `Deliver` with no promise back (nor any for the loop budget's line): a throw of `takeIn` is swallowed. */
export type QueueDelivery = (executionId: string, takeIn: () => void) => void;

/**
 * Delivery to the engine's executions.
 *
 * @example
 * const mailbox = createMailbox({ clock, loop: createLoopBudget(), tell: fanOut.tell });
 * const machine = createExecutionMachine({ broker, deliver: mailbox.deliver });
 * const actor = createActor(machine, { input, clock: mailbox.timersOf(executionId) });
 */
export interface Mailbox {
  /**
   * At the execution's turn: tell it the switch changes it has not heard, then take `takeIn` in.
   * `deliver.queue` does the same for a caller that needs no promise back (a batch's answers).
   */
  readonly deliver: Deliver & { readonly queue: QueueDelivery };
  /** An execution's own timers: each fires through `deliver`, in line with its answers. */
  timersOf(executionId: string): Pick<Clock, 'setTimeout' | 'clearTimeout'>;
}

/**
 * @example
 * const mailbox = createMailbox({ clock: systemClock, loop: createLoopBudget(), tell: (id) => fanOut.tell(id) });
 * await mailbox.deliver('exec-1', () => 'taken in'); // 'taken in', once its turn came
 */
export function createMailbox(deps: {
  readonly clock: Clock;
  readonly loop: Pick<LoopBudget, 'pace'> & Partial<Pick<LoopBudget, 'queue'>>;
  /** Delivers to the execution the kill switch changes it has not heard yet (src/engine/killSwitchFanOut.ts). */
  readonly tell: (executionId: string) => void;
}): Mailbox {
  const { clock, loop, tell } = deps;
  const deliver: Deliver = <T>(executionId: string, takeIn: () => T, when: 'turn' | 'now' = 'turn'): Promise<T> => {
    const now = (): T => {
      tell(executionId); // kill switch events first
      return takeIn();
    };
    const turn = when === 'turn' ? loop.pace() : undefined;
    if (turn !== undefined) return turn.then(now);
    try {
      return Promise.resolve(now());
    } catch (e) {
      return Promise.reject(e);
    }
  };
  const lineUp = loop.queue?.bind(loop);
  const queue: QueueDelivery = lineUp
    ? (executionId, takeIn) =>
        lineUp(() => {
          tell(executionId); // kill switch events first
          takeIn();
        })
    : (executionId, takeIn) => void deliver(executionId, takeIn).catch(() => undefined);
  return {
    deliver: Object.assign(deliver, { queue }),
    timersOf: (executionId) => ({
      setTimeout: (fn: () => void, ms: number) => {
        const timer = { cancelled: false, handle: undefined as unknown };
        timer.handle = clock.setTimeout(() => {
          if (timer.cancelled) return;
          // Telling may end the state that set this timer: it then fires no more.
          void deliver(executionId, () => (timer.cancelled ? undefined : fn()));
        }, ms);
        return timer;
      },
      clearTimeout: (handle: unknown) => {
        const timer = handle as { cancelled: boolean; handle: unknown };
        timer.cancelled = true;
        clock.clearTimeout(timer.handle);
      },
    }),
  };
}
