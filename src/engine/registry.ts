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
import type { PositionAdjustment } from '../journal/positionAdjustment.js';
import { positionDifference } from '../rules/reconciliation.js';
import { KillSwitchState } from '../domain/constants.js';
import type { EngineJournal, JournalIds } from './engineJournal.js';
import { HoldKind, type KillSwitchBoard } from './killSwitch.js';
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
  readonly clear: (options: ResolveOptions, adjustment: PositionAdjustment | null) => ExecutionResult;
  /** Order of raising, so that a fleet reading taken before a flag was raised never drops it. */
  readonly seq: number;
  /**
   * Other executions on the symbol were still running when it was raised: its reconciliation may
   * have missed one of their fills (reported at the venue, not yet heard), so its position
   * difference is not the venue's word on the book and is not adopted.
   */
  readonly concurrent?: boolean;
  /** Whether its result is durable in the store, where the other engines of a fleet read it. */
  stored: boolean;
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
  /**
   * The differences resolutions adopted in this process, each at the count of flags raised by
   * then: a flag raised before an adoption had that part of its difference adopted already.
   */
  private adopted: { readonly symbol: string; readonly quantity: number; readonly at: number; readonly from: number }[] = [];

  constructor(
    private readonly board: KillSwitchBoard,
    private readonly journal: EngineJournal,
    private readonly logger: Logger,
    /** Hears the venue's figure a resolution adopted, once it is journaled: the engine's book takes it. */
    private readonly onAdjusted: (adjustment: PositionAdjustment) => void = () => undefined,
  ) {}

  /**
   * An execution is over, or waits for an operator: a flagged one halts its symbol (rule 6) until
   * resolved. `clear` ends the flag (default: the result, no longer awaiting resolution).
   */
  settled(executionId: string, result: ExecutionResult, flag?: { symbol: string; clear?: Flag['clear'] }): void {
    this.running.delete(executionId);
    const concurrent = flag !== undefined && [...this.running.values()].some((r) => r.symbol === flag.symbol);
    const fields = { advisoryId: result.advisoryId, executionId, status: result.status };
    if (!result.requiresManualResolution) return this.logger.info(fields, 'execution settled');
    this.logger.warn({ ...fields, reconciliation: result.reconciliation }, 'execution needs manual resolution; symbol halted for new orders');
    if (!flag || !result.advisoryId) return;
    this.flags.set(result.advisoryId, { symbol: flag.symbol, result, clear: flag.clear ?? (() => ({ ...result, requiresManualResolution: false })), seq: ++this.raised, stored: false, ...(concurrent ? { concurrent } : {}) });
    this.hold(flag.symbol, result, false);
  }

  /** The flag's result is durable in the store: from now on a fleet reading that lacks it means it was resolved elsewhere. */
  stored(advisoryId: string | null): void {
    const flag = advisoryId === null ? undefined : this.flags.get(advisoryId);
    if (flag) flag.stored = true;
  }

  /** A flag a previous process raised and nobody resolved: still waiting, and its hold is rebuilt, whatever the operators set since. */
  restoreFlag(result: ExecutionResult, symbol: string): void {
    if (!result.advisoryId) return;
    this.flags.set(result.advisoryId, { symbol, result, clear: () => ({ ...result, requiresManualResolution: false }), seq: ++this.raised, stored: true });
    this.hold(symbol, result, true);
  }

  /** Rule 6: a flag halts its symbol (`warning`) with a hold of its own, lifted only by resolving that flag. */
  private hold(symbol: string, result: ExecutionResult, quiet: boolean): void {
    const advisoryId = result.advisoryId ?? '';
    if (this.board.holds(symbol).some((h) => h.kind === HoldKind.Reconciliation && h.key === advisoryId)) return;
    this.board.raise({ kind: HoldKind.Reconciliation, symbol, key: advisoryId, state: KillSwitchState.Warning, reason: `reconciliation ${result.reconciliation?.status ?? 'unavailable'} on advisory ${advisoryId}`, by: 'warden' }, quiet);
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
      // A flag whose result never reached the store is not the fleet's to resolve: it stays here.
      if (open.has(advisoryId) || flag.seq > since || !flag.stored) continue;
      this.flags.delete(advisoryId);
      flag.clear({ operator: 'fleet', note: 'resolved on another engine of the fleet' }, null);
      this.board.lift(HoldKind.Reconciliation, { symbol: flag.symbol, key: advisoryId }, `advisory ${advisoryId} resolved on another engine of the fleet`, 'fleet');
      this.logger.warn({ advisoryId }, 'reconciliation flag resolved on another engine of the fleet');
    }
    this.holdFleetFlags();
  }

  /**
   * The fleet's flags halt their symbols here too, each with its own hold: raised for a flag read
   * from the store (so a fleet halt always has a flag any engine lists and resolves), lifted once
   * the store no longer lists it.
   */
  private holdFleetFlags(): void {
    const fleet = this.fleet?.open() ?? [];
    const open = new Set(fleet.map((f) => f.result.advisoryId ?? ''));
    for (const f of fleet) if (!this.flags.has(f.result.advisoryId ?? '')) this.hold(f.symbol, f.result, false);
    for (const h of this.board.holds()) {
      if (h.kind !== HoldKind.Reconciliation || this.flags.has(h.key) || open.has(h.key)) continue;
      this.board.lift(HoldKind.Reconciliation, { symbol: h.symbol, key: h.key }, `advisory ${h.key} resolved on another engine of the fleet`, 'fleet');
    }
  }

  awaitingResolution(): ExecutionResult[] {
    const local = [...this.flags.values()].map((f) => f.result);
    const elsewhere = (this.fleet?.open() ?? []).filter((f) => !this.flags.has(f.result.advisoryId ?? '')).map((f) => f.result);
    return [...local, ...elsewhere];
  }

  /**
   * Clears the flag of an advisory after a human looked at it, and lifts its hold (other holds on
   * the symbol stay). A flag whose reconciliation found the venue's position quantity different
   * from Warden's expected one adopts the venue's figure: the difference is journaled with the
   * resolution (`positionAdjustment`) and added to the engine's book, so the next reconciliation
   * on the symbol expects what the venue held (a stop that fired, a hand close).
   */
  /**
   * What of a flag's position difference is still Warden's to adopt: two flags can report one
   * difference (a stop that fired, seen by two reconciliations), and what a resolution adopted
   * after a flag was raised is not adopted again with it.
   */
  private adoptable(difference: PositionAdjustment | null, flag: Flag | undefined): PositionAdjustment | null {
    if (difference === null || flag === undefined) return difference;
    if (flag.concurrent === true) return null;
    const on = this.adopted.filter((a) => a.symbol === difference.symbol);
    // A newer flag's figure was adopted: the venue as it stood later supersedes this older view.
    if (on.some((a) => a.from > flag.seq)) return null;
    const since = on.filter((a) => a.at >= flag.seq).reduce((n, a) => n + a.quantity, 0);
    const quantity = difference.quantity - since;
    // Never more than the flag's own difference, never the other way.
    if (Math.sign(quantity) !== Math.sign(difference.quantity) || Math.abs(quantity) <= 1e-9 * Math.max(1, Math.abs(difference.quantity))) return null;
    return { symbol: difference.symbol, quantity: Math.sign(quantity) * Math.min(Math.abs(quantity), Math.abs(difference.quantity)) };
  }

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
    const adjustment = this.adoptable(positionDifference((local?.result ?? remote!.result).reconciliation, symbol), local);
    const result = local ? local.clear({ operator, note: options.note.trim() }, adjustment) : { ...remote!.result, requiresManualResolution: false };
    this.journal.append({ kind: JournalKind.Resolution, executionId: result.executionId, advisoryId, snapshotHash: result.snapshotHash, event: 'RESOLVE', payload: adjustment ? { ...options, positionAdjustment: adjustment } : options });
    if (adjustment) {
      this.onAdjusted(adjustment);
      this.adopted.push({ ...adjustment, at: this.raised, from: local?.seq ?? 0 });
    }
    // What no open flag predates can no longer be part of one's difference.
    const oldest = Math.min(...[...this.flags.values()].map((f) => f.seq));
    this.adopted = this.adopted.filter((a) => a.at >= oldest);
    this.logger.warn({ advisoryId, operator, ...(adjustment ? { positionAdjustment: adjustment } : {}) }, 'reconciliation flag resolved by operator');
    this.board.lift(HoldKind.Reconciliation, { symbol, key: advisoryId }, `resolved advisory ${advisoryId}`, operator);
    return result;
  }
}
