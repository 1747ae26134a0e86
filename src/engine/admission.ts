/**
 * Admission: starting an execution costs a few hundred µs of CPU. Within a turn of the event loop
 * executions start at once for up to ADMISSION_SLICE_MS; a burst beyond that waits for the next
 * turns, in arrival order, so a thousand arrivals never hold the loop for longer than a slice.
 */

/** How long executions may start back to back within one turn of the event loop. */
export const ADMISSION_SLICE_MS = 5;

/** Returns `admit(start)`: runs `start` now if the current slice has time left, else in a later turn. */
export function createAdmission(sliceMs: number = ADMISSION_SLICE_MS): <T>(start: () => Promise<T>) => Promise<T> {
  const queue: (() => void)[] = [];
  let sliceStartedAt: number | null = null;
  const nextSlice = () => {
    sliceStartedAt = null;
    if (queue.length === 0) return;
    sliceStartedAt = performance.now();
    setImmediate(nextSlice);
    while (queue.length > 0 && performance.now() - sliceStartedAt < sliceMs) queue.shift()!();
  };
  return <T>(start: () => Promise<T>): Promise<T> => {
    if (sliceStartedAt === null) {
      sliceStartedAt = performance.now();
      setImmediate(nextSlice);
    }
    if (queue.length === 0 && performance.now() - sliceStartedAt < sliceMs) return start();
    return new Promise<T>((resolve, reject) => queue.push(() => start().then(resolve, reject)));
  };
}
