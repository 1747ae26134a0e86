/** The forensic journal: every transition and broker call, hash-chained. */
import type { FrozenSnapshot } from '../domain/schemas.js';
import type { ExecutionResult } from '../domain/result.js';
import type { Clock } from '../domain/clock.js';
import type { KillSwitchState, KillSwitchType } from '../domain/constants.js';
import type { KillSwitchSetOptions } from '../engine/killSwitch.js';
import type { LimitsInput } from '../domain/limits.js';
import type { FleetAdmission, FleetLimitFacts, FleetLimitsChange, FleetPosition } from './fleetLedger.js';

/**
 * What a journal record is about; the values are stored in each record's `kind`.
 *
 * @example
 * const results = (await journal.records({ advisoryId: 'adv-1' })).filter((r) => r.kind === JournalKind.Result);
 */
export const JournalKind = {
  Transition: 'transition',
  BrokerRequest: 'broker.request',
  BrokerResponse: 'broker.response',
  BrokerError: 'broker.error',
  UnhandledEvent: 'unhandled_event',
  KillSwitch: 'kill_switch',
  Resolution: 'resolution',
  Result: 'result',
  /** An advisory's first submission: the frozen snapshot, its clientOrderId and absolute deadline. */
  Claim: 'claim',
  /** A restarted engine resumes an execution a previous process left unfinished. */
  Recovery: 'recovery',
  /** Pre-trade limits: the engine's at start (`start`), an operator's tightening (`tighten`), the facts one execution was judged on (`check`). */
  Limits: 'limits',
  /** Signs off every record before it and lists what a restart needs (src/journal/checkpoint.ts). */
  Checkpoint: 'checkpoint',
} as const;
export type JournalKind = (typeof JournalKind)[keyof typeof JournalKind];

/**
 * What a writer supplies.
 *
 * @example
 * journal.append({ kind: JournalKind.Resolution, executionId, advisoryId: 'adv-1', snapshotHash, payload: { operator: 'ana', note: 'checked at the venue' } });
 */
export interface JournalEntry {
  readonly kind: JournalKind;
  readonly executionId: string | null;
  readonly advisoryId: string | null;
  readonly snapshotHash: string | null;
  readonly from?: string | null;
  readonly to?: string | null;
  readonly event?: string | null;
  readonly payload?: unknown;
}

/**
 * What the journal stores: the entry plus sequence, time and the hash chain.
 *
 * @example
 * for (const r of await engine.journal.records({ advisoryId: 'adv-1' })) console.log(r.sequence, r.at, r.kind, r.to ?? '');
 */
export interface JournalRecord {
  readonly sequence: number;
  readonly at: string;
  readonly kind: JournalKind;
  readonly executionId: string | null;
  readonly advisoryId: string | null;
  readonly snapshotHash: string | null;
  readonly from: string | null;
  readonly to: string | null;
  readonly event: string | null;
  readonly payload: unknown;
  /** SHA-256 of the previous record (64 zeros for the first). */
  readonly previousHash: string;
  /** SHA-256 of this record's canonical JSON without `hash`. */
  readonly hash: string;
}

/**
 * Narrows `records()` to one advisory or one execution.
 *
 * @example
 * const filter: JournalFilter = { advisoryId: 'adv-1' };
 * const trail = await engine.journal.records(filter);
 */
export interface JournalFilter {
  readonly advisoryId?: string;
  readonly executionId?: string;
}

/**
 * The outcome of checking a journal's hash chain.
 *
 * @example
 * const check: JournalVerification = await engine.journal.verify();
 * if (!check.ok) console.log(`chain broken at record ${check.brokenAt}`);
 */
export interface JournalVerification {
  readonly ok: boolean;
  /** Sequence number of the first record that fails verification. */
  readonly brokenAt?: number;
  /** Verified from this checkpoint's record on (what it signs off was verified when it was written); absent: from the first record. */
  readonly from?: number;
}

/**
 * An operator's command, written into a store by another process for the engine that writes it.
 *
 * @example
 * const command: OperatorCommand = { kind: 'resolve', advisoryId: 'adv-1', operator: 'ana', note: 'position checked at the venue' };
 * await applyOperatorCommand('data/warden.journal.sqlite', command);
 */
export type OperatorCommand =
  | { readonly kind: 'kill_switch'; readonly state: 'off' | 'warning' | 'active'; readonly symbol?: string; readonly reason: string; readonly operator: string }
  | { readonly kind: 'resolve'; readonly advisoryId: string; readonly operator: string; readonly note: string }
  /** Tighten the running engine's limits (`warden limits set`); `change` names only the fields it sets. */
  | { readonly kind: 'limits'; readonly change: LimitsInput; readonly operator: string; readonly reason: string };

/**
 * What the engine answered to an operator's command.
 *
 * @example
 * const outcome: CommandOutcome = { ok: false, message: 'withdrawn: no answer in time' };
 */
export interface CommandOutcome {
  readonly ok: boolean;
  readonly message: string;
}

/**
 * An advisory's claim, as a shared store records it.
 *
 * @example
 * const outcome = await store.claim({ advisoryId: 'adv-1', executionId: 'exec-1', clientOrderId: 'wd-0123', deadlineAt: Date.now() + 30_000, snapshot, broker: 'paper' });
 */
export interface StoreClaim {
  readonly advisoryId: string;
  readonly executionId: string;
  readonly clientOrderId: string;
  /** Absolute hard deadline, ms since epoch. */
  readonly deadlineAt: number;
  readonly snapshot: FrozenSnapshot;
  /** The broker the order goes to (its declared identity). */
  readonly broker: string;
}

/**
 * The current setting of one switch of a fleet (the latest change of its scope).
 *
 * @example
 * const global: FleetSwitch = { symbol: null, state: 'active', type: 'manual', changeId: 42 };
 */
export interface FleetSwitch {
  /** `null` for the global switch. */
  readonly symbol: string | null;
  readonly state: KillSwitchState;
  readonly type: KillSwitchType;
  /** Id of the change that set it (increasing). */
  readonly changeId: number;
}

/**
 * A running watch of a fleet's kill switches, read fail-closed.
 *
 * @example
 * const watch = store.watchKillSwitches?.((switches) => console.log(switches));
 * if (watch?.stale()) console.log(watch.staleReason());
 */
export interface FleetKillSwitchWatch {
  /** Resolves at the first confirmation of the fleet's state. */
  readonly ready: Promise<void>;
  /** Whether the state is unconfirmed: never read, or not within the staleness budget. */
  stale(): boolean;
  staleReason(): string | null;
  /** The switches as last confirmed. */
  switches(): readonly FleetSwitch[];
  stop(): Promise<void>;
}

/**
 * A lease whose time ran out (by the store's clock) without being released: its engine stopped renewing it.
 *
 * @example
 * for (const lease of await store.expiredLeases?.() ?? []) console.log(`${lease.executionId} of ${lease.owner} (epoch ${lease.epoch}) expired`);
 */
export interface ExpiredLease {
  readonly executionId: string;
  readonly owner: string;
  readonly epoch: number;
  readonly expiresAt: string;
}

/**
 * A journal store. `append` chains the record synchronously (so the order of records is the order
 * of events) and returns it. A store that writes in batches (group commit) implements `flush`; the
 * engine awaits it before every send and before it hands out a result, so the intent to send is on
 * disk before the send starts. A store without `flush` must make each record durable in `append`.
 *
 * @example
 * const journal: Journal = new SqliteJournal('data/warden.journal.sqlite');
 * const engine = createEngine({ broker, journal });
 */
export interface Journal {
  append(entry: JournalEntry): JournalRecord;
  /**
   * Optional: resolves once every record appended so far is durable; rejects if they could not be
   * written (the store then refuses further appends).
   */
  flush?(): Promise<void>;
  /**
   * Optional: hears operators' commands written by other processes (the `warden kill-switch` and
   * `resolve` commands while an engine holds the journal). Each is handed over once; the answer is
   * stored for the operator. Returns a function that stops watching.
   */
  watchCommands?(handler: (command: OperatorCommand) => CommandOutcome): () => void;
  /**
   * Optional: a store shared by several engines decides advisory claims itself, durably, so that
   * one advisory gets one execution fleet-wide: `duplicate` when another execution holds it. The
   * engine asks before it journals the claim and before the first send; a store without it leaves
   * the claim to the engine (one process).
   */
  claim?(claim: StoreClaim): Promise<'claimed' | 'duplicate'>;
  /**
   * Optional, with `watchKillSwitches`: a kill switch shared by every engine on the store. The
   * engine writes its operators' changes here, applies every change it hears to its executions, and
   * reads the fleet's state fail-closed (no new orders while it cannot confirm it).
   */
  setKillSwitch?(request: { readonly state: KillSwitchState } & KillSwitchSetOptions): Promise<unknown>;
  /** Optional, on a store shared by several engines: every engine's flags still awaiting resolution, with their symbols. */
  openFlags?(): Promise<readonly { readonly result: ExecutionResult; readonly symbol: string }[]>;
  watchKillSwitches?(onChange: (switches: readonly FleetSwitch[]) => void, options?: { readonly clock?: Clock; readonly stalenessBudgetMs?: number }): FleetKillSwitchWatch;
  /**
   * Optional, all together: execution leases with fencing epochs, on a store shared by several
   * engines. The engine leases an execution (owner: its `writer` id) before the first send, renews
   * it while the execution runs, releases it when it settles, and takes over executions whose lease
   * expired (their engine died), resuming them from their claim (`claimOf`) and their records.
   */
  readonly writer?: string;
  acquireLease?(executionId: string, owner: string, ttlMs: number): Promise<number>;
  renewLease?(executionId: string, owner: string, epoch: number, ttlMs: number): Promise<void>;
  releaseLease?(executionId: string, owner: string, epoch: number): Promise<void>;
  expiredLeases?(): Promise<readonly ExpiredLease[]>;
  takeOver?(executionId: string, newOwner: string, ttlMs: number): Promise<number>;
  claimOf?(executionId: string): Promise<StoreClaim | null>;
  /**
   * Optional, all together, on a store shared by several engines: the fleet's position ledger and
   * limits (see `FleetPosition`). Reconciliation expects every other execution of the fleet on the
   * symbol; the limits admit an execution against the fleet's position and order rate atomically
   * (an execution no fleet limit concerns is recorded once claimed, `recordFleetExecution`);
   * the engine reports what it hears filled and when the execution settled; operators' tightenings
   * written for the fleet are read from `fleetLimitsChanges`.
   */
  fleetPosition?(symbol: string, excludingExecutionId: string): Promise<FleetPosition>;
  admitToFleet?(request: FleetAdmission, admit: (facts: FleetLimitFacts) => boolean): Promise<{ readonly facts: FleetLimitFacts; readonly admitted: boolean }>;
  recordFleetExecution?(execution: Omit<FleetAdmission, 'wholeFleetRate'>): Promise<void>;
  recordFleetFill?(executionId: string, filled: number): Promise<void>;
  settleFleetPosition?(executionId: string, filled: number, sent: boolean): Promise<void>;
  fleetLimitsChanges?(afterId: number): Promise<readonly FleetLimitsChange[]>;
  /** Every record, in sequence order, read synchronously. */
  readAll(): readonly JournalRecord[];
  /**
   * Optional: only the records an engine needs to restart (claims, kill-switch changes,
   * resolutions, results, recoveries, and every record of unfinished executions), in sequence
   * order. A store that keeps many records implements it with indexes; without it, `readAll()`.
   */
  restartRecords?(): readonly JournalRecord[];
  /**
   * Optional, with checkpoints: every advisory ever claimed, from the store's own index, since a
   * restart from a checkpoint reads no claim record settled before it.
   */
  claimedAdvisories?(): readonly string[];
  records(filter?: JournalFilter): Promise<JournalRecord[]>;
  /**
   * Optional: the records after `sequence`, in order, at most `limit` of them; for followers (the
   * console, metrics) that keep up with a journal without reading it whole each time.
   */
  recordsAfter?(sequence: number, limit: number): readonly JournalRecord[];
  /**
   * Checks the hash chain. `{ full: true }` (and the default) checks every record, and every
   * checkpoint against what the records before it say; `{ full: false }`, where the store keeps
   * checkpoints, checks from the last one on, as a writer does when it opens.
   */
  verify(options?: { readonly full?: boolean }): Promise<JournalVerification>;
  close(): Promise<void>;
}

/**
 * A journal file that cannot be trusted or used: not a journal, another schema, or a broken chain. Nothing is written to it.
 *
 * @example
 * try { new SqliteJournal(path) } catch (e) {
 *   if (e instanceof JournalError && e.code === 'chain_broken') console.log(`edited at record ${e.brokenAt}`);
 * }
 */
export class JournalError extends Error {
  override readonly name = 'JournalError';
  constructor(
    readonly code: 'not_a_journal' | 'unsupported_schema' | 'chain_broken' | 'duplicate_advisory' | 'unreadable' | 'locked' | 'read_only' | 'no_answer' | 'truncated' | 'fenced' | 'unavailable',
    message: string,
    readonly brokenAt?: number,
  ) {
    super(message);
  }
}
