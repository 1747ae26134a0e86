/**
 * The PostgreSQL schema of a Warden store, created idempotently and versioned in
 * `warden_migrations`. A database written by a newer Warden (a higher version than this code
 * knows) is refused, never migrated or written to.
 */
import type pg from 'pg';
import { JournalError } from '../../journal/types.js';

/**
 * The schema version this code writes and reads.
 *
 * @example
 * const { rows } = await client.query('SELECT max(version) AS v FROM warden_migrations');
 * rows[0].v === POSTGRES_SCHEMA_VERSION; // true once PostgresStore.connect has run
 */
export const POSTGRES_SCHEMA_VERSION = 3;

/**
 * First key of every advisory lock Warden takes (PostgreSQL's two-key form), so its locks never
 * collide with an application's own.
 */
export const ADVISORY_LOCK_NAMESPACE = 0x5741_5244; // 'WARD'
/** Second key of the lock that serialises migrations. */
const MIGRATION_LOCK = 1;
/** Second key of the lock that serialises journal batches: commit order is global order. */
export const JOURNAL_ORDER_LOCK = 2;
/** Second key of the lock that serialises kill switch changes (so `from` is always right). */
export const KILL_SWITCH_LOCK = 3;
/** Notification channel of kill switch changes. */
export const KILL_SWITCH_CHANNEL = 'warden_kill_switch';

/** Migrations by version; each runs once, in its own transaction, under the migration lock. */
const MIGRATIONS: Readonly<Record<number, string>> = {
  1: `
    CREATE TABLE warden_records (
      global_sequence bigserial PRIMARY KEY,
      writer_id text NOT NULL,
      writer_sequence bigint NOT NULL,
      at text NOT NULL,
      kind text NOT NULL,
      execution_id text,
      advisory_id text,
      snapshot_hash text,
      from_state text,
      to_state text,
      event text,
      payload text NOT NULL,
      previous_hash text NOT NULL,
      hash text NOT NULL,
      epoch bigint,
      UNIQUE (writer_id, writer_sequence)
    );
    CREATE INDEX warden_records_by_advisory ON warden_records (advisory_id);
    CREATE INDEX warden_records_by_execution ON warden_records (execution_id);
    CREATE INDEX warden_records_by_kind ON warden_records (kind);

    CREATE TABLE warden_claims (
      advisory_id text PRIMARY KEY,
      execution_id text NOT NULL,
      client_order_id text NOT NULL UNIQUE,
      deadline_at text NOT NULL,
      snapshot jsonb NOT NULL,
      broker text NOT NULL,
      writer_id text NOT NULL,
      claimed_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE warden_kill_switch_changes (
      id bigserial PRIMARY KEY,
      at text NOT NULL,
      symbol text,
      from_state text NOT NULL,
      to_state text NOT NULL CHECK (to_state IN ('off', 'warning', 'active')),
      type text NOT NULL,
      reason text NOT NULL,
      operator text NOT NULL,
      writer_id text NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX warden_kill_switch_by_scope ON warden_kill_switch_changes (coalesce(symbol, ''), id DESC);

    CREATE TABLE warden_leases (
      execution_id text PRIMARY KEY,
      owner text NOT NULL,
      epoch bigint NOT NULL,
      expires_at timestamptz NOT NULL,
      released boolean NOT NULL DEFAULT false,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX warden_leases_expiring ON warden_leases (expires_at) WHERE NOT released;
  `,
  // Rule 4's deadline on the database's clock, so an engine taking an execution over measures what
  // is left of the window on the one clock the fleet shares.
  2: `
    ALTER TABLE warden_claims ADD COLUMN deadline_db timestamptz;
  `,
  // The fleet's position ledger and limits (ledger.ts): one row per execution admitted by its
  // limits, the settled fills summed per symbol, and the operators' tightenings for every engine.
  3: `
    CREATE TABLE warden_positions (
      execution_id text PRIMARY KEY,
      symbol text NOT NULL,
      side text NOT NULL CHECK (side IN ('buy', 'sell')),
      size double precision NOT NULL,
      filled double precision NOT NULL DEFAULT 0,
      settled boolean NOT NULL DEFAULT false,
      sent boolean NOT NULL DEFAULT true,
      writer_id text NOT NULL,
      admitted_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX warden_positions_open ON warden_positions (symbol) WHERE NOT settled;
    CREATE INDEX warden_positions_admitted ON warden_positions (admitted_at);
    CREATE TABLE warden_position_totals (
      symbol text PRIMARY KEY,
      settled_net double precision NOT NULL DEFAULT 0
    );
    CREATE TABLE warden_limit_changes (
      id bigserial PRIMARY KEY,
      change jsonb NOT NULL,
      operator text NOT NULL,
      reason text NOT NULL,
      writer_id text NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    );
  `,
};

/**
 * Brings the database to {@link POSTGRES_SCHEMA_VERSION}: creates what is missing, once, however
 * many processes connect at the same moment. Throws `JournalError('unsupported_schema')` for a
 * database written by a newer Warden.
 */
export async function ensureSchema(client: pg.ClientBase): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_LOCK_NAMESPACE, MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS warden_migrations (
      version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM warden_migrations');
    const current = rows[0]?.v ?? 0;
    if (current > POSTGRES_SCHEMA_VERSION) {
      throw new JournalError(
        'unsupported_schema',
        `this database holds Warden store schema version ${current}, and this Warden knows versions up to ${POSTGRES_SCHEMA_VERSION}: ` +
          'upgrade Warden to use it; nothing was changed',
      );
    }
    for (let version = current + 1; version <= POSTGRES_SCHEMA_VERSION; version++) {
      const ddl = MIGRATIONS[version];
      if (ddl === undefined) throw new Error(`missing migration ${version}`);
      await client.query(ddl);
      await client.query('INSERT INTO warden_migrations (version) VALUES ($1)', [version]);
    }
    await client.query('COMMIT');
    return POSTGRES_SCHEMA_VERSION;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
