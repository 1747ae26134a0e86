/**
 * The public shapes of the PostgreSQL store: its options, claims, fleet kill switch changes,
 * leases and verification outcome. `PostgresStore` re-exports them.
 */
import type { KillSwitchState } from '../../domain/constants.js';
import type { KillSwitchChange, KillSwitchSetOptions } from '../../engine/killSwitch.js';
import type { JournalVerification, StoreClaim } from '../../journal/types.js';
import type { Clock } from '../../domain/clock.js';

/**
 * Options of `PostgresStore.connect`.
 *
 * @example
 * const options: PostgresStoreOptions = { writer: 'engine-a' };
 * const store = await PostgresStore.connect(process.env.WARDEN_DATABASE_URL!, options);
 */
export interface PostgresStoreOptions {
  /**
   * This instance's writer id: its journal chain. One live connection writes a writer id at a time
   * (a second gets `JournalError('locked')`); reconnecting with the same id continues its chain, which
   * is what `readAll()` returns. Default: a fresh id per process (`host-pid-random`).
   */
  readonly writer?: string;
  /** Time of journal records (default: system clock). */
  readonly clock?: Clock;
  /** Pooled connections for claims, leases, kill switch and reads (default 4). */
  readonly poolSize?: number;
  /**
   * Monotonic time (ms) that lease confirmations are measured on, for self-fencing (default
   * `performance.now()`; never the wall clock, which an operator or NTP may move).
   */
  readonly monotonic?: () => number;
  /** A checkpoint in this writer's chain after this many records (default 2,000): what connecting verifies, at most about twice. */
  readonly checkpointEvery?: number;
}

/**
 * An advisory's claim: written before its first send (the journal contract's `StoreClaim`).
 *
 * @example
 * const outcome = await store.claim({ advisoryId: 'adv-1', executionId, clientOrderId, deadlineAt: Date.now() + 30_000, snapshot, broker: 'paper' });
 */
export type ClaimRequest = StoreClaim;

/**
 * A claim as stored, with the writer that made it.
 *
 * @example
 * const claim: StoredClaim | null = await store.claimed('adv-1');
 * if (claim) console.log(`${claim.advisoryId} claimed by ${claim.writer} as ${claim.clientOrderId}`);
 */
export interface StoredClaim extends ClaimRequest {
  readonly writer: string;
  readonly claimedAt: string;
  /**
   * What is left of the execution's hard window now, measured on the database's clock (ms, never
   * below 0): an engine taking it over adds this to its own clock, so no engine's skew moves the
   * deadline. Null for a claim written before the database kept deadlines.
   */
  readonly remainingMs: number | null;
}

/**
 * What `PostgresStore.claimWithLease` did in its one round trip: the advisory claimed and the
 * execution leased (epoch 1), or a duplicate (another execution holds the advisory) and no lease.
 *
 * @example
 * const granted: ClaimedLease = await store.claimWithLease(request, store.writer, 10_000);
 * if (granted.outcome === 'claimed') console.log(`leased at epoch ${granted.epoch}`);
 */
export type ClaimedLease = { readonly outcome: 'claimed'; readonly epoch: number } | { readonly outcome: 'duplicate' };

/**
 * A kill switch change for the whole fleet: the state plus {@link KillSwitchSetOptions}.
 *
 * @example
 * const change: FleetKillSwitchRequest = { state: 'active', reason: 'venue outage', operator: 'ops' };
 * await store.setKillSwitch(change);
 */
export interface FleetKillSwitchRequest extends KillSwitchSetOptions {
  readonly state: KillSwitchState;
}

/**
 * A kill switch change as stored: the change and its row id (the order of changes).
 *
 * @example
 * const change: StoredKillSwitchChange = await store.setKillSwitch({ state: 'warning', symbol: 'EURUSD', reason: 'news', operator: 'ana' });
 * console.log(change.id, change.from, '→', change.to);
 */
export interface StoredKillSwitchChange extends KillSwitchChange {
  readonly id: number;
}

/**
 * One execution's lease: who runs it, under which epoch (fencing token), until when.
 *
 * @example
 * for (const lease of await store.expiredLeases()) console.log(`${lease.executionId} of ${lease.owner} expired at ${lease.expiresAt}`);
 */
export interface Lease {
  readonly executionId: string;
  readonly owner: string;
  readonly epoch: number;
  /** ISO 8601, by the database's clock. */
  readonly expiresAt: string;
}

/**
 * What became of one lease in a `PostgresStore.renewLeases` call: renewed, or not and why
 * (`lost`: another engine holds it now; otherwise it was released under this epoch).
 *
 * @example
 * const [r] = await store.renewLeases('engine-a', [{ executionId, epoch }], 10_000);
 * if (r?.lost) stopWorkingOn(r.executionId);
 */
export interface LeaseRenewal {
  readonly executionId: string;
  readonly epoch: number;
  readonly renewed: boolean;
  readonly lost: boolean;
  readonly why: string;
}

/**
 * The outcome of verifying the whole store: every writer's chain.
 *
 * @example
 * const check: StoreVerification = await store.verify();
 * if (!check.ok) console.log(`writer ${check.writer} broken at global record ${check.brokenAt}`);
 */
export interface StoreVerification extends JournalVerification {
  /** On failure, the writer whose chain breaks, and the record's place in that chain. */
  readonly writer?: string;
  readonly writerSequence?: number;
  readonly writers: number;
  readonly records: number;
}