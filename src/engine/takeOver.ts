/** What an engine of a fleet hears when it takes an execution over (its own file: the engine's options name it, and the leases produce it). */
import type { ExecutionRecovery } from '../../machines/execution.types.js';
import type { ExecutionResult } from '../domain/result.js';

/**
 * An execution this engine took over from another one whose lease expired.
 *
 * @example
 * const engine = createEngine({ broker, journal: store, onTakeOver: (t) => void t.result.then((r) => console.log(`${t.advisoryId} taken over from ${t.from}: ${r.status}`)) });
 */
export interface TakeOver {
  readonly executionId: string;
  readonly advisoryId: string;
  /** The engine (writer id) whose lease expired. */
  readonly from: string;
  /** This engine's lease epoch: the previous owner's writes are refused from now on. */
  readonly epoch: number;
  readonly recovery: ExecutionRecovery;
  /** The execution's result, once it settles here. */
  readonly result: Promise<ExecutionResult>;
}
