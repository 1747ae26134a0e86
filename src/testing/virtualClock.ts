/**
 * A time-skipping clock: timers fire in order of due time, and `run` jumps straight to the next
 * one whenever the program is idle. A 30 s deadline costs microseconds. The same role as
 * XState's SimulatedClock, which Warden also accepts, plus `now()` and idle-driven advancing.
 */
import type { Clock } from '../domain/clock.js';
import { pacedBacklog } from '../engine/loopBudget.js';

interface Timer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/** A turn of the real event loop, and then as many as the engines' paced work still needs. */
const idle = async () => {
  await turn();
  for (let turns = 0; pacedBacklog() > 0 && turns < MAX_PACED_TURNS; turns++) await turn();
};
/** Bounds the wait for paced work (one item per turn); far above any test's backlog. */
const MAX_PACED_TURNS = 1_000_000;
/** How many turns of the real event loop `run` waits, with no timer due, before it calls a deadlock. */
const QUIET_TURNS = 20;

/**
 * @example
 * const clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
 * const result = await clock.run(engine.execute(snapshot));
 */
export class VirtualClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.current + Math.max(0, Number.isFinite(ms) ? ms : 0), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.timers.size;
  }

  /** Runs every timer due up to `now + ms`, letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const until = this.current + ms;
    await idle();
    for (let t = this.nextDue(); t !== null && t.due <= until; t = this.nextDue()) {
      this.fire(t);
      await idle();
    }
    this.current = Math.max(this.current, until);
    await idle();
  }

  /**
   * Drives time until `promise` settles. Throws if nothing is scheduled while it is still
   * pending (a deadlock), or after `limitMs` of simulated time.
   */
  async run<T>(promise: Promise<T>, limitMs = 10 * 60_000): Promise<T> {
    let settled = false;
    const tracked = promise.finally(() => {
      settled = true;
    });
    tracked.catch(() => undefined);
    const limit = this.current + limitMs;
    await idle();
    while (!settled) {
      // Real work still queued for the next turns (a journal's group commit) settles before a deadlock is called.
      for (let turn = 0; turn < QUIET_TURNS && !settled && this.nextDue() === null; turn++) await idle();
      if (settled) break;
      const next = this.nextDue();
      if (next === null) throw new Error('VirtualClock.run: the promise is pending and no timer is scheduled (deadlock)');
      if (next.due > limit) throw new Error(`VirtualClock.run: still pending after ${limitMs} ms of simulated time`);
      this.fire(next);
      await idle();
    }
    return tracked;
  }

  /** Lets promises settle, fires the next due timer (jumping to its time) and lets promises settle again; false when none is scheduled. */
  async step(): Promise<boolean> {
    await idle();
    const next = this.nextDue();
    if (next === null) return false;
    this.fire(next);
    await idle();
    return true;
  }

  private nextDue(): Timer | null {
    let best: Timer | null = null;
    for (const t of this.timers.values()) if (!best || t.due < best.due || (t.due === best.due && t.id < best.id)) best = t;
    return best;
  }

  private fire(t: Timer): void {
    this.timers.delete(t.id);
    this.current = Math.max(this.current, t.due);
    t.fn();
  }
}
