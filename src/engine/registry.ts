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
import { KillSwitchState, KillSwitchType } from '../domain/constants.js';
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
  /** Order of raising, so that a fleet reading taken before a flag was raised never drops it. */
  readonly seq: number;
}

/** The flags of the other engines of a fleet, as last read from the shared store. */
export interface FleetFlags {
  /** Every engine's open flags (this one's included). */
  open(): readonly { readonly result: ExecutionResult; readonly symbol: string }[];
  /** Removes a flag from the fleet view once this engine resolved it. */
  take(advisoryId: string): { readonly result: ExecutionResult; readonly symbol: string } | undefined;
}

export class ExecutionRegistry {
  readonly running = new Map<string, RunningExecution>();
  private readonly flags = new Map<string, Flag>();
  private fleet: FleetFlags | null = null;
  private raised = 0;

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
    this.flags.set(result.advisoryId, { symbol: flag.symbol, result, clear: flag.clear ?? (() => ({ ...result, requiresManualResolution: false })), seq: ++this.raised });
    this.board.raiseReconciliationHalt(flag.symbol, result.advisoryId, result.reconciliation?.status ?? 'unavailable');
  }

  /** A flag a previous process raised and nobody resolved: still waiting, still halting its symbol (its switch was restored). */
  restoreFlag(result: ExecutionResult, symbol: string): void {
    if (result.advisoryId) this.flags.set(result.advisoryId, { symbol, result, clear: () => ({ ...result, requiresManualResolution: false }), seq: ++this.raised });
  }

  /** On a store shared by several engines: flags from any engine can be listed and resolved here. */
  useFleet(fleet: FleetFlags): void {
    this.fleet = fleet;
  }

  /** Where a fleet reading starts: flags raised after it may be missing from it. */
  readingStarts(): number {
    return this.raised;
  }

  /**
   * A fleet reading (`open`: the advisories still awaiting resolution, read after `since`): this
   * engine's flags that another engine resolved meanwhile end here too — the execution hears it,
   * nothing is journaled again, the halts are the fleet's.
   */
  resolvedElsewhere(open: ReadonlySet<string>, since: number): void {
    for (const [advisoryId, flag] of this.flags) {
      if (open.has(advisoryId) || flag.seq > since) continue;
      this.flags.delete(advisoryId);
      flag.clear({ operator: 'fleet', note: 'resolved on another engine of the fleet' });
      this.logger.warn({ advisoryId }, 'reconciliation flag resolved on another engine of the fleet');
    }
  }

  awaitingResolution(): ExecutionResult[] {
    const local = [...this.flags.values()].map((f) => f.result);
    const elsewhere = (this.fleet?.open() ?? []).filter((f) => !this.flags.has(f.result.advisoryId ?? '')).map((f) => f.result);
    return [...local, ...elsewhere];
  }

  /** Clears the flag of an advisory after a human looked at it; lifts the symbol's halt once nothing else on it waits. */
  resolve(advisoryId: string, options: ResolveOptions): ExecutionResult {
    if (typeof options?.operator !== 'string' || options.operator.trim() === '') throw new WardenUsageError('operator_required', 'resolve() needs an operator name');
    if (typeof options.note !== 'string' || options.note.trim() === '') throw new WardenUsageError('reason_required', 'resolve() needs a note saying what was done');
    const operator = options.operator.trim();
    const local = this.flags.get(advisoryId);
    // Not this engine's: on a fleet, another engine's flag is resolved here just the same.
    const remote = this.fleet?.take(advisoryId);
    if (!local && !remote) throw new WardenUsageError('not_awaiting_resolution', `no execution of advisory ${String(advisoryId)} is waiting for resolution`);
    this.flags.delete(advisoryId);
    const symbol = local?.symbol ?? remote!.symbol;
    const result = local ? local.clear({ operator, note: options.note.trim() }) : { ...remote!.result, requiresManualResolution: false };
    this.journal.append({ kind: JournalKind.Resolution, executionId: result.executionId, advisoryId, snapshotHash: result.snapshotHash, event: 'RESOLVE', payload: options });
    this.logger.warn({ advisoryId, operator }, 'reconciliation flag resolved by operator');
    const othersOnSymbol = [...this.flags.values()].some((f) => f.symbol === symbol) || (this.fleet?.open() ?? []).some((f) => f.symbol === symbol && f.result.advisoryId !== advisoryId);
    if (!othersOnSymbol) this.board.releaseReconciliationHalt(symbol, advisoryId, operator);
    // The halt stays for the other flags; the fleet still hears of this resolution (a change of the same state).
    else if (this.fleet) this.board.set(KillSwitchState.Warning, { symbol, type: KillSwitchType.Reconciliation, reason: `resolved advisory ${advisoryId}; other flags on ${symbol} still await resolution`, operator });
    return result;
  }
}
