/**
 * The fleet kill switch's rows: each change is written (history kept) and announced with
 * `pg_notify` in one transaction, under a lock that orders changes of every engine. A change goes
 * out as ONE simple query on a connection of its own: no pooled claim or read queues ahead of it,
 * and it costs one round trip (PostgreSQL runs the statements between two transaction commands of
 * one simple query as one transaction, rolled back whole on any error).
 *
 * A change to `active` is announced before its WAL is on disk: its transaction commits without
 * waiting for the flush (`synchronous_commit = off`), so PostgreSQL delivers the notification at
 * once, and a second transaction in the same query writes a WAL record and commits synchronously,
 * which flushes the WAL up to and past the first: the setter's answer still comes only once the
 * change is durable. The notification no longer waits for an fsync (a few ms here, tens at its
 * tail, more behind the engines' own journal commits). What this allows: if PostgreSQL crashes in
 * the few ms between the two commits, the change is lost after some engines heard it; they keep
 * holding it (a scope's change id only grows on an engine, see `killSwitchWatch`), the setter gets
 * no answer and says so, and nothing is lifted — `active` is the strictest state, so an early
 * announcement can only halt too much, never too little. Every other change (`warning`, `off`) is
 * announced only once durable, as before: a lifting heard early and then lost would lift the fleet
 * against the store.
 */
import type pg from 'pg';
import type { Clock } from '../../domain/clock.js';
import { KillSwitchState } from '../../domain/constants.js';
import { KillSwitchBoard, type KillSwitchChange } from '../../engine/killSwitch.js';
import { dedicatedClient } from './connection.js';
import { ADVISORY_LOCK_NAMESPACE, KILL_SWITCH_CHANNEL, KILL_SWITCH_LOCK } from './schema.js';
import type { FleetKillSwitchRequest, StoredKillSwitchChange } from './types.js';

/**
 * The change's statements. The lock is taken first; the scope's `from` is read after it (under
 * READ COMMITTED each statement takes a fresh snapshot, so it sees every change committed before
 * the lock was granted). The simple protocol takes no parameters: every value was validated by
 * the engine's rules and goes in as a literal escaped by the driver. The notification names the
 * change (id, scope, state, type), so listeners can apply it before they read the rows.
 */
function changeStatements(client: pg.Client, writer: string, change: KillSwitchChange): string {
  const lit = (v: string | null) => (v === null ? 'NULL' : client.escapeLiteral(v));
  const symbol = lit(change.symbol);
  const write = `SELECT pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${KILL_SWITCH_LOCK});
    WITH inserted AS (
      INSERT INTO warden_kill_switch_changes (at, symbol, from_state, to_state, type, reason, operator, writer_id)
      SELECT ${lit(change.at)}, ${symbol},
             coalesce((SELECT to_state FROM warden_kill_switch_changes WHERE coalesce(symbol, '') = coalesce(${symbol}, '') ORDER BY id DESC LIMIT 1), 'off'),
             ${lit(change.to)}, ${lit(change.type)}, ${lit(change.reason)}, ${lit(change.operator)}, ${lit(writer)}
      RETURNING id, symbol, from_state, to_state, type)
    SELECT id, from_state, pg_notify(${lit(KILL_SWITCH_CHANNEL)}, json_build_object('id', id, 'symbol', symbol, 'to', to_state, 'type', type)::text)
      FROM inserted;`;
  if (!announcedBeforeFlush(change.to)) return write;
  // The change commits without waiting for its flush (its notification goes out at that commit);
  // the second transaction's WAL record makes its synchronous commit flush the WAL past the first.
  return `BEGIN; SET LOCAL synchronous_commit = off; ${write} COMMIT;
    BEGIN; SET LOCAL synchronous_commit = on; SELECT pg_logical_emit_message(true, 'warden', 'kill switch change durable'); COMMIT;`;
}

/** Whether a change to `state` is announced before its WAL flush (see the file's head): only the strictest state. */
export const announcedBeforeFlush = (state: KillSwitchState): boolean => state === KillSwitchState.Active;

/** What a change reads, run once when its connection opens. */
const WARM_UP = `SELECT to_state FROM warden_kill_switch_changes WHERE coalesce(symbol, '') = '' ORDER BY id DESC LIMIT 1`;

/** Writes the fleet's kill switch changes of one store instance, on a connection of their own. */
export class KillSwitchWriter {
  /** The connection once open (changes are sent on it at once, in the caller's turn). */
  private client: pg.Client | null = null;
  private opening: Promise<pg.Client> | null = null;

  constructor(private readonly url: string) {}

  /** Opens the connection (at connect, so the first change does not pay for it); again after a failure. */
  open(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.opening) return this.opening;
    const client = dedicatedClient(this.url);
    client.on('error', () => this.drop(client));
    client.on('end', () => this.drop(client));
    // A first read of the table warms the new server process (its catalog caches, the index): the
    // first change, often the urgent one, does not pay for it.
    const opening = client.connect().then(() => client.query(WARM_UP)).then(
      () => {
        if (this.opening === opening) {
          this.opening = null;
          this.client = client;
        }
        return client;
      },
      (e: unknown) => {
        if (this.opening === opening) this.opening = null;
        client.end().catch(() => undefined);
        throw e;
      },
    );
    this.opening = opening;
    return opening;
  }

  /**
   * Validates the change like `engine.killSwitch.set` (throws WardenUsageError), writes it and
   * announces it; resolves once durable. With the connection open, the change is on the wire before
   * this returns.
   */
  set(writer: string, clock: Clock, request: FleetKillSwitchRequest): Promise<StoredKillSwitchChange> {
    const { state, ...options } = request;
    const change = new KillSwitchBoard(() => clock.now()).set(state, options);
    const send = (client: pg.Client) => {
      return client.query(changeStatements(client, writer, change)).then(
        (results) => {
          // The change's row: the one result that returns an id (the other statements return none, or other columns).
          const all = (Array.isArray(results) ? results : [results]) as pg.QueryResult<{ id?: string; from_state?: KillSwitchState }>[];
          const row = all.find((r) => r.rows[0]?.id !== undefined && r.rows[0]?.from_state !== undefined)!.rows[0] as { id: string; from_state: KillSwitchState };
          return { ...change, from: row.from_state, id: Number(row.id) };
        },
        (e: unknown) => {
          // No answer leaves the connection in doubt: the next change opens a fresh one.
          if (!(e instanceof Error && 'code' in e && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code))) this.drop(client);
          // An error inside an explicit transaction of the query leaves that transaction aborted on
          // the connection: ended before the next change (queued ahead of it; outside one, a warning).
          else if (announcedBeforeFlush(change.to)) client.query('ROLLBACK').catch(() => this.drop(client));
          throw e;
        },
      );
    };
    return this.client ? send(this.client) : this.open().then(send);
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    const client = this.client ?? (await this.opening?.catch(() => null)) ?? null;
    this.client = null;
    this.opening = null;
    await client?.end().catch(() => undefined);
  }

  private drop(client: pg.Client): void {
    if (this.client === client) this.client = null;
    client.end().catch(() => undefined);
  }
}

/** Every kill switch change of the fleet, oldest first. */
export async function readKillSwitchHistory(pool: pg.Pool): Promise<StoredKillSwitchChange[]> {
  const { rows } = await pool.query<{ id: string; at: string; symbol: string | null; from_state: KillSwitchState; to_state: KillSwitchState; type: KillSwitchChange['type']; reason: string; operator: string }>(
    'SELECT * FROM warden_kill_switch_changes ORDER BY id',
  );
  return rows.map((r) => ({ id: Number(r.id), at: r.at, symbol: r.symbol, from: r.from_state, to: r.to_state, type: r.type, reason: r.reason, operator: r.operator }));
}
