/** The forensic journal: every transition and broker call, hash-chained. */
import type { FrozenSnapshot } from '../domain/schemas.js';
import type { KillSwitchState, KillSwitchType } from '../domain/constants.js';
import type { LimitsInput } from '../domain/limits.js';

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
  /**
   * Verified from this record on: a checkpoint (what it signs off was verified when it was
   * written), or with `afterArchive` the journal's first record after its archived history;
   * absent: from the first record.
   */
  readonly from?: number;
  /** What is wrong, where more than an edited record: records missing at the end, or an advisories index that disagrees with the chain. */
  readonly reason?: string;
  /** The archive whose last record `from` follows (checked with it: `verifyAcrossArchives`). */
  readonly afterArchive?: string;
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
  /** With `ok`: applied on the engine, but its journal could not record it; a restart will not remember it. */
  readonly unrecorded?: true;
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
 * of events) and returns it; each record is durable once `append` returns, unless the store writes
 * in batches (`GroupCommit`, in src/journal/capabilities.ts). What a store may do beyond this
 * (claims, a fleet's kill switch, leases, operators' commands, a restart index) is a capability of
 * its own there, which the engine asks for by type.
 *
 * @example
 * const journal: Journal = new SqliteJournal('data/warden.journal.sqlite');
 * const engine = createEngine({ broker, journal });
 */
export interface Journal {
  append(entry: JournalEntry): JournalRecord;
  /** Every record, in sequence order, read synchronously. */
  readAll(): readonly JournalRecord[];
  records(filter?: JournalFilter): Promise<JournalRecord[]>;
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
    readonly code: 'not_a_journal' | 'unsupported_schema' | 'chain_broken' | 'duplicate_advisory' | 'unreadable' | 'locked' | 'read_only' | 'no_answer' | 'taken_unanswered' | 'truncated' | 'fenced' | 'unavailable',
    message: string,
    readonly brokenAt?: number,
  ) {
    super(message);
  }
}
