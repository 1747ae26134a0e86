/**
 * Every execution an engine knows of that is not over for good: those running (for the kill
 * switch fan-out and the journal's identities) and those flagged for an operator (rule 6), with
 * the one path by which a flag is resolved.
 */
import type { ExecutionEvent } from '../../machines/execution.types.js';
import type { SnapshotFrom } from 'xstate';
import type { ExecutionMachine } from '../../machines/execution.machine.js';
import type { ExecutionResult } from '../domain/result.js';
import { WardenUsageError } from '../domain/errors.js';
import { JournalKind } from '../journal/types.js';
import type { EngineJournal, JournalIds } from './engineJournal.js';
import type { KillSwitchBoard } from './killSwitch.js';
import type { Logger } from './logger.js';
import type { ResolveOptions } from './types.js';

/** A running execution: what the fan-out tells, and the identity its journal records carry. */
export interface RunningExecution {
  readonly symbol: string | null;
  readonly ids: JournalIds & { lastClientOrderId?: string };
  send(event: ExecutionEvent): void;
  snapshot(): SnapshotFrom<ExecutionMachine>;
}

interface Flag {
  readonly symbol: string;
  readonly result: ExecutionResult;
  /** Ends the flag: tells the execution (when one is still waiting) and returns its final result. */
  readonly clear: (options: ResolveOptions) => ExecutionResult;
}

export class ExecutionRegistry {
  readonly running = new Map<string, RunningExecution>();
  private readonly flags = new Map<string, Flag>();

  constructor(
    private readonly board: KillSwitchBoard,
    private readonly journal: EngineJournal,
    private readonly logger: Logger,
  ) {}

  /**
   * An execution is over, or waits for an operator: a flagged one halts its symbol (rule 6) until
   * resolved. `clear` ends the flag (default: the result, no longer awaiting resolution).
   */
  settled(executionId: string, result: ExecutionResult, flag?: { symbol: string; clear?: Flag['clear'] }): void {
    this.running.delete(executionId);
    const fields = { advisoryId: result.advisoryId, executionId, status: result.status };
    if (!result.requiresManualResolution) return this.logger.info(fields, 'execution settled');
    this.logger.warn({ ...fields, reconciliation: result.reconciliation }, 'execution needs manual resolution; symbol halted for new orders');
    if (!flag || !result.advisoryId) return;
    this.flags.set(result.advisoryId, { symbol: flag.symbol, result, clear: flag.clear ?? (() => ({ ...result, requiresManualResolution: false })) });
    this.board.raiseReconciliationHalt(flag.symbol, result.advisoryId, result.reconciliation?.status ?? 'unavailable');
  }

  /** A flag a previous process raised and nobody resolved: still waiting, still halting its symbol (its switch was restored). */
  restoreFlag(result: ExecutionResult, symbol: string): void {
    if (result.advisoryId) this.flags.set(result.advisoryId, { symbol, result, clear: () => ({ ...result, requiresManualResolution: false }) });
  }

  awaitingResolution(): ExecutionResult[] {
    return [...this.flags.values()].map((f) => f.result);
  }

  /** Clears the flag of an advisory after a human looked at it; lifts the symbol's halt once nothing else on it waits. */
  resolve(advisoryId: string, options: ResolveOptions): ExecutionResult {
    if (typeof options?.operator !== 'string' || options.operator.trim() === '') throw new WardenUsageError('operator_required', 'resolve() needs an operator name');
    if (typeof options.note !== 'string' || options.note.trim() === '') throw new WardenUsageError('reason_required', 'resolve() needs a note saying what was done');
    const flag = this.flags.get(advisoryId);
    if (!flag) throw new WardenUsageError('not_awaiting_resolution', `no execution of advisory ${String(advisoryId)} is waiting for resolution`);
    this.flags.delete(advisoryId);
    const operator = options.operator.trim();
    const result = flag.clear({ operator, note: options.note.trim() });
    this.journal.append({ kind: JournalKind.Resolution, executionId: result.executionId, advisoryId, snapshotHash: result.snapshotHash, event: 'RESOLVE', payload: options });
    this.logger.warn({ advisoryId, operator }, 'reconciliation flag resolved by operator');
    if (![...this.flags.values()].some((f) => f.symbol === flag.symbol)) this.board.releaseReconciliationHalt(flag.symbol, advisoryId, operator);
    return result;
  }
}
