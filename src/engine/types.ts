/** The engine's public shapes: what `createEngine` takes and what it returns. */
import type { InspectionEvent, Observer } from 'xstate';
import type { BrokerAdapter } from '../broker/types.js';
import type { Clock } from '../domain/clock.js';
import type { KillSwitchState } from '../domain/constants.js';
import type { ExecutionResult } from '../domain/result.js';
import type { Journal, JournalFilter, JournalRecord, JournalVerification } from '../journal/types.js';
import type { ExecutionRecovery } from '../../machines/execution.types.js';
import type { KillSwitchChange, KillSwitchHold, KillSwitchSetOptions } from './killSwitch.js';
import type { Logger } from './logger.js';
import type { LimitsInput } from '../domain/limits.js';
import type { EngineLimits } from './limits.js';

/**
 * What {@link createEngine} wires together: a broker, and optionally a journal, a logger, a clock, approvers and polling.
 *
 * @example
 * const options: EngineOptions = { broker: new PaperBroker({ markets: { EURUSD: { price: 1.1 } } }), journal: new MemoryJournal(systemClock, { maxRecords: 10_000 }) };
 * const engine = createEngine(options);
 */
export interface EngineOptions {
  readonly broker: BrokerAdapter;
  /** Where the forensic record goes. Default: in memory. */
  readonly journal?: Journal;
  /** Operational logs (pino). Default: warnings to stderr, credentials redacted. */
  readonly logger?: Logger;
  /** Any XState inspection observer, e.g. `createBrowserInspector().inspect` from @statelyai/inspect. */
  readonly inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /**
   * How often a working order is polled with getOrder: at most this far apart. Default 500 ms. On
   * an adapter that pushes (`subscribe`) this is the interval throughout, a backstop.
   */
  readonly pollIntervalMs?: number;
  /**
   * On an adapter that pushes nothing, the first look-ups of a fresh order are this far apart, and
   * the interval grows with its age up to `pollIntervalMs` (rules/polling.ts). Default 50 ms. Set it
   * to `pollIntervalMs` for a fixed interval, e.g. on a venue whose rate limits cannot take the
   * early look-ups of many orders at once.
   */
  readonly minPollIntervalMs?: number;
  /** Time source for timers and timestamps. Default: Date.now and the global setTimeout. */
  readonly clock?: Clock;
  /**
   * Ed25519 public keys (PEM) of the people who may approve. When set, a snapshot must carry an
   * `approvalSignature` over its hash by one of them (see `signSnapshot`), or it is `not_approved`.
   */
  readonly approvers?: readonly string[];
  /**
   * Resume executions a previous process left unfinished in the journal (default true). An
   * administrative tool that has no broker to talk to turns it off; unfinished work then waits
   * for an engine that can finish it. Such an engine, given no `limits`, is no next process
   * either: it keeps the journal's limits as they stand (the CLI's engine when none is running).
   */
  readonly recover?: boolean;
  /**
   * On a store shared by several engines (`warden/postgres`): how long the fleet's kill switch
   * state may go unconfirmed before this engine fails closed (a global `warning`: no new orders;
   * working orders and protection carry on). Default and maximum 5,000 ms; it can only be lowered.
   */
  readonly killSwitchStalenessMs?: number;
  /**
   * On a store with execution leases (`warden/postgres`): how long an execution's lease lasts
   * without renewal (renewed every third of it) before another engine may take it over. Default
   * 10,000 ms, at least 300 ms.
   */
  readonly leaseTtlMs?: number;
  /** Hears every execution this engine takes over from an engine whose lease expired. */
  readonly onTakeOver?: (takeOver: TakeOver) => void;
  /**
   * Pre-trade limits no approval overrides, per symbol with a `*` default (see `LimitsSchema`):
   * validated and frozen here (invalid → `WardenUsageError` naming the field), journaled once,
   * checked before every claim. Operators can tighten them while the engine runs, never loosen.
   */
  readonly limits?: LimitsInput;
}

/**
 * Who clears a reconciliation flag and what they did about it; both are required.
 *
 * @example
 * const options: ResolveOptions = { operator: 'ana', note: 'stop-loss filled at the venue at 1.0945; flat now' };
 * engine.resolve('adv-1', options);
 */
export interface ResolveOptions {
  readonly operator: string;
  readonly note: string;
}

/**
 * The operator-facing kill switch of an engine.
 *
 * @example
 * engine.killSwitch.set('warning', { symbol: 'EURUSD', reason: 'news at 14:30', operator: 'ana' });
 * engine.killSwitch.state('EURUSD'); // 'warning'
 * engine.killSwitch.history().at(-1)?.reason; // 'news at 14:30'
 */
export interface EngineKillSwitch {
  /** Sets the operators' hold on a scope, and nothing else: `change.remaining` lists the other holds that still halt it. */
  set(state: KillSwitchState, options: KillSwitchSetOptions): KillSwitchChange;
  /** Effective state: the strictest hold over the symbol or the global scope. */
  state(symbol?: string): KillSwitchState;
  history(): readonly KillSwitchChange[];
  /** The holds in force: every scope's, or those that halt `symbol` (the global scope's and its own), each with what lifts it. */
  holds(symbol?: string): KillSwitchHold[];
}

/**
 * A running engine: executes snapshots, holds the kill switch and the journal, and keeps flagged results until resolved.
 *
 * @example
 * const engine: Engine = createEngine({ broker });
 * const result = await engine.execute(snapshot);
 * for (const flagged of engine.awaitingResolution()) console.log(flagged.advisoryId, flagged.reconciliation?.status);
 * await engine.close();
 */
export interface Engine {
  /** Executes one snapshot (frozen or raw). Never throws; bad input resolves as `rejected`. */
  execute(input: unknown): Promise<ExecutionResult>;
  readonly killSwitch: EngineKillSwitch;
  /** The pre-trade limits: read, tighten (never loosen), see their use. */
  readonly limits: EngineLimits;
  /**
   * Clears the reconciliation flag of an advisory after a human looked at it. When its
   * reconciliation found the venue's position quantity different from Warden's expected one, Warden's
   * book takes the venue's figure of that reconciliation (journaled as `positionAdjustment` with the
   * resolution; docs/rules.md, rule 6).
   */
  resolve(advisoryId: string, options: ResolveOptions): ExecutionResult;
  /**
   * Winds this engine down without abandoning anything: a `shutdown` hold (`active`, on this engine
   * only) refuses new advisories and requests the cancel of every working entry order (rule 3
   * DURING); whatever fills is protected and reconciled as always. Resolves with the results of
   * every execution that was in flight, once all have settled (each within its hard deadline plus
   * the bounded calls after it). Only a restart lifts the hold. Call `close()` afterwards.
   *
   * @example
   * process.once('SIGTERM', async () => { await engine.shutdown({ reason: 'SIGTERM' }); await engine.close(); });
   */
  shutdown(options: { readonly reason: string; readonly by?: string }): Promise<readonly ExecutionResult[]>;
  /** Results that wait for `resolve()`. */
  awaitingResolution(): ExecutionResult[];
  /**
   * Executions a previous process left unfinished in this journal, resumed when the engine was
   * created (looked up by clientOrderId first, never resent blindly). Resolves when all have settled.
   */
  readonly recovery: Promise<readonly ExecutionResult[]>;
  /**
   * Resolves when the engine takes orders at full knowledge: at once on its own journal; on a store
   * shared by several engines, once the fleet's kill switch state was confirmed (or could not be
   * within the staleness budget, and the engine failed closed). `execute()` waits for it by itself.
   */
  readonly ready: Promise<void>;
  readonly journal: { records(filter?: JournalFilter): Promise<JournalRecord[]>; verify(): Promise<JournalVerification> };
  /** Refuses new executions, waits for running ones to settle, then closes the journal. */
  close(): Promise<void>;
}

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
