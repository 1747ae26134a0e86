/**
 * The store many engine processes share: one PostgreSQL database holding the journal (one hash
 * chain per writer instance, in a global order PostgreSQL assigns), the advisory claims (one
 * execution per advisory, ever), the fleet kill switch (durable rows plus NOTIFY) and execution
 * leases with fencing epochs. docs/scale-out.md describes the design.
 */
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { systemClock, type Clock } from '../../domain/clock.js';
import type { ExecutionResult } from '../../domain/result.js';
import type { KillSwitchState } from '../../domain/constants.js';
import { KillSwitchBoard, type KillSwitchChange, type KillSwitchSetOptions } from '../../engine/killSwitch.js';
import { chainRecord, GENESIS_HASH, verifyChain } from '../../journal/hashChain.js';
import { JournalError, type Journal, type JournalEntry, type JournalFilter, type JournalRecord, type JournalVerification, type StoreClaim } from '../../journal/types.js';
import { PostgresStoreError } from './errors.js';
import type { FleetSwitch } from './failClosed.js';
import { readFleetSwitches, startKillSwitchWatch, type KillSwitchWatch, type KillSwitchWatchOptions } from './killSwitchWatch.js';
import { RECORD_COLUMNS, recordValues, restartSubset, toStoredRecord, type RecordRow, type StoredRecord } from './records.js';
import { admitToFleet, appliedBy, fleetLimitsChanges, fleetPosition, limitsByWriter, recordFleetExecution, recordFleetFill, settleFleetPosition, writeFleetLimitsChange } from './ledger.js';
import type { FleetAdmission, FleetLimitFacts, FleetLimitsChange, FleetPosition } from '../../journal/fleetLedger.js';
import { ADVISORY_LOCK_NAMESPACE, ensureSchema, JOURNAL_ORDER_LOCK, KILL_SWITCH_CHANNEL, KILL_SWITCH_LOCK } from './schema.js';

/** Connections for claims, leases, kill switch changes and store-wide reads. */
const DEFAULT_POOL_SIZE = 4;
/** Bound on opening a connection (ms). */
const CONNECT_TIMEOUT_MS = 5_000;
/** Bound on any one query (ms). */
const QUERY_TIMEOUT_MS = 10_000;
/** Records per INSERT statement (14 parameters each, well under PostgreSQL's 65,535). */
const ROWS_PER_INSERT = 1_000;
/** Rows per page when `verify()` streams a writer's chain. */
const VERIFY_PAGE = 10_000;
/**
 * Default lease length (ms): an engine renews well within it; another may take over once it
 * has passed by the database's clock.
 *
 * @example
 * const epoch = await store.acquireLease(executionId, 'engine-a', DEFAULT_LEASE_TTL_MS);
 */
export const DEFAULT_LEASE_TTL_MS = 10_000;
/** How long a batch waits before it is tried again while the server is out of reach (ms). */
const OUTAGE_RETRY_MS = 500;
/**
 * Share of a lease kept as a safety margin: an engine sends for an execution only until
 * `ttl × (1 − LEASE_SAFETY_MARGIN)` after it last sent a renewal the database confirmed, so it
 * stops by itself before anyone may take the execution over (the database's expiry is later still:
 * the renewal ran there after it was sent).
 *
 * @example
 * const sendsUntil = renewalSentAt + ttlMs * (1 - LEASE_SAFETY_MARGIN);
 */
export const LEASE_SAFETY_MARGIN = 0.2;
/** The longest window a claim's deadline may have on the database's clock (rule 4's 30 s). */
const HARD_WINDOW_MS = 30_000;

/**
 * Whether a failure means the server could not be reached (nothing was written): no SQLSTATE (a
 * socket error, a refused or timed-out connection, a terminated connection), a connection
 * exception (class 08) or an operator intervention (57P: shutdown, crash, not accepting yet).
 */
function unreachable(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code.startsWith('57P');
}
const WRITER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * Options of {@link PostgresStore.connect}.
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
 * What became of one lease in a {@link PostgresStore.renewLeases} call: renewed, or not and why
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

interface Pending {
  readonly record: StoredRecord;
  /** The lease owner the record was appended under (fencing), or null. */
  readonly owner: string | null;
}

/**
 * A lease this instance holds or held. `lost` once the database said another engine has it (a
 * refused renewal or a fenced batch): kept, so every later write for the execution still carries
 * the old epoch and is refused. `confirmedAt` is when (monotonic) the last renewal the database
 * accepted was sent.
 */
interface HeldLease {
  readonly owner: string;
  readonly epoch: number;
  ttlMs: number;
  confirmedAt: number;
  lost: string | null;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

const describe = (e: unknown) => (e instanceof Error ? e.message : String(e));

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
  private readonly view: StoredRecord[];
  private last: string;
  /** Hash of the last record known committed: where this writer's chain ends in the database. */
  private durableHash: string;
  private nextSequence: number;
  private pending: Pending[] = [];
  private nextWaiters: Waiter[] = [];
  private inFlight: Promise<void> | null = null;
  private scheduled: NodeJS.Immediate | null = null;
  private failure: JournalError | null = null;
  /** The server is out of reach: what is queued stays queued (in order) and is written when it is back. */
  private outage: JournalError | null = null;
  private retry: NodeJS.Timeout | null = null;
  private closed = false;
  /** Leases this instance holds (or lost): executionId → owner and epoch; appends for them carry the epoch. */
  private readonly held = new Map<string, HeldLease>();
  /** The connection lease renewals go through alone: no claim, record or takeover queues ahead of them. */
  private leaseClient: Promise<pg.Client> | null = null;
  /** Sends waiting for their lease's next renewal outcome, by execution. */
  private readonly confirmations = new Map<string, (() => void)[]>();
  private readonly monotonic: () => number;
  private readonly watches = new Set<KillSwitchWatch>();

  private constructor(
    readonly url: string,
    readonly writer: string,
    private writerClient: pg.Client | null,
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    chain: StoredRecord[],
    /** Executions of this chain that another engine took over (or finished): not this writer's to resume. */
    private readonly elsewhere: ReadonlySet<string> = new Set(),
    monotonic: () => number = () => performance.now(),
  ) {
    this.monotonic = monotonic;
    this.view = chain;
    if (writerClient) this.adoptWriter(writerClient);
    const tail = chain.at(-1);
    this.last = tail?.hash ?? GENESIS_HASH;
    this.durableHash = this.last;
    this.nextSequence = (tail?.sequence ?? 0) + 1;
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
    const writer = options.writer ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    if (!WRITER_ID.test(writer)) throw new PostgresStoreError('invalid_option', `writer must be 1-128 characters of A-Z a-z 0-9 . _ : @ -, got ${JSON.stringify(writer)}`);
    const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(poolSize) || poolSize < 1) throw new PostgresStoreError('invalid_option', `poolSize must be a positive integer, got ${String(options.poolSize)}`);
    const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS });
    pool.on('error', () => undefined); // an idle connection that dies is replaced on next use
    let client: pg.Client | null = null;
    try {
      client = await openWriterConnection(url, writer);
      await ensureSchema(client);
      const chain = await loadChain(client, writer);
      const { rows } = await client.query<{ execution_id: string }>('SELECT execution_id FROM warden_leases WHERE owner <> $1', [writer]);
      const store = new PostgresStore(url, writer, client, pool, options.clock ?? systemClock, chain, new Set(rows.map((r) => r.execution_id)), options.monotonic);
      // Opened now, not at the first renewal: on a slow link, opening it then would eat the lease.
      store.leaseConnection().catch(() => undefined);
      return store;
    } catch (e) {
      await client?.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
      if (e instanceof JournalError || e instanceof PostgresStoreError) throw e;
      throw new JournalError('unreadable', `cannot open the PostgreSQL store at ${redact(url)}: ${describe(e)}; check that the server runs and the URL is right`);
    }
  }

  // ---- Journal ---------------------------------------------------------------------------

  /**
   * Chains the record into this writer's chain at once and queues it for the next batch. A record
   * of an execution this instance leases carries the lease's epoch, checked when it is written.
   */
  append(entry: JournalEntry): JournalRecord {
    if (this.closed) throw new JournalError('unreadable', 'the PostgreSQL store is closed');
    if (this.failure) throw this.failure;
    const lease = entry.executionId === null ? undefined : this.held.get(entry.executionId);
    // A lease known lost: nothing more is written for the execution, whatever happened to it since.
    if (lease?.lost) throw new JournalError('fenced', lease.lost);
    const chained = chainRecord(entry, this.nextSequence, new Date(this.clock.now()).toISOString(), this.last);
    const record: StoredRecord = { ...chained, writer: this.writer, globalSequence: null, epoch: lease?.epoch ?? null };
    this.pending.push({ record, owner: lease?.owner ?? null });
    this.view.push(record);
    this.last = record.hash;
    this.nextSequence++;
    if (this.scheduled === null && this.inFlight === null) this.scheduled = setImmediate(() => this.writeNext());
    return record;
  }

  /**
   * Resolves once every record appended so far is committed; rejects with the `JournalError`
   * (`fenced` for a write under a lost lease) if it could not be, after which appends are refused.
   */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending.length > 0) {
      // During an outage a flush tries at once (and fails fast while the server is down).
      if (this.outage && this.inFlight === null && this.scheduled === null) this.scheduled = setImmediate(() => this.writeNext());
      return new Promise((resolve, reject) => this.nextWaiters.push({ resolve, reject }));
    }
    return this.inFlight ?? Promise.resolve();
  }

  private writeNext(): void {
    this.scheduled = null;
    if (this.pending.length === 0 || this.inFlight !== null) return;
    const batch = this.pending;
    const waiters = this.nextWaiters;
    this.pending = [];
    this.nextWaiters = [];
    const written = this.writeBatch(batch);
    this.inFlight = written;
    written.then(
      () => {
        this.outage = null;
        for (const w of waiters) w.resolve();
      },
      (e: unknown) => {
        const error = e instanceof JournalError ? e : new JournalError('unreadable', `the PostgreSQL store could not be written: ${describe(e)}`);
        if (error.code === 'unavailable') {
          // Nothing of the batch was written: it goes back in front of what was appended since, and
          // is written when the server answers again. Those who waited hear of the outage now.
          this.pending = batch.concat(this.pending);
          this.outage = error;
          this.retryLater();
        } else {
          this.failure = error;
        }
        for (const w of [...waiters, ...this.nextWaiters]) w.reject(error);
        this.nextWaiters = [];
      },
    );
    void written
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = null;
        if (this.pending.length > 0 && !this.failure && !this.outage) this.writeNext();
      });
  }

  private retryLater(): void {
    if (this.retry !== null || this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.pending.length > 0 && this.inFlight === null && !this.failure) this.writeNext();
    }, OUTAGE_RETRY_MS);
    this.retry.unref();
  }

  /**
   * Writes a batch; whatever goes wrong comes out as a JournalError: `unavailable` when the server
   * could not be reached and nothing was written (it is tried again), anything else for good.
   */
  private async writeBatch(batch: Pending[]): Promise<void> {
    try {
      await this.insertBatch(batch);
    } catch (e) {
      if (e instanceof JournalError) throw e;
      const code = unreachable(e) ? 'unavailable' : 'unreadable';
      throw new JournalError(code, `the PostgreSQL store could not write ${batch.length} journal record(s): ${describe(e)}; nothing of this batch was written${code === 'unavailable' ? ' yet (it is tried again)' : ''}`);
    }
  }

  /** One transaction: global-order lock, lease check of every execution in the batch, the rows. */
  private async insertBatch(appended: Pending[]): Promise<void> {
    let batch = appended;
    let client = await this.writerConnection();
    try {
      await client.query('BEGIN');
    } catch {
      // Nothing was written: the connection was lost while idle (a server restart). Reopen it once.
      this.dropWriter(client);
      client = await this.writerConnection();
      await client.query('BEGIN');
    }
    try {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_LOCK_NAMESPACE, JOURNAL_ORDER_LOCK]);
      batch = appended.map((p) => this.underLease(p));
      await this.checkFences(client, batch);
      for (let i = 0; i < batch.length; i += ROWS_PER_INSERT) {
        const slice = batch.slice(i, i + ROWS_PER_INSERT);
        const values: unknown[] = [];
        const tuples = slice.map((p) => {
          const row = recordValues(p.record);
          const base = values.length;
          values.push(...row);
          return `(${row.map((_, k) => `$${base + k + 1}`).join(', ')})`;
        });
        await client.query(`INSERT INTO warden_records (${RECORD_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, values);
      }
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
    try {
      await client.query('COMMIT');
    } catch (e) {
      throw new JournalError(
        'unreadable',
        `the commit of ${batch.length} journal record(s) got no answer (${describe(e)}): whether they were written is unknown. ` +
          `This store refuses further appends; connect again as writer ${this.writer} to see what the database holds`,
      );
    }
    this.durableHash = batch.at(-1)!.record.hash;
  }

  /**
   * A record appended before its execution's lease was granted is written under that lease: the
   * epoch is the one this instance holds (or lost) when it writes, so no record of a leased
   * execution ever goes out without one. (The epoch is not part of the record's hash.)
   */
  private underLease(p: Pending): Pending {
    if (p.record.epoch !== null || p.record.executionId === null) return p;
    const lease = this.held.get(p.record.executionId);
    return lease ? { record: { ...p.record, epoch: lease.epoch }, owner: lease.owner } : p;
  }

  /** Refuses the batch if any execution's lease is no longer the one its records were appended under. */
  private async checkFences(client: pg.Client, batch: Pending[]): Promise<void> {
    // One process appended the whole batch, so each execution's latest record states the lease
    // this process holds for it now; earlier records of the batch were appended by the same holder.
    const claims = new Map<string, Pending>();
    for (const p of batch) if (p.record.executionId !== null) claims.set(p.record.executionId, p);
    if (claims.size === 0) return;
    const { rows } = await client.query<{ execution_id: string; owner: string; epoch: string; released: boolean }>(
      'SELECT execution_id, owner, epoch, released FROM warden_leases WHERE execution_id = ANY($1) FOR SHARE',
      [[...claims.keys()]],
    );
    const refusals: string[] = [];
    for (const row of rows) {
      const p = claims.get(row.execution_id);
      if (!p) continue;
      const epoch = Number(row.epoch);
      // Without an epoch (this instance never leased the execution): accepted once the lease is
      // released (a resolution, say), or from its owner. With one: only the epoch and owner of the
      // lease, released or not (the last records of a finished execution may commit after its release).
      const ok = p.record.epoch === null ? row.released || row.owner === this.writer : p.record.epoch === epoch && p.owner === row.owner;
      if (ok) continue;
      const mine = p.record.epoch === null ? 'without a lease' : `under lease epoch ${p.record.epoch} of ${p.owner}`;
      const why =
        `journal write for execution ${row.execution_id} refused: written ${mine}, but the lease is now epoch ${epoch} of ${row.owner}${row.released ? ' (released)' : ''}. ` +
        'Another engine took this execution over; this writer must stop writing for it.';
      this.lose(row.execution_id, why);
      refusals.push(why);
    }
    if (refusals.length > 0) throw new JournalError('fenced', `${refusals.join(' ')} Nothing of this batch was written.`);
  }

  /** The database says another engine has the execution now: this instance never writes or sends for it again. */
  private lose(executionId: string, why: string): void {
    const lease = this.held.get(executionId);
    if (lease && !lease.lost) lease.lost = why;
    this.confirmed(executionId);
  }

  /** The writer connection, reopened (lock retaken, chain tail checked) if it was lost while idle. */
  private async writerConnection(): Promise<pg.Client> {
    if (this.writerClient) return this.writerClient;
    const client = await openWriterConnection(this.url, this.writer);
    try {
      const { rows } = await client.query<{ hash: string }>('SELECT hash FROM warden_records WHERE writer_id = $1 ORDER BY writer_sequence DESC LIMIT 1', [this.writer]);
      if ((rows[0]?.hash ?? GENESIS_HASH) !== this.durableHash) {
        throw new JournalError('chain_broken', `writer ${this.writer}'s chain in the database does not end where this process last wrote it: another process wrote under this id, or records were removed`);
      }
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    this.adoptWriter(client);
    return client;
  }

  private adoptWriter(client: pg.Client): void {
    this.writerClient = client;
    client.on('error', () => this.dropWriter(client));
    client.on('end', () => this.dropWriter(client));
  }

  private dropWriter(client: pg.Client): void {
    if (this.writerClient === client) this.writerClient = null;
    client.end().catch(() => undefined);
  }

  /** This writer's chain, in order: records loaded at connect and every record appended since (some perhaps not yet committed). */
  readAll(): readonly JournalRecord[] {
    return this.view.slice();
  }

  /**
   * What an engine restarting as this writer needs (see `Journal.restartRecords`), without the
   * executions another engine has leased since (taken over, perhaps finished): they are not this
   * writer's to resume.
   */
  restartRecords(): readonly JournalRecord[] {
    return restartSubset(this.elsewhere.size === 0 ? this.view : this.view.filter((r) => r.executionId === null || !this.elsewhere.has(r.executionId)));
  }

  /** This writer's records after `sequence` (its own chain's numbering). */
  recordsAfter(sequence: number, limit: number): readonly JournalRecord[] {
    const from = this.view.findIndex((r) => r.sequence > sequence);
    return from < 0 ? [] : this.view.slice(from, from + Math.max(0, limit));
  }

  /**
   * Records of the whole store — every writer — for one advisory or execution (or all), in global
   * order. What this writer appended is committed first.
   */
  async records(filter: JournalFilter = {}): Promise<StoredRecord[]> {
    await this.flush().catch(() => undefined); // a store that failed can still be read
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.executionId !== undefined) where.push(`execution_id = $${params.push(filter.executionId)}`);
    if (filter.advisoryId !== undefined) where.push(`advisory_id = $${params.push(filter.advisoryId)}`);
    const { rows } = await this.pool.query<RecordRow>(`SELECT * FROM warden_records ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY global_sequence`, params);
    return rows.map(toStoredRecord);
  }

  /**
   * Verifies the whole store: every writer's chain from its first record (sequence, own hash, link
   * to the previous one) and that each chain's records are in global order. This writer's pending
   * records are committed first.
   */
  async verify(): Promise<StoreVerification> {
    await this.flush().catch(() => undefined); // a failed store can still be verified
    const { rows: writers } = await this.pool.query<{ writer_id: string }>('SELECT DISTINCT writer_id FROM warden_records ORDER BY writer_id');
    let count = 0;
    for (const { writer_id: writer } of writers) {
      let broken: StoredRecord | null = null;
      let lastGlobal = 0;
      const pool = this.pool;
      async function* chain(): AsyncGenerator<StoredRecord> {
        for (let after = 0; ; ) {
          const { rows } = await pool.query<RecordRow>('SELECT * FROM warden_records WHERE writer_id = $1 AND writer_sequence > $2 ORDER BY writer_sequence LIMIT $3', [writer, after, VERIFY_PAGE]);
          for (const row of rows) yield toStoredRecord(row);
          if (rows.length < VERIFY_PAGE) return;
          after = Number(rows.at(-1)!.writer_sequence);
        }
      }
      // verifyChain is synchronous: check page by page, carrying the link across pages.
      const page: StoredRecord[] = [];
      let previous: StoredRecord | null = null;
      for await (const r of chain()) {
        count++;
        if ((r.globalSequence ?? 0) <= lastGlobal) {
          broken = r;
          break;
        }
        lastGlobal = r.globalSequence ?? 0;
        page.push(r);
        if (page.length === VERIFY_PAGE) {
          broken = checkPage(page, previous);
          if (broken) break;
          previous = page.at(-1)!;
          page.length = 0;
        }
      }
      if (!broken && page.length > 0) broken = checkPage(page, previous);
      if (broken) return { ok: false, brokenAt: broken.globalSequence ?? undefined, writer, writerSequence: broken.sequence, writers: writers.length, records: count };
    }
    return { ok: true, writers: writers.length, records: count };
  }

  // ---- Claims ----------------------------------------------------------------------------

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
    for (const key of ['advisoryId', 'executionId', 'clientOrderId', 'broker'] as const) {
      if (typeof request[key] !== 'string' || request[key] === '') throw new PostgresStoreError('invalid_option', `claim needs a non-empty ${key}`);
    }
    if (!Number.isFinite(request.deadlineAt)) throw new PostgresStoreError('invalid_option', 'claim needs deadlineAt, ms since the epoch');
    // The deadline again on the database's clock: what is left of the window by this engine's clock
    // (never more than the whole window), from the database's now. Whoever takes the execution over
    // reads what is left of it from there, whatever its own clock says.
    const windowLeftMs = Math.min(HARD_WINDOW_MS, Math.max(0, request.deadlineAt - this.clock.now()));
    const { rows } = await this.pool.query(
      `INSERT INTO warden_claims (advisory_id, execution_id, client_order_id, deadline_at, snapshot, broker, writer_id, deadline_db)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8 * interval '1 millisecond') ON CONFLICT DO NOTHING RETURNING advisory_id`,
      [request.advisoryId, request.executionId, request.clientOrderId, new Date(request.deadlineAt).toISOString(), JSON.stringify(request.snapshot ?? null), request.broker, this.writer, windowLeftMs],
    );
    return rows.length === 1 ? 'claimed' : 'duplicate';
  }

  // ---- The fleet's position ledger and limits (ledger.ts) --------------------------------

  /** The fleet's position on `symbol` besides one execution (every engine's executions). */
  fleetPosition(symbol: string, excludingExecutionId: string): Promise<FleetPosition> {
    return fleetPosition(this.pool, symbol, excludingExecutionId);
  }
  /** Admits an execution against the fleet's facts, atomically for the fleet (see `admitToFleet`). */
  admitToFleet(request: FleetAdmission, admit: (facts: FleetLimitFacts) => boolean): Promise<{ readonly facts: FleetLimitFacts; readonly admitted: boolean }> {
    return admitToFleet(this.pool, this.writer, request, admit);
  }
  recordFleetExecution(execution: Omit<FleetAdmission, 'wholeFleetRate'>): Promise<void> {
    return recordFleetExecution(this.pool, this.writer, execution);
  }
  recordFleetFill(executionId: string, filled: number): Promise<void> {
    return recordFleetFill(this.pool, executionId, filled);
  }
  settleFleetPosition(executionId: string, filled: number, sent: boolean): Promise<void> {
    return settleFleetPosition(this.pool, executionId, filled, sent);
  }
  fleetLimitsChanges(afterId: number): Promise<FleetLimitsChange[]> {
    return fleetLimitsChanges(this.pool, afterId);
  }
  /** Writes a tightening every engine of the store applies (`warden limits set --store`); returns its id. */
  writeFleetLimitsChange(change: Omit<FleetLimitsChange, 'id'>): Promise<number> {
    return writeFleetLimitsChange(this.pool, this.writer, change);
  }
  /** Each engine's (writer's) latest limits, and who applied a fleet change: see ledger.ts. */
  limitsByWriter() {
    return limitsByWriter(this.pool);
  }
  limitsChangeAppliedBy(id: number): Promise<string[]> {
    return appliedBy(this.pool, id);
  }

  /**
   * The claim of an advisory, or null.
   *
   * @example
   * const claim = await store.claimed('adv-1');
   */
  async claimed(advisoryId: string): Promise<StoredClaim | null> {
    this.usable();
    const { rows } = await this.pool.query<{ advisory_id: string; execution_id: string; client_order_id: string; deadline_at: string; snapshot: unknown; broker: string; writer_id: string; claimed_at: Date; remaining_ms: number | null }>(
      `SELECT *, greatest(0, extract(epoch FROM deadline_db - now()) * 1000)::float8 AS remaining_ms FROM warden_claims WHERE advisory_id = $1`,
      [advisoryId],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      advisoryId: r.advisory_id,
      executionId: r.execution_id,
      clientOrderId: r.client_order_id,
      deadlineAt: Date.parse(r.deadline_at),
      snapshot: r.snapshot as StoredClaim['snapshot'],
      broker: r.broker,
      writer: r.writer_id,
      claimedAt: r.claimed_at.toISOString(),
      remainingMs: r.remaining_ms === null ? null : Math.floor(r.remaining_ms),
    };
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
    const { rows } = await this.pool.query<{ advisory_id: string }>('SELECT advisory_id FROM warden_claims WHERE execution_id = $1', [executionId]);
    return rows[0] ? this.claimed(rows[0].advisory_id) : null;
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
    const { rows } = await this.pool.query<{ payload: string; symbol: string | null }>(
      `SELECT r.payload, (SELECT c.snapshot->>'symbol' FROM warden_claims c WHERE c.execution_id = r.execution_id) AS symbol
         FROM warden_records r
        WHERE r.kind = 'result' AND (r.payload::jsonb ->> 'requiresManualResolution') = 'true'
          AND NOT EXISTS (SELECT 1 FROM warden_records x WHERE x.kind = 'resolution' AND x.execution_id = r.execution_id)
        ORDER BY r.global_sequence`,
    );
    return rows.filter((r) => r.symbol !== null).map((r) => ({ result: JSON.parse(r.payload) as ExecutionResult, symbol: r.symbol! }));
  }

  // ---- Fleet kill switch -----------------------------------------------------------------

  /**
   * Changes a fleet kill switch: validated like `engine.killSwitch.set` (an operator is needed to
   * turn one off), written as a row (the history is kept) and announced with `pg_notify`, in ONE
   * transaction. Resolves with the stored change once it is durable.
   *
   * @example
   * await store.setKillSwitch({ state: 'active', reason: 'venue outage', operator: 'ops' });
   */
  async setKillSwitch(request: FleetKillSwitchRequest): Promise<StoredKillSwitchChange> {
    this.usable();
    // The engine's own rules decide what a valid change is (throws WardenUsageError).
    const { state, ...options } = request;
    const change = new KillSwitchBoard(() => this.clock.now()).set(state, options);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_LOCK_NAMESPACE, KILL_SWITCH_LOCK]);
      const { rows: before } = await client.query<{ to_state: KillSwitchState }>(
        `SELECT to_state FROM warden_kill_switch_changes WHERE coalesce(symbol, '') = coalesce($1, '') ORDER BY id DESC LIMIT 1`,
        [change.symbol],
      );
      const stored = { ...change, from: before[0]?.to_state ?? 'off' };
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO warden_kill_switch_changes (at, symbol, from_state, to_state, type, reason, operator, writer_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [stored.at, stored.symbol, stored.from, stored.to, stored.type, stored.reason, stored.operator, this.writer],
      );
      const id = Number(rows[0]!.id);
      await client.query('SELECT pg_notify($1, $2)', [KILL_SWITCH_CHANNEL, JSON.stringify({ id, symbol: stored.symbol, to: stored.to })]);
      await client.query('COMMIT');
      return { ...stored, id };
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
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
    const { rows } = await this.pool.query<{ id: string; at: string; symbol: string | null; from_state: KillSwitchState; to_state: KillSwitchState; type: KillSwitchChange['type']; reason: string; operator: string }>(
      'SELECT * FROM warden_kill_switch_changes ORDER BY id',
    );
    return rows.map((r) => ({ id: Number(r.id), at: r.at, symbol: r.symbol, from: r.from_state, to: r.to_state, type: r.type, reason: r.reason, operator: r.operator }));
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

  // ---- Leases ----------------------------------------------------------------------------

  /**
   * Leases a new execution to `owner` for `ttlMs` (database clock) and returns its epoch (1). This
   * instance's journal records for the execution then carry that epoch. Renewing one's own live
   * lease returns its epoch; a lease held by another owner is refused (`lease_held`).
   *
   * @example
   * const epoch = await store.acquireLease(executionId, 'engine-a', 10_000);
   */
  async acquireLease(executionId: string, owner: string, ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<number> {
    this.usable();
    checkTtl(ttlMs);
    // Measured from when the query leaves (not from a wait for a pooled connection): the database's
    // expiry is later still, since it counts from when the statement ran there.
    const { rows, sentAt } = await this.timedQuery<{ epoch: string }>(
      `INSERT INTO warden_leases (execution_id, owner, epoch, expires_at) VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
       ON CONFLICT (execution_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, updated_at = now()
         WHERE warden_leases.owner = EXCLUDED.owner AND NOT warden_leases.released AND warden_leases.expires_at > now()
       RETURNING epoch`,
      [executionId, owner, ttlMs],
    );
    const row = rows[0];
    if (!row) {
      const current = await this.lease(executionId);
      throw new PostgresStoreError(
        'lease_held',
        `execution ${executionId} is leased by ${current?.owner ?? 'another engine'} (epoch ${current?.epoch ?? '?'}, until ${current?.expiresAt ?? '?'}): ` +
          'wait for the lease to expire and take it over with takeOver()',
      );
    }
    const epoch = Number(row.epoch);
    this.held.set(executionId, { owner, epoch, ttlMs, confirmedAt: sentAt, lost: null });
    return epoch;
  }

  /**
   * Extends a lease this owner holds at `epoch`, on the lease connection. Throws `lease_lost` if
   * another engine took it over (the epoch moved on) or it was released: stop working on it.
   *
   * @example
   * await store.renewLease(executionId, 'engine-a', epoch, 10_000);
   */
  async renewLease(executionId: string, owner: string, epoch: number, ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<void> {
    const [outcome] = await this.renewLeases(owner, [{ executionId, epoch }], ttlMs);
    if (outcome && !outcome.renewed) throw new PostgresStoreError('lease_lost', outcome.why);
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
  async renewLeases(owner: string, leases: readonly { readonly executionId: string; readonly epoch: number }[], ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<LeaseRenewal[]> {
    this.usable();
    checkTtl(ttlMs);
    if (leases.length === 0) return [];
    const client = await this.leaseConnection();
    const sentAt = this.monotonic();
    let rows: { execution_id: string; epoch: string; renewed: boolean; owner: string | null; current: string | null; released: boolean | null }[];
    try {
      ({ rows } = await client.query(
        `WITH mine AS (SELECT * FROM unnest($2::text[], $3::bigint[]) AS m(execution_id, epoch)),
         renewed AS (
           UPDATE warden_leases l SET expires_at = now() + $4 * interval '1 millisecond', updated_at = now()
             FROM mine WHERE l.execution_id = mine.execution_id AND l.epoch = mine.epoch AND l.owner = $1 AND NOT l.released
           RETURNING l.execution_id)
         SELECT m.execution_id, m.epoch, (r.execution_id IS NOT NULL) AS renewed, l.owner, l.epoch AS current, l.released
           FROM mine m LEFT JOIN renewed r USING (execution_id) LEFT JOIN warden_leases l USING (execution_id)`,
        [owner, leases.map((l) => l.executionId), leases.map((l) => l.epoch), ttlMs],
      ));
    } catch (e) {
      // A renewal that got no answer leaves the connection in doubt: the next one opens a fresh one.
      this.dropLeaseClient(client);
      throw e;
    }
    const outcomes = rows.map((r) => {
      const epoch = Number(r.epoch);
      const lease = this.held.get(r.execution_id);
      if (r.renewed) {
        if (lease && lease.epoch === epoch && !lease.lost) {
          lease.confirmedAt = Math.max(lease.confirmedAt, sentAt);
          lease.ttlMs = ttlMs;
        }
        return { executionId: r.execution_id, epoch, renewed: true, lost: false, why: '' };
      }
      const current = r.current === null ? null : Number(r.current);
      // Released under this very epoch: the execution finished here; nothing was lost.
      const lost = !(r.released && current === epoch && r.owner === owner);
      const why = `lease of execution ${r.execution_id} at epoch ${epoch} is gone (now ${current === null ? 'no lease' : `epoch ${current} of ${r.owner}${r.released ? ', released' : ''}`}): stop working on it`;
      if (lost) this.lose(r.execution_id, `journal write for execution ${r.execution_id} refused: written under lease epoch ${epoch} of ${owner}, but the lease is now ${current === null ? 'gone' : `epoch ${current} of ${r.owner}`}. Another engine took this execution over; this writer must stop writing for it.`);
      return { executionId: r.execution_id, epoch, renewed: false, lost, why };
    });
    for (const o of outcomes) this.confirmed(o.executionId);
    return outcomes;
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
    const lease = this.held.get(executionId);
    if (!lease) return null;
    if (lease.lost) return lease.lost;
    const since = this.monotonic() - lease.confirmedAt;
    const limit = lease.ttlMs * (1 - LEASE_SAFETY_MARGIN);
    return since < limit
      ? null
      : `lease of execution ${executionId} (epoch ${lease.epoch}) not confirmed for ${Math.round(since)} ms (sending stops after ${Math.round(limit)} ms of a ${lease.ttlMs} ms lease): another engine may soon take it over`;
  }

  /**
   * Resolves at the next renewal outcome for the execution (at once if it holds no lease or lost
   * it): what a send that found its lease unconfirmed waits for before it looks again.
   *
   * @example
   * if (store.fencedFor(executionId)) await Promise.race([store.confirmation(executionId), timeout(ttlMs)]);
   */
  confirmation(executionId: string): Promise<void> {
    const lease = this.held.get(executionId);
    if (!lease || lease.lost) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.confirmations.get(executionId) ?? [];
      list.push(resolve);
      this.confirmations.set(executionId, list);
    });
  }

  private confirmed(executionId: string): void {
    const list = this.confirmations.get(executionId);
    if (!list) return;
    this.confirmations.delete(executionId);
    for (const resolve of list) resolve();
  }

  /** A pooled query, with the monotonic time it was sent at (after any wait for a connection). */
  private async timedQuery<T extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<{ rows: T[]; sentAt: number }> {
    const client = await this.pool.connect();
    try {
      const sentAt = this.monotonic();
      const { rows } = await client.query<T>(text, values);
      return { rows, sentAt };
    } finally {
      client.release();
    }
  }

  /** The lease connection, opened on first use and again after a failure. */
  private leaseConnection(): Promise<pg.Client> {
    if (this.leaseClient) return this.leaseClient;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS });
    const opening = client.connect().then(
      () => client,
      (e: unknown) => {
        if (this.leaseClient === opening) this.leaseClient = null;
        throw e;
      },
    );
    client.on('error', () => this.dropLeaseClient(client));
    client.on('end', () => this.dropLeaseClient(client));
    this.leaseClient = opening;
    return opening;
  }

  private dropLeaseClient(client: pg.Client): void {
    void this.leaseClient?.then((c) => {
      if (c === client) this.leaseClient = null;
    }, () => undefined);
    client.end().catch(() => undefined);
  }

  /**
   * Ends a finished execution's lease (it is never taken over); records for the execution are then
   * accepted from any instance (a resolution, for instance).
   *
   * @example
   * await store.releaseLease(executionId, 'engine-a', epoch);
   */
  async releaseLease(executionId: string, owner: string, epoch: number): Promise<void> {
    this.usable();
    await this.flush(); // the execution's last records are written under the lease
    const { rowCount } = await this.pool.query('UPDATE warden_leases SET released = true, updated_at = now() WHERE execution_id = $1 AND owner = $2 AND epoch = $3 AND NOT released', [executionId, owner, epoch]);
    // A lease this instance lost stays known as lost: later writes for the execution keep its old epoch.
    const mine = this.held.get(executionId)?.epoch === epoch;
    if (rowCount === 1 && mine) this.held.delete(executionId);
    else if (mine) this.lose(executionId, `journal write for execution ${executionId} refused: its lease at epoch ${epoch} of ${owner} was taken over or released elsewhere; this writer must stop writing for it.`);
    if (rowCount !== 1) throw new PostgresStoreError('lease_lost', `lease of execution ${executionId} at epoch ${epoch} of ${owner} is not held: it was taken over or released`);
  }

  /**
   * Leases whose time has passed (database clock) and that were not released: executions whose
   * engine stopped renewing, candidates for {@link takeOver}.
   *
   * @example
   * for (const lease of await store.expiredLeases()) await store.takeOver(lease.executionId, 'engine-b');
   */
  async expiredLeases(): Promise<Lease[]> {
    this.usable();
    const { rows } = await this.pool.query<{ execution_id: string; owner: string; epoch: string; expires_at: Date }>(
      'SELECT execution_id, owner, epoch, expires_at FROM warden_leases WHERE NOT released AND expires_at <= now() ORDER BY expires_at',
    );
    return rows.map((r) => ({ executionId: r.execution_id, owner: r.owner, epoch: Number(r.epoch), expiresAt: r.expires_at.toISOString() }));
  }

  /**
   * Takes over an execution whose lease expired: the epoch goes up by one, so every later journal
   * write of the previous owner is refused (`JournalError('fenced')`). Throws `lease_live` if the
   * lease has not expired, `no_lease` if there is none, both without changing anything.
   *
   * @example
   * const epoch = await store.takeOver(executionId, 'engine-b');
   */
  async takeOver(executionId: string, newOwner: string, ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<number> {
    this.usable();
    checkTtl(ttlMs);
    const { rows, sentAt } = await this.timedQuery<{ epoch: string }>(
      `UPDATE warden_leases SET owner = $2, epoch = epoch + 1, expires_at = now() + $3 * interval '1 millisecond', updated_at = now()
        WHERE execution_id = $1 AND NOT released AND expires_at <= now() RETURNING epoch`,
      [executionId, newOwner, ttlMs],
    );
    const row = rows[0];
    if (!row) {
      const current = await this.lease(executionId);
      if (!current) throw new PostgresStoreError('no_lease', `execution ${executionId} has no lease to take over`);
      if (current.released) throw new PostgresStoreError('no_lease', `execution ${executionId}'s lease was released by ${current.owner}: the execution finished, there is nothing to take over`);
      throw new PostgresStoreError('lease_live', `execution ${executionId} is still leased by ${current.owner} (epoch ${current.epoch}) until ${current.expiresAt}: it can be taken over only after that`);
    }
    const epoch = Number(row.epoch);
    this.held.set(executionId, { owner: newOwner, epoch, ttlMs, confirmedAt: sentAt, lost: null });
    return epoch;
  }

  /**
   * The lease of an execution (live, expired or released), or null.
   *
   * @example
   * const lease = await store.lease(executionId);
   */
  async lease(executionId: string): Promise<(Lease & { readonly released: boolean }) | null> {
    const { rows } = await this.pool.query<{ execution_id: string; owner: string; epoch: string; expires_at: Date; released: boolean }>('SELECT * FROM warden_leases WHERE execution_id = $1', [executionId]);
    const r = rows[0];
    return r ? { executionId: r.execution_id, owner: r.owner, epoch: Number(r.epoch), expiresAt: r.expires_at.toISOString(), released: r.released } : null;
  }

  // ---- Life ------------------------------------------------------------------------------

  /** Commits what is pending (if it can), stops every kill switch watch and closes the connections. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush().catch(() => undefined);
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    for (const w of [...this.watches]) await w.stop();
    const client = this.writerClient;
    this.writerClient = null;
    await client?.end().catch(() => undefined);
    const leaseClient = this.leaseClient;
    this.leaseClient = null;
    await leaseClient?.then((c) => c.end()).catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  private usable(): void {
    if (this.closed) throw new PostgresStoreError('closed', 'the PostgreSQL store is closed');
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new PostgresStoreError('invalid_option', `a lease needs a positive ttlMs, got ${String(ttlMs)}`);
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** A connection holding this writer's session lock: one live connection writes a writer id at a time. */
async function openWriterConnection(url: string, writer: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS });
  client.on('error', () => undefined); // replaced by the store's handler; a lost connection is reopened on the next batch
  try {
    await client.connect();
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [ADVISORY_LOCK_NAMESPACE, writer]);
    if (!rows[0]?.locked) {
      throw new JournalError('locked', `writer ${writer} is in use by another live connection to this database; give each engine instance its own writer id`);
    }
    return client;
  } catch (e) {
    await client.end().catch(() => undefined);
    if (e instanceof JournalError) throw e;
    throw new JournalError(unreachable(e) ? 'unavailable' : 'unreadable', `cannot connect to PostgreSQL at ${redact(url)}: ${describe(e)}; check that the server runs and the URL is right`);
  }
}

/** Loads and verifies this writer's chain; a broken one is refused. */
async function loadChain(client: pg.Client, writer: string): Promise<StoredRecord[]> {
  const { rows } = await client.query<RecordRow>('SELECT * FROM warden_records WHERE writer_id = $1 ORDER BY writer_sequence', [writer]);
  const chain = rows.map(toStoredRecord);
  const check = verifyChain(chain);
  if (!check.ok) {
    throw new JournalError('chain_broken', `writer ${writer}'s journal chain fails verification at its record ${check.brokenAt}: it was edited or damaged; refusing to append to it`, check.brokenAt);
  }
  return chain;
}

/** The first record of `page` that breaks the chain continuing from `previous` (null: intact). */
function checkPage(page: StoredRecord[], previous: StoredRecord | null): StoredRecord | null {
  const check = verifyChain(page, { segment: previous !== null });
  if (previous !== null) {
    const first = page[0]!;
    if (first.previousHash !== previous.hash || first.sequence !== previous.sequence + 1) return first;
  }
  if (check.ok) return null;
  return page.find((r) => r.sequence === check.brokenAt) ?? page[0]!;
}
