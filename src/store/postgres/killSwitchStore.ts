/**
 * The fleet kill switch's rows: each change is written (history kept) and announced with
 * `pg_notify` in one transaction, under a lock that orders changes of every engine.
 */
import type pg from 'pg';
import type { Clock } from '../../domain/clock.js';
import type { KillSwitchState } from '../../domain/constants.js';
import { KillSwitchBoard, type KillSwitchChange } from '../../engine/killSwitch.js';
import { ADVISORY_LOCK_NAMESPACE, KILL_SWITCH_CHANNEL, KILL_SWITCH_LOCK } from './schema.js';
import type { FleetKillSwitchRequest, StoredKillSwitchChange } from './types.js';

/** Validates the change like `engine.killSwitch.set`, writes it and announces it; resolves once durable. */
export async function writeKillSwitch(pool: pg.Pool, writer: string, clock: Clock, request: FleetKillSwitchRequest): Promise<StoredKillSwitchChange> {
  // The engine's own rules decide what a valid change is (throws WardenUsageError).
  const { state, ...options } = request;
  const change = new KillSwitchBoard(() => clock.now()).set(state, options);
  const client = await pool.connect();
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
      [stored.at, stored.symbol, stored.from, stored.to, stored.type, stored.reason, stored.operator, writer],
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

/** Every kill switch change of the fleet, oldest first. */
export async function readKillSwitchHistory(pool: pg.Pool): Promise<StoredKillSwitchChange[]> {
  const { rows } = await pool.query<{ id: string; at: string; symbol: string | null; from_state: KillSwitchState; to_state: KillSwitchState; type: KillSwitchChange['type']; reason: string; operator: string }>(
    'SELECT * FROM warden_kill_switch_changes ORDER BY id',
  );
  return rows.map((r) => ({ id: Number(r.id), at: r.at, symbol: r.symbol, from: r.from_state, to: r.to_state, type: r.type, reason: r.reason, operator: r.operator }));
}
