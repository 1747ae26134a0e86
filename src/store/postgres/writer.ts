/**
 * This instance's journal writer: it chains each record at once into its writer's chain and writes
 * everything appended so far in ONE round trip (group commit; `batch.ts`) on a connection that
 * holds the writer's lock, checking the lease epoch of every execution in the batch (fencing). While the
 * server is out of reach, what is queued stays queued, in order, and is written when it is back.
 */
import type pg from 'pg';
import type { Clock } from '../../domain/clock.js';
import { chainPlainRecord, chainRecord, GENESIS_HASH } from '../../journal/hashChain.js';
import type { WriterCheckpoints } from './checkpoints.js';
import { JournalError, type JournalEntry, type JournalRecord } from '../../journal/types.js';
import { dedicatedClient, describe, redact, unreachable } from './connection.js';
import type { LeaseKeeper } from './leases.js';
import { restartSubset, type StoredRecord } from './records.js';
import { ADVISORY_LOCK_NAMESPACE } from './schema.js';
import { acceptedBy, adjustingResolutions, batchSql, latestLeaseClaims, type LeaseRow, type Pending } from './batch.js';

/** How long a batch waits before it is tried again while the server is out of reach (ms). */
const OUTAGE_RETRY_MS = 500;
/** How many times in a row a batch the server rolled back (deadlock victim, serialization) is sent again at once. */
const ROLLED_BACK_RETRIES = 5;
/** SQLSTATE class 40 (transaction rollback: deadlock_detected 40P01, serialization_failure 40001): nothing was written. */
const transactionRolledBack = (e: unknown) => ['40P01', '40001'].includes(String((e as { code?: unknown } | null)?.code));

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

/** The journal side of a PostgreSQL store: one writer id's chain, its batches and its connection. */
export class JournalWriter {
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
  /** Hash of the last record of a batch sent without an answer: committed whole or not at all. */
  private inDoubt: string | null = null;
  /** This process's writer session was lost: its lock may outlive it on the server for a while. */
  private lostSession = false;
  private closed = false;
  /** Writes a checkpoint every so many records (set by `PostgresStore.connect`); null: none. */
  checkpoints: WriterCheckpoints | null = null;

  constructor(
    private readonly url: string,
    readonly writer: string,
    private writerClient: pg.Client | null,
    private readonly clock: Clock,
    chain: StoredRecord[],
    /** Executions of this chain that another engine took over (or finished): not this writer's to resume. */
    private readonly elsewhere: ReadonlySet<string>,
    private readonly leases: LeaseKeeper,
  ) {
    this.view = chain;
    if (writerClient) this.adoptWriter(writerClient);
    const tail = chain.at(-1);
    this.last = tail?.hash ?? GENESIS_HASH;
    this.durableHash = this.last;
    this.nextSequence = (tail?.sequence ?? 0) + 1;
  }

  /**
   * Chains the record into this writer's chain at once and queues it for the next batch. A record
   * of an execution this instance leases carries the lease's epoch, checked when it is written.
   */
  append(entry: JournalEntry): JournalRecord {
    if (this.closed) throw new JournalError('unreadable', 'the PostgreSQL store is closed');
    if (this.failure) throw this.failure;
    const lease = entry.executionId === null ? undefined : this.leases.heldFor(entry.executionId);
    // A lease known lost: nothing more is written for the execution, whatever happened to it since.
    if (lease?.lost) throw new JournalError('fenced', lease.lost);
    // A checkpoint's lists are kept whole (chainRecord's payload would cut them).
    const chained = (entry.kind === 'checkpoint' ? chainPlainRecord : chainRecord)(entry, this.nextSequence, new Date(this.clock.now()).toISOString(), this.last);
    const record: StoredRecord = { ...chained, writer: this.writer, globalSequence: null, epoch: lease?.epoch ?? null };
    this.pending.push({ record, owner: lease?.owner ?? null });
    this.view.push(record);
    this.last = record.hash;
    this.nextSequence++;
    if (this.scheduled === null && this.inFlight === null) this.scheduled = setImmediate(() => this.writeNext());
    const due = this.checkpoints?.after(record);
    if (due) this.append(due);
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
      const outcome = code === 'unreadable' ? 'nothing of this batch was written' : this.inDoubt === null ? 'nothing of this batch was written yet (it is tried again)' : 'whether it was written is settled when the server answers again (the chain’s tail tells; it is not written twice)';
      throw new JournalError(code, `the PostgreSQL store could not write ${batch.length} journal record(s): ${describe(e)}; ${outcome}`);
    }
  }

  /**
   * ONE round trip, one implicit transaction (a simple query of three statements): the global-order
   * lock, the lease rows of the batch's executions (shared), and every row of the batch — inserted
   * only if each execution's lease is still the one its records were appended under. No lock
   * outlives the round trip: a process frozen while its batch is out holds nothing the fleet waits
   * on, and at 150 ms from the database the order lock is held for the server's own work, not for
   * five round trips. A batch whose answer is lost is in doubt until the chain's tail says whether
   * it was committed (see `writerConnection`).
   */
  private async insertBatch(appended: Pending[]): Promise<void> {
    const leased = appended.map((p) => this.underLease(p));
    let batch: Pending[];
    let claims: Map<string, Pending>;
    let results: pg.QueryResult[];
    let reconnected = false;
    let rolledBack = 0;
    for (;;) {
      const client = await this.writerConnection();
      // What an in-doubt batch committed is not written again.
      batch = this.afterCommitted(leased);
      if (batch.length === 0) return;
      claims = latestLeaseClaims(batch);
      const sql = batchSql(batch, claims, this.writer); // a refusal here is not an answer lost
      try {
        results = (await client.query(sql)) as unknown as pg.QueryResult[];
        break;
      } catch (e) {
        // The server refused a statement: the implicit transaction rolled back, nothing was written.
        // A deadlock (the engine's own renewal locks the lease rows in another order) or a
        // serialization failure is the server's choice of victim, not a refusal: the batch goes again.
        if (transactionRolledBack(e) && ++rolledBack <= ROLLED_BACK_RETRIES) continue;
        if (!unreachable(e)) throw e;
        // No answer: the batch may have been committed; the next connection's tail tells. A
        // connection lost while idle (a server restart) is reopened at once, once.
        this.inDoubt = batch.at(-1)!.record.hash;
        this.dropWriter(client);
        if (reconnected) throw e;
        reconnected = true;
      }
    }
    // The insert is the last statement, or the one before the resolutions' position adjustments.
    const inserted = results.at(adjustingResolutions(batch).length > 0 ? -2 : -1)!.rowCount ?? 0;
    if (claims.size > 0) this.checkFences(results[1]!.rows as LeaseRow[], claims, inserted);
    if (inserted !== batch.length) {
      // A lease granted between the statements' snapshots: nothing was written; the batch is tried again.
      throw new JournalError('unavailable', `a lease of this batch changed while it was written; nothing of its ${batch.length} record(s) was written yet (it is tried again)`);
    }
    this.durableHash = batch.at(-1)!.record.hash;
  }

  /** The batch without the records an in-doubt batch turned out to have committed. */
  private afterCommitted(batch: Pending[]): Pending[] {
    const through = batch.findIndex((p) => p.record.hash === this.durableHash);
    return through < 0 ? batch : batch.slice(through + 1);
  }

  /**
   * A record appended before its execution's lease was granted is written under that lease: the
   * epoch is the one this instance holds (or lost) when it writes, so no record of a leased
   * execution ever goes out without one. (The epoch is not part of the record's hash.)
   */
  private underLease(p: Pending): Pending {
    if (p.record.epoch !== null || p.record.executionId === null) return p;
    const lease = this.leases.heldFor(p.record.executionId);
    return lease ? { record: { ...p.record, epoch: lease.epoch }, owner: lease.owner } : p;
  }

  /**
   * Refuses the batch if any execution's lease is no longer the one its records were appended
   * under. The database applied the same rule (`batchSql`) and inserted nothing; this names why.
   */
  private checkFences(rows: readonly LeaseRow[], claims: ReadonlyMap<string, Pending>, inserted: number): void {
    const refusals: string[] = [];
    for (const row of rows) {
      const p = claims.get(row.execution_id);
      if (!p) continue;
      const epoch = Number(row.epoch);
      if (acceptedBy(row, p, this.writer)) continue;
      const mine = p.record.epoch === null ? 'without a lease' : `under lease epoch ${p.record.epoch} of ${p.owner}`;
      const why =
        `journal write for execution ${row.execution_id} refused: written ${mine}, but the lease is now epoch ${epoch} of ${row.owner}${row.released ? ' (released)' : ''}. ` +
        'Another engine took this execution over; this writer must stop writing for it.';
      this.leases.lose(row.execution_id, why);
      refusals.push(why);
    }
    if (refusals.length === 0) return;
    if (inserted !== 0) {
      throw new JournalError('unreadable', `the database wrote ${inserted} journal record(s) its lease rows refuse (${refusals.join(' ')}); this store refuses further appends`);
    }
    throw new JournalError('fenced', `${refusals.join(' ')} Nothing of this batch was written.`);
  }

  /**
   * The writer connection, reopened (lock retaken, chain tail checked) if it was lost. The tail
   * settles a batch in doubt: it ends either where this process last knew it to end (nothing was
   * written: the batch goes again) or at the batch's last record (it was committed, whole).
   */
  private async writerConnection(): Promise<pg.Client> {
    if (this.writerClient) return this.writerClient;
    let client: pg.Client;
    try {
      client = await openWriterConnection(this.url, this.writer);
    } catch (e) {
      // Once this process lost its writer session (a batch in doubt, or a connection that ended while
      // idle), the writer's lock may still be held by that session until the server notices it is
      // gone (a cut the server did not see lasts until its TCP keepalive gives up): an outage, tried again.
      if ((this.inDoubt !== null || this.lostSession) && e instanceof JournalError && e.code === 'locked') throw new JournalError('unavailable', `${e.message} (this process's own lost session may not have ended yet; tried again)`);
      throw e;
    }
    try {
      const { rows } = await client.query<{ hash: string }>('SELECT hash FROM warden_records WHERE writer_id = $1 ORDER BY writer_sequence DESC LIMIT 1', [this.writer]);
      const tail = rows[0]?.hash ?? GENESIS_HASH;
      if (this.inDoubt !== null && tail === this.inDoubt) this.durableHash = tail;
      if (tail !== this.durableHash) {
        throw new JournalError('chain_broken', `writer ${this.writer}'s chain in the database does not end where this process last wrote it: another process wrote under this id, or records were removed`);
      }
      this.inDoubt = null;
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    this.adoptWriter(client);
    return client;
  }

  private adoptWriter(client: pg.Client): void {
    this.writerClient = client;
    this.lostSession = false;
    client.on('error', () => this.dropWriter(client));
    client.on('end', () => this.dropWriter(client));
  }

  private dropWriter(client: pg.Client): void {
    if (this.writerClient === client) {
      this.writerClient = null;
      this.lostSession = true;
    }
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

  /** Commits what is pending (if it can), then refuses appends and closes the writer connection. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    const client = this.writerClient;
    this.writerClient = null;
    await client?.end().catch(() => undefined);
  }
}

/** A connection holding this writer's session lock: one live connection writes a writer id at a time. */
export async function openWriterConnection(url: string, writer: string): Promise<pg.Client> {
  const client = dedicatedClient(url);
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

