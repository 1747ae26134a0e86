/**
 * One protective id, one call at a time. Warden calls `placeProtection` again under the same id as
 * fills raise the quantity, and may give up on a slow call and send a newer one while the slow one
 * still runs inside the adapter. Left alone, the older call would later replace the newer legs with
 * its smaller ones. Here calls for an id run in arrival order, a call for less than the largest
 * quantity already requested under the id is known as stale before it starts, and a running call
 * can tell that a newer request arrived, so that it stops before its next change at the venue.
 */

/** How many protective ids are remembered (far more than one 30 s window protects). */
const REMEMBERED_IDS = 50_000;
/** Float noise allowed when comparing quantities that are already on the venue's step. */
const TOLERANCE = 1e-9;

/**
 * What a call learns when its turn comes.
 *
 * @example
 * const turn: ProtectionTurn = { stale: false, superseded: () => false };
 */
export interface ProtectionTurn {
  /** A larger quantity was already requested under this id: this call is an older one arriving late. */
  readonly stale: boolean;
  /** True once a newer request (at least as large) arrived under this id: stop before changing anything. */
  readonly superseded: () => boolean;
}

interface Entry {
  largest: number;
  generation: number;
  tail: Promise<void>;
}

/**
 * Serialises calls per protective id and tells each whether it is stale or superseded.
 *
 * @example
 * const queue = new ProtectionQueue();
 * await queue.run('wd-1-p', 0.002, async (turn) => (turn.stale ? 'answer with what is held' : 'place'));
 */
export class ProtectionQueue {
  readonly #ids = new Map<string, Entry>();

  /** Runs `call` after every earlier call for `id` has finished, however it finished. */
  run<T>(id: string, quantity: number, call: (turn: ProtectionTurn) => Promise<T>): Promise<T> {
    let entry = this.#ids.get(id);
    if (entry === undefined) {
      entry = { largest: 0, generation: 0, tail: Promise.resolve() };
      this.#ids.set(id, entry);
      // A Map iterates in insertion order: drop the oldest id.
      if (this.#ids.size > REMEMBERED_IDS) this.#ids.delete(this.#ids.keys().next().value!);
    }
    const current = entry;
    const stale = quantity < current.largest - TOLERANCE * current.largest;
    let turn: ProtectionTurn;
    if (stale) {
      turn = { stale: true, superseded: () => true };
    } else {
      current.largest = Math.max(current.largest, quantity);
      const mine = ++current.generation;
      turn = { stale: false, superseded: () => current.generation !== mine };
    }
    const result = current.tail.then(() => call(turn));
    current.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
