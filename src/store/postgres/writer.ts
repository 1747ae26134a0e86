/**
 * This instance's journal writer: it chains each record at once into its writer's chain and writes
 * everything appended so far in ONE transaction (group commit) on a connection that holds the
 * writer's lock, after checking the lease epoch of every execution in the batch (fencing). While the
 * server is out of reach, what is queued stays queued, in order, and is written when it is back.
 */
import type pg from 'pg';
import type { Clock } from '../../domain/clock.js';
import { chainRecord, GENESIS_HASH, verifyChain } from '../../journal/hashChain.js';
import { JournalError, type JournalEntry, type JournalRecord } from '../../journal/types.js';
import { dedicatedClient, describe, redact, unreachable } from './connection.js';
import type { LeaseKeeper } from './leases.js';
import { RECORD_COLUMNS, recordValues, restartSubset, toStoredRecord, type RecordRow, type StoredRecord } from './records.js';
import { ADVISORY_LOCK_NAMESPACE, JOURNAL_ORDER_LOCK } from './schema.js';

/** Records per INSERT statement (14 parameters each, well under PostgreSQL's 65,535). */
const ROWS_PER_INSERT = 1_000;
/** How long a batch waits before it is tried again while the server is out of reach (ms). */
const OUTAGE_RETRY_MS = 500;

interface Pending {
  readonly record: StoredRecord;
  /** The lease owner the record was appended under (fencing), or null. */
  readonly owner: string | null;
}

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
  private closed = false;

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
    const lease = this.leases.heldFor(p.record.executionId);
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
      this.leases.lose(row.execution_id, why);
      refusals.push(why);
    }
    if (refusals.length > 0) throw new JournalError('fenced', `${refusals.join(' ')} Nothing of this batch was written.`);
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

/** Loads and verifies this writer's chain; a broken one is refused. */
export async function loadChain(client: pg.Client, writer: string): Promise<StoredRecord[]> {
  const { rows } = await client.query<RecordRow>('SELECT * FROM warden_records WHERE writer_id = $1 ORDER BY writer_sequence', [writer]);
  const chain = rows.map(toStoredRecord);
  const check = verifyChain(chain);
  if (!check.ok) {
    throw new JournalError('chain_broken', `writer ${writer}'s journal chain fails verification at its record ${check.brokenAt}: it was edited or damaged; refusing to append to it`, check.brokenAt);
  }
  return chain;
}
