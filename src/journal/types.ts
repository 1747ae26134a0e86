/** The forensic journal: every transition and broker call, hash-chained. */

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
} as const;
export type JournalKind = (typeof JournalKind)[keyof typeof JournalKind];

/** What a writer supplies. */
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

/** What the journal stores: the entry plus sequence, time and the hash chain. */
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

export interface JournalFilter {
  readonly advisoryId?: string;
  readonly executionId?: string;
}

export interface JournalVerification {
  readonly ok: boolean;
  /** Sequence number of the first record that fails verification. */
  readonly brokenAt?: number;
}

/**
 * A journal store. `append` is synchronous so that the intent to send is recorded before the
 * send starts; a durable store must make it durable before returning.
 */
export interface Journal {
  append(entry: JournalEntry): JournalRecord;
  /** Every record, in sequence order, read synchronously: an engine rebuilds its state from it at start. */
  readAll(): readonly JournalRecord[];
  records(filter?: JournalFilter): Promise<JournalRecord[]>;
  verify(): Promise<JournalVerification>;
  close(): Promise<void>;
}

/** A journal file that cannot be trusted or used: not a journal, another schema, or a broken chain. Nothing is written to it. */
export class JournalError extends Error {
  override readonly name = 'JournalError';
  constructor(
    readonly code: 'not_a_journal' | 'unsupported_schema' | 'chain_broken' | 'duplicate_advisory' | 'unreadable',
    message: string,
    readonly brokenAt?: number,
  ) {
    super(message);
  }
}
