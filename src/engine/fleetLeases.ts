/**
 * Leases and failover for a fleet of engines on one shared store (e.g. PostgreSQL): an execution
 * is leased by its engine before its first send and renewed while it runs; when an engine dies its
 * leases expire, and another engine takes the execution over (the lease's epoch goes up, which
 * fences every late write of the dead engine) and resumes it exactly as a restart does: order
 * looked up by clientOrderId first, the stored absolute deadline still in force.
 */
import type { ExecutionRecovery } from '../../machines/execution.types.js';
import { BrokerError, describeThrown } from '../broker/errors.js';
import type { Clock } from '../domain/clock.js';
import { ErrorCode } from '../domain/constants.js';
import { WardenUsageError } from '../domain/errors.js';
import { refusedResult } from '../../machines/execution.result.js';
import type { ExecutionResult } from '../domain/result.js';
import type { FrozenSnapshot } from '../domain/schemas.js';
import { leasesExecutions, type LeaseStore } from '../journal/capabilities.js';
import { JournalKind, type Journal, type StoreClaim } from '../journal/types.js';
import { restoreFromJournal } from './restore.js';
import type { EngineJournal } from './engineJournal.js';
import type { Logger } from './logger.js';
import type { ExecutionRegistry } from './registry.js';
import type { TakeOver } from './types.js';

/** Default lease length (ms): another engine may take an execution over this long after its engine's last renewal. */
export const DEFAULT_LEASE_TTL_MS = 10_000;
/** Shortest lease accepted (ms): renewals every third of it must fit between database round trips. */
export const MIN_LEASE_TTL_MS = 300;
/** The scan for expired leases runs this many times per lease length. */
const CHECKS_PER_TTL = 3;
/**
 * Renewals go out this many times per lease length, at a fixed rate (one in flight at a time),
 * in their own loop: a takeover, a claim or a journal batch never holds one up. A store that self-
 * fences stops sending at 80 % of the lease, so a renewal and its answer must fit in the 55 % left
 * after the previous one was sent.
 */
const RENEWALS_PER_TTL = 4;
export type { TakeOver } from './types.js';

/** What the engine an execution was taken over from had already asked of the venue. */
export interface InheritedSends {
  readonly from: string;
  readonly submitOrder: boolean;
  readonly placeProtection: boolean;
}

/** The engine's side of leasing: the claim path leases, `settled` releases, a timer renews and takes over. */
export interface FleetLeases {
  /** Leases a new execution to this engine; rejects (nothing may be sent) if the store refuses or cannot answer. */
  acquire(executionId: string): Promise<void>;
  /**
   * Leases a new execution and claims its advisory: in ONE round trip where the store can (`claimWithLease`: a lost
   * race grants no lease), else `acquire`, then `claim`. Rejects with `lease_unavailable` if no lease was granted.
   */
  claim(request: StoreClaim, claim: (request: StoreClaim) => Promise<'claimed' | 'duplicate'>): Promise<'claimed' | 'duplicate'>;
  /** The execution is over (or waits for an operator): its lease is released. */
  settled(executionId: string): void;
  /**
   * For an execution this engine took over: the sends the previous owner had already journaled
   * (entry order, protection) and whom it took them over from; undefined for any other execution.
   */
  inherited(executionId: string): InheritedSends | undefined;
  stop(): Promise<void>;
}

type LeasingStore = Journal &
  LeaseStore & {
    /** Optional: every lease of `owner` renewed in one round trip; `lost` ones another engine holds now. */
    renewLeases?(owner: string, leases: readonly { executionId: string; epoch: number }[], ttlMs: number): Promise<readonly { executionId: string; renewed: boolean; lost: boolean; why: string }[]>;
    /** Optional: the claim and the execution's lease (epoch 1) in one round trip; `duplicate` grants no lease. */
    claimWithLease?(request: StoreClaim, owner: string, ttlMs: number): Promise<{ readonly outcome: 'claimed'; readonly epoch: number } | { readonly outcome: 'duplicate' }>;
  };

/**
 * Rule 4 on one clock for the fleet: an execution resumed from a store (taken over, or restarted
 * under the same writer) ends its window when the database's clock says, from this engine's now:
 * the claim's absolute deadline was read on the clock of the engine that made it, whatever its
 * skew. Without the database's figure, `deadlineAt` as given.
 *
 * @example
 * const deadlineAt = resumedDeadline(await store.claimOf(executionId), claim.deadlineAt, clock);
 */
export function resumedDeadline(claim: unknown, deadlineAt: number, clock: Clock): number {
  const remainingMs = (claim as { remainingMs?: number | null } | null)?.remainingMs;
  return typeof remainingMs === 'number' ? clock.now() + remainingMs : deadlineAt;
}

const leasing = (store: Journal): store is LeasingStore => leasesExecutions(store);

export function joinFleetLeases(deps: {
  readonly store: Journal;
  readonly journal: EngineJournal;
  readonly registry: ExecutionRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly brokerIdentity: string;
  readonly ttlMs?: number | undefined;
  readonly onTakeOver?: ((takeOver: TakeOver) => void) | undefined;
  /** Executions this engine resumes at start from its own records (a restart under the same writer id): their leases are taken back. */
  readonly resuming?: readonly { readonly executionId: string }[];
  /** Whether the engine is closing: it takes nothing over any more (an expired lease is left for another engine). */
  readonly closing?: () => boolean;
  /** Runs a resumed execution as a restart does (`track` with a recovery). */
  readonly resume: (executionId: string, snapshot: FrozenSnapshot, recovery: ExecutionRecovery) => Promise<ExecutionResult>;
}): FleetLeases | null {
  const { journal, registry, clock, logger } = deps;
  if (!leasing(deps.store)) return null;
  const store: LeasingStore = deps.store;
  const ttlMs = deps.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < MIN_LEASE_TTL_MS) throw new WardenUsageError('invalid_option', `leaseTtlMs must be at least ${MIN_LEASE_TTL_MS} ms (renewals run every third of it), got ${String(deps.ttlMs)}; the default is ${DEFAULT_LEASE_TTL_MS} ms`);
  const me = store.writer;
  /** Leases this engine holds: executionId → epoch. */
  const held = new Map<string, number>();
  /** Releases and takeovers in progress, awaited by stop(). */
  const pending = new Set<Promise<unknown>>();
  /** Releases the store has not answered yet: their leases are still renewed meanwhile. */
  const releasing = new Set<string>();
  /** Executions whose release failed at least once (their warning is given once). */
  const retried = new Set<string>();
  /** Ended executions whose release the store did not answer: released again after the next renewal. */
  const unreleased = new Set<string>();
  /** Sends of executions this engine took over, as their previous owners journaled them. */
  const inherited = new Map<string, InheritedSends>();
  /** Executions this engine cannot resume (another broker): reported once. */
  const notMine = new Set<string>();
  let stopped = false;
  let scanning = false;
  let renewing = false;
  let timer: unknown;
  let renewTimer: unknown;

  const track = <T>(p: Promise<T>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };

  const lost = (executionId: string, epoch: number | undefined, why: string) => {
    held.delete(executionId);
    logger.error({ executionId, epoch, err: why }, "lease lost: another engine took this execution over; this engine's writes and sends for it are refused from now on");
  };
  /** Every lease this engine holds, renewed in one round trip when the store can (else one by one). */
  const renewAll = async () => {
    const leases = [...held].map(([executionId, epoch]) => ({ executionId, epoch }));
    if (leases.length === 0) return;
    if (store.renewLeases) {
      const outcomes = await store.renewLeases(me, leases, ttlMs).catch((e: unknown) => {
        logger.warn({ leases: leases.length, err: describeThrown(e) }, 'lease renewal failed; retrying at the next renewal');
        return [];
      });
      for (const o of outcomes) {
        if (o.renewed || held.get(o.executionId) === undefined) continue;
        if (o.lost) lost(o.executionId, held.get(o.executionId), o.why);
        else held.delete(o.executionId); // released meanwhile: the execution ended here
      }
      return;
    }
    await Promise.all(
      leases.map(({ executionId, epoch }) =>
        store.renewLease(executionId, me, epoch, ttlMs).catch((e: unknown) => {
          if ((e as { code?: unknown }).code !== 'lease_lost') return logger.warn({ executionId, err: describeThrown(e) }, 'lease renewal failed; retrying at the next renewal');
          lost(executionId, epoch, describeThrown(e));
        }),
      ),
    );
  };

  /** Takes one expired execution over and resumes it (nothing happens when another engine got there first). */
  async function takeOver(lease: { executionId: string; owner: string; epoch: number; expiresAt?: string }): Promise<void> {
    const { executionId, owner } = lease;
    const claim = await store.claimOf(executionId);
    if (claim && claim.broker !== deps.brokerIdentity) {
      if (!notMine.has(executionId)) logger.error({ executionId, broker: claim.broker }, `execution ${executionId} of ${owner} went to ${claim.broker}, not to this engine's broker ${deps.brokerIdentity}: an engine on that broker must take it over`);
      notMine.add(executionId);
      return;
    }
    if (stopped || deps.closing?.()) return;
    let epoch: number;
    try {
      epoch = await store.takeOver(executionId, me, ttlMs);
    } catch {
      return; // another engine took it over first, or it was released meanwhile
    }
    held.set(executionId, epoch);
    const log = { executionId, takenOverFrom: owner, epoch, expiredAt: lease.expiresAt };
    if (!claim) {
      // The engine died between its lease and its claim: nothing was sent for this execution.
      logger.warn(log, 'expired lease without a claim: nothing was sent; lease released');
      return release(executionId);
    }
    // If the store cannot be read now, the lease is left to expire again: this engine or another retries.
    // How far it got, read from its records as a restart reads them (restore.ts).
    const records = await store.records({ executionId }).catch((e: unknown) => {
      held.delete(executionId);
      throw e;
    });
    const restored = restoreFromJournal(records);
    const asked = (method: string) => records.some((r) => r.kind === JournalKind.BrokerRequest && r.event === method);
    inherited.set(executionId, { from: owner, submitOrder: asked('submitOrder'), placeProtection: asked('placeProtection') });
    const finished = restored.fills.has(executionId);
    if (finished) {
      // It finished; its engine died before releasing the lease. A flag it raised waits here now.
      const flagged = restored.awaiting.find((f) => f.result.executionId === executionId);
      if (flagged) registry.settled(executionId, flagged.result, { symbol: flagged.symbol });
      logger.warn(log, 'expired lease of a finished execution: released');
      return release(executionId);
    }
    // Without its claim record nothing was sent: a send waits for the batch that holds the claim.
    // Its engine refused it (its host was told `rejected`, nothing sent): the advisory stays used
    // up, and no engine ever sends it.
    const unfinished = restored.unfinished.find((u) => u.executionId === executionId);
    if (!unfinished) {
      const message = `its engine ${owner} could not record its claim: nothing was sent, and nothing will be`;
      journal.append({ kind: JournalKind.Result, executionId, advisoryId: claim.advisoryId, snapshotHash: claim.snapshot.hash, to: 'rejected', event: 'rejected', payload: refusedResult(executionId, claim.advisoryId, clock.now(), { code: ErrorCode.JournalUnavailable, message }) });
      logger.warn({ ...log, advisoryId: claim.advisoryId }, `expired lease of an execution whose claim was never recorded: ${message}; lease released`);
      return release(executionId);
    }
    const submitAttempts = unfinished.recovery.submitAttempts;
    // Rule 4 on one clock: what is left of the window by the database's clock, from this engine's
    // now (the claim's absolute deadline was read on the engine that made it, whatever its skew).
    const recovery: ExecutionRecovery = { clientOrderId: claim.clientOrderId, deadlineAt: resumedDeadline(claim, claim.deadlineAt, clock), submitAttempts };
    const reason = `taken over from ${owner}: its lease (epoch ${lease.epoch}) expired; resuming from the store`;
    journal.append({ kind: JournalKind.Recovery, executionId, advisoryId: claim.advisoryId, snapshotHash: claim.snapshot.hash, event: 'TAKE_OVER', payload: { reason, takenOverFrom: owner, epoch, recovery } });
    logger.warn({ ...log, advisoryId: claim.advisoryId, clientOrderId: claim.clientOrderId }, `execution taken over from ${owner}: resuming it (order looked up by clientOrderId first)`);
    const result = deps.resume(executionId, claim.snapshot, recovery);
    deps.onTakeOver?.({ executionId, advisoryId: claim.advisoryId, from: owner, epoch, recovery, result });
  }

  /** Takeovers, in their own loop: however long one takes, renewals go out on time. */
  const scan = async () => {
    // An engine whose journal failed for good (fenced, say) could record neither the takeover nor
    // the result: it leaves expired leases to an engine that can.
    if (scanning || journal.failure !== null) return;
    scanning = true;
    try {
      const expired = (await store.expiredLeases()).filter((l) => l.owner !== me && !held.has(l.executionId));
      for (const lease of expired) {
        if (stopped) break;
        await track(takeOver(lease)).catch((e: unknown) => logger.error({ executionId: lease.executionId, err: describeThrown(e) }, 'takeover failed; retrying at the next check'));
      }
    } catch (e) {
      logger.warn({ err: describeThrown(e) }, 'lease check failed; retrying at the next check');
    } finally {
      scanning = false;
    }
  };

  const tick = () => {
    if (stopped) return;
    void scan().finally(() => {
      if (!stopped) timer = clock.setTimeout(tick, ttlMs / CHECKS_PER_TTL);
    });
  };
  timer = clock.setTimeout(tick, ttlMs / CHECKS_PER_TTL);
  /** Renewals at a fixed rate, one in flight at a time: a slow one delays no later one beyond its own answer. */
  const renewTick = () => {
    if (stopped) return;
    renewTimer = clock.setTimeout(renewTick, ttlMs / RENEWALS_PER_TTL);
    if (renewing) return;
    renewing = true;
    void renewAll().finally(() => {
      renewing = false;
      for (const executionId of unreleased) {
        unreleased.delete(executionId);
        void release(executionId);
      }
    });
  };
  renewTimer = clock.setTimeout(renewTick, ttlMs / RENEWALS_PER_TTL);
  for (const { executionId } of deps.resuming ?? []) void track(retake(executionId));

  /** A restart under the same writer id resumes its own executions: its live lease is kept, an expired one taken back (epoch + 1). */
  async function retake(executionId: string): Promise<void> {
    try {
      held.set(executionId, await store.acquireLease(executionId, me, ttlMs).catch(() => store.takeOver(executionId, me, ttlMs)));
    } catch (e) {
      logger.error({ executionId, err: describeThrown(e) }, 'cannot take back the lease of an execution this engine resumes: another engine runs it, and this engine\'s writes for it will be refused');
    }
  }

  function release(executionId: string): Promise<void> {
    const epoch = held.get(executionId);
    if (epoch === undefined || releasing.has(executionId)) return Promise.resolve();
    // The lease stays held, and renewed, until the store says it is released: a release queued
    // behind a slow database (or a flush) must not let the lease expire and the ended execution be
    // taken over by another engine.
    releasing.add(executionId);
    const forget = () => {
      releasing.delete(executionId);
      retried.delete(executionId);
      if (held.get(executionId) === epoch) held.delete(executionId);
    };
    return track(store.releaseLease(executionId, me, epoch)).then(forget, (e: unknown) => {
      if ((e as { code?: unknown }).code === 'lease_lost' || stopped) {
        forget();
        return logger.warn({ executionId, epoch, err: describeThrown(e) }, 'lease not released; it expires by itself');
      }
      // The store did not answer: the lease is kept (and renewed) until a release goes through, so
      // nobody takes over an execution that already ended here.
      releasing.delete(executionId);
      // Said once per execution: a journal that failed for good fails every retry the same way.
      if (!retried.has(executionId)) logger.warn({ executionId, epoch, err: describeThrown(e) }, 'lease not released yet; retrying at every renewal');
      retried.add(executionId);
      unreleased.add(executionId);
    });
  }

  async function acquire(executionId: string): Promise<void> {
    if (stopped) throw new Error('engine is closing: no new lease');
    held.set(executionId, await store.acquireLease(executionId, me, ttlMs));
  }
  const unleased = (e: unknown): never => { throw new BrokerError(`no lease for this execution, nothing sent: ${describeThrown(e)}`, { retryable: false, code: 'lease_unavailable' }); };

  return {
    acquire,
    async claim(request, claim) {
      if (!store.claimWithLease) return acquire(request.executionId).then(() => claim(request), unleased);
      if (stopped) unleased(new Error('engine is closing: no new lease'));
      const granted = await store.claimWithLease(request, me, ttlMs).catch(unleased);
      if (granted.outcome === 'claimed') held.set(request.executionId, granted.epoch);
      return granted.outcome;
    },
    settled(executionId) {
      inherited.delete(executionId);
      void release(executionId);
    },
    inherited: (executionId) => inherited.get(executionId),
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      clock.clearTimeout(renewTimer);
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
