/**
 * Advisory claims: one execution per advisory (and per clientOrderId), ever, for every engine that
 * shares the store; the deadline is kept again on the database's clock so a taker reads what is
 * left of the window whatever its own clock says.
 */
import type pg from 'pg';
import type { Clock } from '../../domain/clock.js';
import { PostgresStoreError } from './errors.js';
import type { ClaimRequest, StoredClaim } from './types.js';

/** The longest window a claim's deadline may have on the database's clock (rule 4's 30 s). */
const HARD_WINDOW_MS = 30_000;

/**
 * The claim's INSERT (checked): nothing is written, and no row returned, when the advisory, execution
 * or clientOrderId is already claimed; else it returns the execution id. Run alone (`insertClaim`)
 * or as the first step of the statement that also grants the execution's lease (`LeaseKeeper`).
 */
export function claimInsert(writer: string, clock: Clock, request: ClaimRequest): { readonly text: string; readonly values: unknown[] } {
  for (const key of ['advisoryId', 'executionId', 'clientOrderId', 'broker'] as const) {
    if (typeof request[key] !== 'string' || request[key] === '') throw new PostgresStoreError('invalid_option', `claim needs a non-empty ${key}`);
  }
  if (!Number.isFinite(request.deadlineAt)) throw new PostgresStoreError('invalid_option', 'claim needs deadlineAt, ms since the epoch');
  // The deadline again on the database's clock: what is left of the window by this engine's clock
  // (never more than the whole window), from the database's now. Whoever takes the execution over
  // reads what is left of it from there, whatever its own clock says.
  const windowLeftMs = Math.min(HARD_WINDOW_MS, Math.max(0, request.deadlineAt - clock.now()));
  return {
    text: `INSERT INTO warden_claims (advisory_id, execution_id, client_order_id, deadline_at, snapshot, broker, writer_id, deadline_db)
     VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8 * interval '1 millisecond') ON CONFLICT DO NOTHING RETURNING execution_id`,
    values: [request.advisoryId, request.executionId, request.clientOrderId, new Date(request.deadlineAt).toISOString(), JSON.stringify(request.snapshot ?? null), request.broker, writer, windowLeftMs],
  };
}

/** Writes the claim unless the advisory, execution or clientOrderId is already claimed. */
export async function insertClaim(pool: Pick<pg.Pool, 'query'>, writer: string, clock: Clock, request: ClaimRequest): Promise<'claimed' | 'duplicate'> {
  const { text, values } = claimInsert(writer, clock, request);
  const { rows } = await pool.query(text, values);
  return rows.length === 1 ? 'claimed' : 'duplicate';
}

/** The claim of an advisory, with what is left of its window on the database's clock, or null. */
export async function readClaim(pool: pg.Pool, advisoryId: string): Promise<StoredClaim | null> {
  const { rows } = await pool.query<{ advisory_id: string; execution_id: string; client_order_id: string; deadline_at: string; snapshot: unknown; broker: string; writer_id: string; claimed_at: Date; remaining_ms: number | null }>(
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

/** The claim of an execution (by its id), or null. */
export async function readClaimOf(pool: pg.Pool, executionId: string): Promise<StoredClaim | null> {
  const { rows } = await pool.query<{ advisory_id: string }>('SELECT advisory_id FROM warden_claims WHERE execution_id = $1', [executionId]);
  return rows[0] ? readClaim(pool, rows[0].advisory_id) : null;
}
