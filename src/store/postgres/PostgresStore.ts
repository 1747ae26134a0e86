/**
 * The store many engine processes share, on PostgreSQL (docs/scale-out.md). This class is the public
 * face over its rooms: writer.ts, reads.ts, claims.ts, ledger.ts, killSwitchStore.ts, leases.ts.
 */
import type pg from 'pg';
import { systemClock, type Clock } from '../../domain/clock.js';
import type { ExecutionResult } from '../../domain/result.js';
import { JournalError, type Journal, type JournalEntry, type JournalFilter, type JournalRecord } from '../../journal/types.js';
import { claimInsert, insertClaim, readClaim, readClaimOf } from './claims.js';
import { describe, openPool, redact, writerId, type GatedPool } from './connection.js';
import { PostgresStoreError } from './errors.js';
import type { FleetSwitch } from './failClosed.js';
import { KillSwitchWriter, readKillSwitchHistory } from './killSwitchStore.js';
import { readFleetSwitches, startKillSwitchWatch, type KillSwitchWatch, type KillSwitchWatchOptions } from './killSwitchWatch.js';
import { admitToFleet, appliedBy, fleetLimitsChanges, fleetPosition, limitsByWriter, recordFleetExecution, recordFleetFill, settleFleetPosition, writeFleetLimitsChange } from './ledger.js';
import type { FleetAdmission, FleetLimitFacts, FleetLimitsChange, FleetPosition } from '../../journal/fleetLedger.js';
import { DEFAULT_LEASE_TTL_MS, LeaseKeeper } from './leases.js';
import { readOpenFlags, readRecords, verifyStore } from './reads.js';
import type { StoredRecord } from './records.js';
import { ensureSchema } from './schema.js';
import type { ClaimedLease, ClaimRequest, FleetKillSwitchRequest, Lease, LeaseRenewal, PostgresStoreOptions, StoredClaim, StoredKillSwitchChange, StoreVerification } from './types.js';
import { JournalWriter, openWriterConnection } from './writer.js';
import { loadCheckpointedChain, verifyStoreChains } from './checkpoints.js';

export { DEFAULT_LEASE_TTL_MS, LEASE_SAFETY_MARGIN } from './leases.js';
export type { ClaimedLease, ClaimRequest, FleetKillSwitchRequest, Lease, LeaseRenewal, PostgresStoreOptions, StoredClaim, StoredKillSwitchChange, StoreVerification } from './types.js';

/**
 * A Warden store on PostgreSQL for many engine processes. It is a {@link Journal}: `append` chains
 * synchronously into this writer's chain and `flush()` writes everything appended so far in ONE
 * transaction (group commit), after checking the lease epoch of every execution in the batch.
 * It also holds the advisory claims, the fleet kill switch and the execution leases.
 *
 * @example
 * const store = await PostgresStore.connect('postgres://warden@127.0.0.1:5432/warden', { writer: 'engine-a' });
 * if ((await store.claim({ advisoryId, executionId, clientOrderId, deadlineAt, snapshot, broker: 'paper' })) === 'duplicate') return;
 * store.append({ kind: JournalKind.Claim, executionId, advisoryId, snapshotHash: snapshot.hash, payload: { clientOrderId } });
 * await store.flush();
 * await store.close();
 */
export class PostgresStore implements Journal {
  private closed = false;
  private readonly journal: JournalWriter;
  private readonly leases: LeaseKeeper;
  private readonly switchWriter: KillSwitchWriter;
  private readonly watches = new Set<KillSwitchWatch>();

  private constructor(
    readonly url: string,
    readonly writer: string,
    writerClient: pg.Client,
    private readonly pool: GatedPool,
    private readonly clock: Clock,
    chain: StoredRecord[],
    /** Executions of this chain that another engine took over (or finished): not this writer's to resume. */
    elsewhere: ReadonlySet<string>,
    monotonic: () => number = () => performance.now(),
  ) {
    this.leases = new LeaseKeeper(url, pool, monotonic, () => this.usable(), () => this.flush());
    this.journal = new JournalWriter(url, writer, writerClient, clock, chain, elsewhere, this.leases);
    this.switchWriter = new KillSwitchWriter(url);
  }

  /**
   * Connects, creates or checks the schema, takes this writer's lock and loads its chain (verified).
   * Throws `JournalError`: `unsupported_schema` (a newer Warden's database), `locked` (the writer id
   * is in use), `chain_broken` (this writer's records were edited), `unreadable` (no connection).
   *
   * @example
   * const store = await PostgresStore.connect(url, { writer: 'engine-a' });
   */
  static async connect(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const writer = writerId(options.writer);
    const pool = openPool(url, options.poolSize);
    let client: pg.Client | null = null;
    try {
      client = await openWriterConnection(url, writer);
      await ensureSchema(client);
      const { chain, checkpoints } = await loadCheckpointedChain(client, writer, options.checkpointEvery);
      const { rows } = await client.query<{ execution_id: string }>('SELECT execution_id FROM warden_leases WHERE owner <> $1', [writer]);
      const store = new PostgresStore(url, writer, client, pool, options.clock ?? systemClock, chain, new Set(rows.map((r) => r.execution_id)), options.monotonic);
      store.journal.checkpoints = checkpoints;
      // Opened now, not at the first renewal: on a slow link, opening it then would eat the lease.
      store.leases.leaseConnection().catch(() => undefined);
      store.switchWriter.open().catch(() => undefined);
      return store;
    } catch (e) {
      await client?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
      if (e instanceof JournalError || e instanceof PostgresStoreError) throw e;
      throw new JournalError('unreadable', `cannot open the PostgreSQL store at ${redact(url)}: ${describe(e)}; check that the server runs and the URL is right`);
    }
  }

  // ---- Journal (writer.ts, reads.ts) -------------------------------------------------------

  /**
   * Chains the record into this writer's chain at once and queues it for the next batch. A record
   * of an execution this instance leases carries the lease's epoch, checked when it is written.
   */
  append = (entry: JournalEntry): JournalRecord => this.journal.append(entry);

  /**
   * Resolves once every record appended so far is committed; rejects with the `JournalError`
   * (`fenced` for a write under a lost lease) if it could not be, after which appends are refused.
   */
  flush = (): Promise<void> => this.journal.flush();

  /** This writer's chain, in order: records loaded at connect and every record appended since (some perhaps not yet committed). */
  readAll = (): readonly JournalRecord[] => this.journal.readAll();

  /**
   * What an engine restarting as this writer needs (see `Journal.restartRecords`), without the
   * executions another engine has leased since (taken over, perhaps finished): they are not this
   * writer's to resume.
   */
  restartRecords = (): readonly JournalRecord[] => this.journal.restartRecords();

  /** This writer's records after `sequence` (its own chain's numbering). */
  recordsAfter = (sequence: number, limit: number): readonly JournalRecord[] => this.journal.recordsAfter(sequence, limit);

  /**
   * Records of the whole store — every writer — for one advisory or execution (or all), in global
   * order. What this writer appended is committed first.
   */
  async records(filter: JournalFilter = {}): Promise<StoredRecord[]> {
    await this.flush().catch(() => undefined); // a store that failed can still be read
    return readRecords(this.pool, filter);
  }

  /**
   * Verifies the whole store: every writer's chain from its first record (sequence, own hash, link
   * to the previous one) and that each chain's records are in global order. This writer's pending
   * records are committed first.
   */
  async verify(options: { readonly full?: boolean } = {}): Promise<StoreVerification> {
    await this.flush().catch(() => undefined); // a failed store can still be verified
    // Checkpoints' contents (and, with full: false, only from each writer's checkpoints: checkpoints.ts).
    const checked = await verifyStoreChains(this.pool, { full: options.full !== false });
    if (!checked.ok || options.full === false) return checked;
    return verifyStore(this.pool);
  }

  // ---- Claims (claims.ts) ------------------------------------------------------------------

  /**
   * Claims an advisory for one execution, for the store's whole life and every instance: resolves
   * `'claimed'` once the claim is durable, or `'duplicate'` if the advisory — or the clientOrderId —
   * is already claimed. Never throws for a duplicate.
   *
   * @example
   * if ((await store.claim(request)) === 'duplicate') return reject('duplicate_advisory');
   */
  async claim(request: ClaimRequest): Promise<'claimed' | 'duplicate'> {
    this.usable();
    return insertClaim(this.pool.intake, this.writer, this.clock, request);
  }

  /**
   * {@link claim} and {@link acquireLease} in ONE round trip (one statement): the advisory claimed
   * and the execution leased to `owner` at epoch 1, or `duplicate` and no lease at all. An execution
   * that already has a lease is refused (`lease_held`) with nothing claimed.
   *
   * @example
   * if ((await store.claimWithLease(request, store.writer, 10_000)).outcome === 'duplicate') return reject('duplicate_advisory');
   */
  async claimWithLease(request: ClaimRequest, owner: string, ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<ClaimedLease> {
    this.usable();
    return this.leases.claimWithLease(claimInsert(this.writer, this.clock, request), request.executionId, owner, ttlMs);
  }

  // ---- The fleet's position ledger and limits (FleetLedgerStore; the SQL is in ledger.ts) -----
  fleetPosition = (symbol: string, excludingExecutionId: string): Promise<FleetPosition> => fleetPosition(this.pool, symbol, excludingExecutionId);
  admitToFleet = (request: FleetAdmission, admit: (facts: FleetLimitFacts) => boolean) => admitToFleet(this.pool.intake, this.writer, request, admit);
  recordFleetExecution = (execution: Omit<FleetAdmission, 'wholeFleetRate'>): Promise<void> => recordFleetExecution(this.pool, this.writer, execution);
  recordFleetFill = (executionId: string, filled: number): Promise<void> => recordFleetFill(this.pool, executionId, filled);
  settleFleetPosition = (executionId: string, filled: number, sent: boolean): Promise<void> => settleFleetPosition(this.pool, this.writer, executionId, filled, sent);
  fleetLimitsChanges = (afterId: number): Promise<FleetLimitsChange[]> => fleetLimitsChanges(this.pool, afterId);
  /** `warden limits set|show --store`: a tightening for every engine, each engine's latest limits, who applied a change. */
  writeFleetLimitsChange = (change: Omit<FleetLimitsChange, 'id'>): Promise<number> => writeFleetLimitsChange(this.pool, this.writer, change);
  limitsByWriter = () => limitsByWriter(this.pool);
  limitsChangeAppliedBy = (id: number): Promise<string[]> => appliedBy(this.pool, id);

  /**
   * The claim of an advisory, or null.
   *
   * @example
   * const claim = await store.claimed('adv-1');
   */
  async claimed(advisoryId: string): Promise<StoredClaim | null> {
    this.usable();
    return readClaim(this.pool, advisoryId);
  }

  /**
   * The claim of an execution (by its id), or null: what an engine taking the execution over
   * resumes from (the frozen snapshot, the clientOrderId, the absolute deadline, the broker).
   *
   * @example
   * const claim = await store.claimOf(lease.executionId);
   */
  async claimOf(executionId: string): Promise<StoredClaim | null> {
    this.usable();
    return readClaimOf(this.pool, executionId);
  }

  /**
   * Every flag of the fleet still open: results that await an operator's resolution (rule 6) with
   * no resolution record after them, whichever engine wrote them, oldest first. Pending records
   * of this writer are committed first.
   *
   * @example
   * for (const { result, symbol } of await store.openFlags()) console.log(result.advisoryId, symbol, result.reconciliation?.status);
   */
  async openFlags(): Promise<{ readonly result: ExecutionResult; readonly symbol: string }[]> {
    this.usable();
    await this.flush().catch(() => undefined);
    return readOpenFlags(this.pool);
  }

  // ---- Fleet kill switch (killSwitchStore.ts, killSwitchWatch.ts) --------------------------

  /**
   * Changes a fleet kill switch: validated like `engine.killSwitch.set` (an operator is needed to
   * turn one off), written as a row (the history is kept) and announced with `pg_notify` (naming
   * the change) in ONE transaction, sent as one round trip on a connection of its own (no pooled
   * query delays it). Resolves with the stored change once it is durable.
   *
   * @example
   * await store.setKillSwitch({ state: 'active', reason: 'venue outage', operator: 'ops' });
   */
  async setKillSwitch(request: FleetKillSwitchRequest): Promise<StoredKillSwitchChange> {
    this.usable();
    return this.switchWriter.set(this.writer, this.clock, request);
  }

  /**
   * The current switch of every scope that was ever set.
   *
   * @example
   * const global = (await store.killSwitches()).find((s) => s.symbol === null)?.state ?? 'off';
   */
  async killSwitches(): Promise<FleetSwitch[]> {
    this.usable();
    return readFleetSwitches(this.pool);
  }

  /**
   * Every kill switch change of the fleet, oldest first.
   *
   * @example
   * for (const c of await store.killSwitchHistory()) console.log(c.at, c.operator, c.symbol ?? 'global', c.from, '→', c.to, c.reason);
   */
  async killSwitchHistory(): Promise<StoredKillSwitchChange[]> {
    this.usable();
    return readKillSwitchHistory(this.pool);
  }

  /**
   * Watches the fleet's kill switches on a dedicated connection (LISTEN, plus a re-read on every
   * reconnect and a backstop poll); `onChange` hears every new set of switches. The watch reads
   * fail-closed: see {@link KillSwitchWatch}. Stopped by `close()`.
   *
   * @example
   * const watch = store.watchKillSwitches((switches) => applyToInFlight(switches), { stalenessBudgetMs: 3_000 });
   */
  watchKillSwitches(onChange: (switches: readonly FleetSwitch[]) => void, options: KillSwitchWatchOptions = {}): KillSwitchWatch {
    this.usable();
    const watch = startKillSwitchWatch(this.url, onChange, options);
    this.watches.add(watch);
    const stop = watch.stop;
    return Object.assign(watch, {
      stop: async () => {
        this.watches.delete(watch);
        await stop();
      },
    });
  }

  // ---- Leases (leases.ts) ------------------------------------------------------------------

  /**
   * Leases a new execution to `owner` for `ttlMs` (database clock) and returns its epoch (1). This
   * instance's journal records for the execution then carry that epoch. Renewing one's own live
   * lease returns its epoch; a lease held by another owner is refused (`lease_held`).
   *
   * @example
   * const epoch = await store.acquireLease(executionId, 'engine-a', 10_000);
   */
  acquireLease(executionId: string, owner: string, ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<number> {
    return this.leases.acquireLease(executionId, owner, ttlMs);
  }

  /**
   * Extends a lease this owner holds at `epoch`, on the lease connection. Throws `lease_lost` if
   * another engine took it over (the epoch moved on) or it was released: stop working on it.
   *
   * @example
   * await store.renewLease(executionId, 'engine-a', epoch, 10_000);
   */
  renewLease(executionId: string, owner: string, epoch: number, ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<void> {
    return this.leases.renewLease(executionId, owner, epoch, ttlMs);
  }

  /**
   * Extends every listed lease of `owner` in ONE statement on a connection of its own (no claim,
   * journal batch or takeover ever queues ahead of it), against the database's clock. Each lease
   * comes back renewed, or not with why; one another engine holds now is marked lost here, and
   * this instance writes and sends nothing more for its execution.
   *
   * @example
   * for (const r of await store.renewLeases('engine-a', [{ executionId, epoch: 1 }], 10_000)) if (!r.renewed) console.log(r.why);
   */
  renewLeases(owner: string, leases: readonly { readonly executionId: string; readonly epoch: number }[], ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<LeaseRenewal[]> {
    return this.leases.renewLeases(owner, leases, ttlMs);
  }

  /**
   * Whether this instance must not send anything for the execution now, and why (null: it may).
   * Refused once its lease is known lost, and — self-fencing — whenever the lease has not been
   * confirmed for `ttl × (1 − LEASE_SAFETY_MARGIN)` (monotonic time since the last renewal the
   * database accepted was sent): the engine stops by itself before anyone may take the execution
   * over. An execution this instance holds no lease for is not fenced here.
   *
   * @example
   * const why = store.fencedFor(executionId);
   * if (why) throw new Error(`not sent: ${why}`);
   */
  fencedFor(executionId: string): string | null {
    return this.leases.fencedFor(executionId);
  }

  /**
   * Resolves at the next renewal outcome for the execution (at once if it holds no lease or lost
   * it): what a send that found its lease unconfirmed waits for before it looks again.
   *
   * @example
   * if (store.fencedFor(executionId)) await Promise.race([store.confirmation(executionId), timeout(ttlMs)]);
   */
  confirmation(executionId: string): Promise<void> {
    return this.leases.confirmation(executionId);
  }

  /**
   * Ends a finished execution's lease (it is never taken over); records for the execution are then
   * accepted from any instance (a resolution, for instance).
   *
   * @example
   * await store.releaseLease(executionId, 'engine-a', epoch);
   */
  releaseLease(executionId: string, owner: string, epoch: number): Promise<void> {
    return this.leases.releaseLease(executionId, owner, epoch);
  }

  /**
   * Leases whose time has passed (database clock) and that were not released: executions whose
   * engine stopped renewing, candidates for {@link takeOver}.
   *
   * @example
   * for (const lease of await store.expiredLeases()) await store.takeOver(lease.executionId, 'engine-b');
   */
  expiredLeases = (): Promise<Lease[]> => this.leases.expiredLeases();

  /**
   * Takes over an execution whose lease expired: the epoch goes up by one, so every later journal
   * write of the previous owner is refused (`JournalError('fenced')`). Throws `lease_live` if the
   * lease has not expired, `no_lease` if there is none, both without changing anything.
   *
   * @example
   * const epoch = await store.takeOver(executionId, 'engine-b');
   */
  takeOver(executionId: string, newOwner: string, ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<number> {
    return this.leases.takeOver(executionId, newOwner, ttlMs);
  }

  /**
   * The lease of an execution (live, expired or released), or null.
   *
   * @example
   * const lease = await store.lease(executionId);
   */
  lease = (executionId: string): Promise<(Lease & { readonly released: boolean }) | null> => this.leases.lease(executionId);

  /** Commits what is pending (if it can), stops every kill switch watch and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.journal.flush().catch(() => undefined);
    this.closed = true;
    await this.journal.close();
    for (const w of [...this.watches]) await w.stop();
    await this.leases.close();
    await this.switchWriter.close();
    await this.pool.end().catch(() => undefined);
  }

  private usable(): void {
    if (this.closed) throw new PostgresStoreError('closed', 'the PostgreSQL store is closed');
  }
}
