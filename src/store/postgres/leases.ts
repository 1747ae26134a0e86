/**
 * Execution leases and fencing epochs: who runs an execution, under which epoch, until when (by
 * the database's clock). Renewals go through a connection of their own, so no claim, journal batch
 * or takeover queues ahead of them; a lease not confirmed in time fences this instance by itself.
 */
import type pg from 'pg';
import { dedicatedClient, INTAKE_WAIT_MS, type GatedPool } from './connection.js';
import { PostgresStoreError } from './errors.js';
import type { ClaimedLease, Lease, LeaseRenewal } from './types.js';

/**
 * Default lease length (ms): an engine renews well within it; another may take over once it
 * has passed by the database's clock.
 *
 * @example
 * const epoch = await store.acquireLease(executionId, 'engine-a', DEFAULT_LEASE_TTL_MS);
 */
export const DEFAULT_LEASE_TTL_MS = 10_000;
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
  /** The database's time when it last granted or renewed the lease (what its expiry counts from). */
  confirmedDbAt: Date | null;
  lost: string | null;
}

/**
 * The leases of one store instance: what it holds (or lost), their renewals on the lease
 * connection, self-fencing and takeovers. The journal writer asks it which epoch a record carries.
 */
export class LeaseKeeper {
  /** Leases this instance holds (or lost): executionId → owner and epoch; appends for them carry the epoch. */
  private readonly held = new Map<string, HeldLease>();
  /** The connection lease renewals go through alone: no claim, record or takeover queues ahead of them. */
  private leaseClient: Promise<pg.Client> | null = null;
  /** Sends waiting for their lease's next renewal outcome, by execution. */
  private readonly confirmations = new Map<string, (() => void)[]>();

  constructor(
    private readonly url: string,
    private readonly pool: GatedPool,
    private readonly monotonic: () => number,
    /** Throws once the store is closed. */
    private readonly usable: () => void,
    /** Commits the store's pending journal records. */
    private readonly flush: () => Promise<void>,
  ) {}

  /** The lease this instance holds (or lost) for the execution: what its records are written under. */
  heldFor(executionId: string): { readonly owner: string; readonly epoch: number; readonly lost: string | null } | undefined {
    return this.held.get(executionId);
  }

  /** The database says another engine has the execution now: this instance never writes or sends for it again. */
  lose(executionId: string, why: string): void {
    const lease = this.held.get(executionId);
    if (lease && !lease.lost) lease.lost = why;
    this.confirmed(executionId);
  }

  async acquireLease(executionId: string, owner: string, ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<number> {
    this.usable();
    checkTtl(ttlMs);
    // Measured from when the query leaves (not from a wait for a pooled connection): the database's
    // expiry is later still, since it counts from when the statement ran there.
    // New work: through the pool's intake, behind what executions under way need.
    const { rows, sentAt } = await this.timedQuery<{ epoch: string; db_now: Date }>(
      this.pool.intake,
      `INSERT INTO warden_leases (execution_id, owner, epoch, expires_at) VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
       ON CONFLICT (execution_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, updated_at = now()
         WHERE warden_leases.owner = EXCLUDED.owner AND NOT warden_leases.released AND warden_leases.expires_at > now()
       RETURNING epoch, now() AS db_now`,
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
    this.held.set(executionId, { owner, epoch, ttlMs, confirmedAt: sentAt, confirmedDbAt: row.db_now, lost: null });
    return epoch;
  }

  /**
   * Writes `claim` (claims.ts' INSERT) and leases its execution to `owner` at epoch 1 in ONE
   * statement: one round trip of new work, through the pool's intake. The lease is inserted only
   * from the claim's own RETURNING row, so an instance that loses the race for the advisory learns
   * it in that round trip and is granted no lease. An execution that already has a lease (whoever
   * holds it) fails the statement whole: nothing is claimed either (`lease_held`).
   */
  async claimWithLease(claim: { readonly text: string; readonly values: readonly unknown[] }, executionId: string, owner: string, ttlMs: number): Promise<ClaimedLease> {
    this.usable();
    checkTtl(ttlMs);
    const n = claim.values.length;
    // It does the work of a lease grant and a claim, so it may wait in the intake what both could.
    const { rows, sentAt } = await this.timedQuery<{ epoch: string | null; db_now: Date }>(
      { connect: () => this.pool.intake.connectWithin(2 * INTAKE_WAIT_MS) },
      `WITH claim AS (${claim.text}),
       lease AS (INSERT INTO warden_leases (execution_id, owner, epoch, expires_at)
         SELECT execution_id, $${n + 1}, 1, now() + $${n + 2} * interval '1 millisecond' FROM claim RETURNING epoch)
       SELECT (SELECT epoch FROM lease) AS epoch, now() AS db_now`,
      [...claim.values, owner, ttlMs],
    ).catch(async (e: unknown) => {
      const { code, constraint } = (e ?? {}) as { code?: unknown; constraint?: unknown };
      if (code !== '23505' || constraint !== 'warden_leases_pkey') throw e;
      const current = await this.lease(executionId).catch(() => null);
      throw new PostgresStoreError('lease_held', `execution ${executionId} already has a lease (${current ? `epoch ${current.epoch} of ${current.owner}` : 'another engine\'s'}): nothing was claimed; a new execution needs an id of its own`);
    });
    const row = rows[0];
    if (!row || row.epoch === null) return { outcome: 'duplicate' };
    const epoch = Number(row.epoch);
    this.held.set(executionId, { owner, epoch, ttlMs, confirmedAt: sentAt, confirmedDbAt: row.db_now, lost: null });
    return { outcome: 'claimed', epoch };
  }

  async renewLease(executionId: string, owner: string, epoch: number, ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<void> {
    const [outcome] = await this.renewLeases(owner, [{ executionId, epoch }], ttlMs);
    if (outcome && !outcome.renewed) throw new PostgresStoreError('lease_lost', outcome.why);
  }

  async renewLeases(owner: string, leases: readonly { readonly executionId: string; readonly epoch: number }[], ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<LeaseRenewal[]> {
    this.usable();
    checkTtl(ttlMs);
    if (leases.length === 0) return [];
    const client = await this.leaseConnection();
    const sentAt = this.monotonic();
    let rows: { execution_id: string; epoch: string; renewed: boolean; owner: string | null; current: string | null; released: boolean | null; db_now: Date }[];
    try {
      ({ rows } = await client.query(
        // The rows are locked in execution id order first, as a journal batch locks them (FOR
        // SHARE): in any other order the two deadlock, and the server rolls one back after 1 s.
        `WITH mine AS (SELECT * FROM unnest($2::text[], $3::bigint[]) AS m(execution_id, epoch)),
         locked AS MATERIALIZED (SELECT l.execution_id FROM warden_leases l WHERE l.execution_id IN (SELECT execution_id FROM mine) ORDER BY l.execution_id COLLATE "C" FOR UPDATE OF l),
         renewed AS (
           UPDATE warden_leases l SET expires_at = now() + $4 * interval '1 millisecond', updated_at = now()
             FROM mine JOIN locked USING (execution_id) WHERE l.execution_id = mine.execution_id AND l.epoch = mine.epoch AND l.owner = $1 AND NOT l.released
           RETURNING l.execution_id)
         SELECT m.execution_id, m.epoch, (r.execution_id IS NOT NULL) AS renewed, l.owner, l.epoch AS current, l.released, now() AS db_now
           FROM mine m LEFT JOIN renewed r USING (execution_id) LEFT JOIN warden_leases l USING (execution_id)`,
        [owner, leases.map((l) => l.executionId), leases.map((l) => l.epoch), ttlMs],
      ));
      // Not renewed, yet still ours as the statement's snapshot saw it: another statement changed
      // the row meanwhile (this engine's own release, or a takeover). What it is now decides
      // between "released here" and "lost": read again, after it committed.
      const raced = rows.filter((r) => !r.renewed && r.owner === owner && Number(r.current) === Number(r.epoch) && r.released === false).map((r) => r.execution_id);
      if (raced.length > 0) {
        const { rows: now } = await client.query<{ execution_id: string; owner: string; epoch: string; released: boolean }>('SELECT execution_id, owner, epoch, released FROM warden_leases WHERE execution_id = ANY($1)', [raced]);
        for (const n of now) Object.assign(rows.find((r) => r.execution_id === n.execution_id)!, { owner: n.owner, current: n.epoch, released: n.released });
      }
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
          if (sentAt >= lease.confirmedAt) lease.confirmedDbAt = r.db_now;
          lease.confirmedAt = Math.max(lease.confirmedAt, sentAt);
          lease.ttlMs = ttlMs;
        }
        return { executionId: r.execution_id, epoch, renewed: true, lost: false, why: '' };
      }
      const current = r.current === null ? null : Number(r.current);
      // Released under this very epoch: the execution finished here; nothing was lost.
      const lost = !(r.released && current === epoch && r.owner === owner);
      const timeline = lease && lease.epoch === epoch ? this.timeline(lease, r.db_now) : '';
      const why = `lease of execution ${r.execution_id} at epoch ${epoch} is gone (now ${current === null ? 'no lease' : `epoch ${current} of ${r.owner}${r.released ? ', released' : ''}`}): stop working on it${timeline}`;
      if (lost) this.lose(r.execution_id, `journal write for execution ${r.execution_id} refused: written under lease epoch ${epoch} of ${owner}, but the lease is now ${current === null ? 'gone' : `epoch ${current} of ${r.owner}`}. Another engine took this execution over; this writer must stop writing for it.${timeline}`);
      return { executionId: r.execution_id, epoch, renewed: false, lost, why };
    });
    for (const o of outcomes) this.confirmed(o.executionId);
    return outcomes;
  }

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
   * How a lease was lost, on the database's clock: when it was last confirmed, when it expired there,
   * when this instance stopped sending for it, and when the refusal came.
   */
  private timeline(lease: HeldLease, refusedDbAt: Date): string {
    const last = lease.confirmedDbAt;
    if (last === null) return '';
    const limit = lease.ttlMs * (1 - LEASE_SAFETY_MARGIN);
    // The self-fence time on the database's clock: the last confirmed renewal was sent no later than it ran there.
    const fencedAt = new Date(last.getTime() + limit);
    const silentMs = Math.round(refusedDbAt.getTime() - last.getTime());
    return ` [timeline by the database's clock: last renewal confirmed ${last.toISOString()}, lease of ${lease.ttlMs} ms expired ${new Date(last.getTime() + lease.ttlMs).toISOString()}, sends stopped here from ${fencedAt.toISOString()} at the latest, refusal ${refusedDbAt.toISOString()}: ${silentMs} ms without a confirmed renewal]`;
  }

  confirmation(executionId: string): Promise<void> {
    const lease = this.held.get(executionId);
    if (!lease || lease.lost) return Promise.resolve();
    return new Promise((resolve) => {
      const list = this.confirmations.get(executionId) ?? [];
      list.push(resolve);
      this.confirmations.set(executionId, list);
    });
  }

  /** Wakes the sends waiting for this execution's renewal outcome. */
  private confirmed(executionId: string): void {
    const list = this.confirmations.get(executionId);
    if (!list) return;
    this.confirmations.delete(executionId);
    for (const resolve of list) resolve();
  }

  /** A pooled query, with the monotonic time it was sent at (after any wait for a connection). */
  private async timedQuery<T extends pg.QueryResultRow>(via: { connect(): Promise<pg.PoolClient> }, text: string, values: unknown[]): Promise<{ rows: T[]; sentAt: number }> {
    const client = await via.connect();
    try {
      const sentAt = this.monotonic();
      const { rows } = await client.query<T>(text, values);
      return { rows, sentAt };
    } finally {
      client.release();
    }
  }

  /** The lease connection, opened on first use (at connect, so a slow link does not eat the first lease) and again after a failure. */
  leaseConnection(): Promise<pg.Client> {
    if (this.leaseClient) return this.leaseClient;
    const client = dedicatedClient(this.url);
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

  async expiredLeases(): Promise<Lease[]> {
    this.usable();
    const { rows } = await this.pool.query<{ execution_id: string; owner: string; epoch: string; expires_at: Date }>(
      'SELECT execution_id, owner, epoch, expires_at FROM warden_leases WHERE NOT released AND expires_at <= now() ORDER BY expires_at',
    );
    return rows.map((r) => ({ executionId: r.execution_id, owner: r.owner, epoch: Number(r.epoch), expiresAt: r.expires_at.toISOString() }));
  }

  async takeOver(executionId: string, newOwner: string, ttlMs: number = DEFAULT_LEASE_TTL_MS): Promise<number> {
    this.usable();
    checkTtl(ttlMs);
    const { rows, sentAt } = await this.timedQuery<{ epoch: string; db_now: Date }>(
      this.pool,
      `UPDATE warden_leases SET owner = $2, epoch = epoch + 1, expires_at = now() + $3 * interval '1 millisecond', updated_at = now()
        WHERE execution_id = $1 AND NOT released AND expires_at <= now() RETURNING epoch, now() AS db_now`,
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
    this.held.set(executionId, { owner: newOwner, epoch, ttlMs, confirmedAt: sentAt, confirmedDbAt: row.db_now, lost: null });
    return epoch;
  }

  async lease(executionId: string): Promise<(Lease & { readonly released: boolean }) | null> {
    const { rows } = await this.pool.query<{ execution_id: string; owner: string; epoch: string; expires_at: Date; released: boolean }>('SELECT * FROM warden_leases WHERE execution_id = $1', [executionId]);
    const r = rows[0];
    return r ? { executionId: r.execution_id, owner: r.owner, epoch: Number(r.epoch), expiresAt: r.expires_at.toISOString(), released: r.released } : null;
  }

  /** Closes the lease connection. */
  async close(): Promise<void> {
    const leaseClient = this.leaseClient;
    this.leaseClient = null;
    await leaseClient?.then((c) => c.end()).catch(() => undefined);
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new PostgresStoreError('invalid_option', `a lease needs a positive ttlMs, got ${String(ttlMs)}`);
}
