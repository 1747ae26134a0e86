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
/** An operator's command, written into a store by another process for the engine that writes it. */
export type OperatorCommand =
  | { readonly kind: 'kill_switch'; readonly state: 'off' | 'warning' | 'active'; readonly symbol?: string; readonly reason: string; readonly operator: string }
  | { readonly kind: 'resolve'; readonly advisoryId: string; readonly operator: string; readonly note: string };

/** What the engine answered to an operator's command. */
export interface CommandOutcome {
  readonly ok: boolean;
  readonly message: string;
}

export interface Journal {
  append(entry: JournalEntry): JournalRecord;
  /**
   * Optional: hears operators' commands written by other processes (the `warden kill-switch` and
   * `resolve` commands while an engine holds the journal). Each is handed over once; the answer is
   * stored for the operator. Returns a function that stops watching.
   */
  watchCommands?(handler: (command: OperatorCommand) => CommandOutcome): () => void;
  /** Every record, in sequence order, read synchronously. */
  readAll(): readonly JournalRecord[];
  /**
   * Optional: only the records an engine needs to restart (claims, kill-switch changes,
   * resolutions, results, recoveries, and every record of unfinished executions), in sequence
   * order. A store that keeps many records implements it with indexes; without it, `readAll()`.
   */
  restartRecords?(): readonly JournalRecord[];
  records(filter?: JournalFilter): Promise<JournalRecord[]>;
  verify(): Promise<JournalVerification>;
  close(): Promise<void>;
}

/** A journal file that cannot be trusted or used: not a journal, another schema, or a broken chain. Nothing is written to it. */
export class JournalError extends Error {
  override readonly name = 'JournalError';
  constructor(
    readonly code: 'not_a_journal' | 'unsupported_schema' | 'chain_broken' | 'duplicate_advisory' | 'unreadable' | 'locked' | 'read_only' | 'no_answer' | 'truncated',
    message: string,
    readonly brokenAt?: number,
  ) {
    super(message);
  }
}
