/**
 * What a journal store may do beyond recording: each an interface of its own, and a guard the
 * engine asks with. A store implements the capabilities it has; the engine never sniffs for a
 * method, it asks for a capability by type (`if (decidesClaims(store)) …`).
 */
import type { Clock } from '../domain/clock.js';
import type { KillSwitchState } from '../domain/constants.js';
import type { KillSwitchSetOptions } from '../domain/killSwitch.js';
import type { ExecutionResult } from '../domain/result.js';
import type { CommandOutcome, ExpiredLease, FleetKillSwitchWatch, FleetSwitch, Journal, JournalRecord, OperatorCommand, StoreClaim } from './types.js';

/**
 * A store that writes in batches (group commit): `flush` resolves once every record appended so
 * far is durable, and rejects if they could not be written (the store then refuses further
 * appends). The engine awaits it before every send and before it hands out a result. A store
 * without it makes each record durable in `append`.
 *
 * @example
 * if (flushes(journal)) await journal.flush();
 */
export interface GroupCommit {
  flush(): Promise<void>;
}

/**
 * Hears operators' commands written by other processes (the `warden kill-switch` and `resolve`
 * commands while an engine holds the journal). Each is handed over once; the answer is stored for
 * the operator. Returns a function that stops watching.
 *
 * @example
 * const stop = hearsCommands(journal) ? journal.watchCommands((command) => ({ ok: true, message: `heard ${command.kind}` })) : undefined;
 */
export interface CommandInbox {
  watchCommands(handler: (command: OperatorCommand) => CommandOutcome): () => void;
}

/**
 * A store shared by several engines decides advisory claims itself, durably, so that one advisory
 * gets one execution fleet-wide: `duplicate` when another execution holds it. The engine asks
 * before it journals the claim and before the first send; without it the engine decides (one process).
 *
 * @example
 * if (decidesClaims(store) && (await store.claim(claim)) === 'duplicate') console.log('held by another engine');
 */
export interface ClaimStore {
  claim(claim: StoreClaim): Promise<'claimed' | 'duplicate'>;
}

/**
 * A kill switch shared by every engine on the store. The engine writes its operators' changes
 * here, applies every change it hears to its executions, and reads the fleet's state fail-closed
 * (no new orders while it cannot confirm it). `openFlags`, where the store has it, lists every
 * engine's flags still awaiting resolution, with their symbols.
 *
 * @example
 * if (sharesKillSwitch(store)) await store.setKillSwitch({ state: 'active', reason: 'venue outage', operator: 'ana' });
 */
export interface FleetKillSwitchStore {
  setKillSwitch(request: { readonly state: KillSwitchState } & KillSwitchSetOptions): Promise<unknown>;
  watchKillSwitches(onChange: (switches: readonly FleetSwitch[]) => void, options?: { readonly clock?: Clock; readonly stalenessBudgetMs?: number }): FleetKillSwitchWatch;
  openFlags?(): Promise<readonly { readonly result: ExecutionResult; readonly symbol: string }[]>;
}

/**
 * Execution leases with fencing epochs, on a store shared by several engines. The engine leases an
 * execution (owner: its `writer` id) before the first send, renews it while the execution runs,
 * releases it when it settles, and takes over executions whose lease expired (their engine died),
 * resuming them from their claim (`claimOf`) and their records.
 *
 * @example
 * if (leasesExecutions(store)) for (const lease of await store.expiredLeases()) console.log(lease.executionId);
 */
export interface LeaseStore {
  readonly writer: string;
  acquireLease(executionId: string, owner: string, ttlMs: number): Promise<number>;
  renewLease(executionId: string, owner: string, epoch: number, ttlMs: number): Promise<void>;
  releaseLease(executionId: string, owner: string, epoch: number): Promise<void>;
  expiredLeases(): Promise<readonly ExpiredLease[]>;
  takeOver(executionId: string, newOwner: string, ttlMs: number): Promise<number>;
  claimOf(executionId: string): Promise<StoreClaim | null>;
}

/**
 * Only the records an engine needs to restart (claims, kill-switch changes, resolutions, results,
 * recoveries, and every record of unfinished executions), in sequence order, from the store's
 * indexes; and, with checkpoints, every advisory ever claimed (a restart from a checkpoint reads no
 * claim record settled before it).
 *
 * @example
 * const records = keepsRestartIndex(journal) ? journal.restartRecords() : journal.readAll();
 */
export interface RestartIndex {
  restartRecords(): readonly JournalRecord[];
  claimedAdvisories?(): readonly string[];
  /**
   * Whether an advisory was ever claimed, from the store's own index. An engine over a store that
   * has it asks per advisory instead of loading every claim at start, so its memory does not grow
   * with history.
   */
  hasClaimed?(advisoryId: string): boolean;
}

/**
 * The records after `sequence`, in order, at most `limit` of them: for followers (the console,
 * metrics) that keep up with a journal without reading it whole each time.
 *
 * @example
 * const next = journal.recordsAfter(lastSeen, 1_000);
 */
export interface JournalFollower {
  recordsAfter(sequence: number, limit: number): readonly JournalRecord[];
}

const has = (store: object, method: string): boolean => typeof (store as Record<string, unknown>)[method] === 'function';

/**
 * Whether the store writes in batches and says when they are durable.
 *
 * @example
 * if (flushes(journal)) await journal.flush();
 */
export const flushes = <J extends Journal>(store: J): store is J & GroupCommit => has(store, 'flush');
/**
 * Whether the store hears operators' commands from other processes.
 *
 * @example
 * if (hearsCommands(journal)) journal.watchCommands(handler);
 */
export const hearsCommands = <J extends Journal>(store: J): store is J & CommandInbox => has(store, 'watchCommands');
/**
 * Whether the store decides advisory claims fleet-wide.
 *
 * @example
 * if (decidesClaims(store)) await store.claim(claim);
 */
export const decidesClaims = <J extends Journal>(store: J): store is J & ClaimStore => has(store, 'claim');
/**
 * Whether the store keeps a kill switch for the fleet.
 *
 * @example
 * if (sharesKillSwitch(store)) store.watchKillSwitches(apply);
 */
export const sharesKillSwitch = <J extends Journal>(store: J): store is J & FleetKillSwitchStore => has(store, 'watchKillSwitches') && has(store, 'setKillSwitch');
/**
 * Whether the store leases executions (every lease method, and a writer id).
 *
 * @example
 * if (leasesExecutions(store)) await store.expiredLeases();
 */
export const leasesExecutions = <J extends Journal>(store: J): store is J & LeaseStore =>
  typeof (store as { writer?: unknown }).writer === 'string' && ['acquireLease', 'renewLease', 'releaseLease', 'expiredLeases', 'takeOver', 'claimOf'].every((m) => has(store, m));
/**
 * Whether the store reads what a restart needs from its indexes.
 *
 * @example
 * const records = keepsRestartIndex(j) ? j.restartRecords() : j.readAll();
 */
export const keepsRestartIndex = <J extends Journal>(store: J): store is J & RestartIndex => has(store, 'restartRecords');
