/**
 * What a store shared by several engines knows of the fleet's positions: every execution its
 * limits admitted, on any engine, with its side, size and the fill its engine has heard. The
 * engines ask it instead of their own ledger, so executions on one account see each other.
 */
import type { Side } from '../domain/constants.js';
import type { Journal } from './types.js';

/**
 * The fleet's net position on a symbol, besides one execution. `net` sums what was heard filled
 * (settled executions' final fills, open executions' fills so far); `low`..`high` is what the
 * venue may hold right now: each open execution may have filled anything between what its engine
 * heard and its full size, which the store learns only after the venue.
 *
 * @example
 * const p: FleetPosition = await store.fleetPosition('EURUSD', executionId);
 * const explained = venueQuantity >= p.low + ownFill && venueQuantity <= p.high + ownFill;
 */
export interface FleetPosition {
  readonly net: number;
  readonly low: number;
  readonly high: number;
  /** Unfilled size of the open buy and sell executions (what they could still add). */
  readonly openBuys: number;
  readonly openSells: number;
}

/**
 * What the fleet's limits are judged on: the position on the symbol and the orders admitted in the
 * last minute (on the symbol, and over all symbols), every engine's.
 *
 * @example
 * const facts: FleetLimitFacts = { position, ordersLastMinute: { symbol: 3, all: 7 } };
 */
export interface FleetLimitFacts {
  readonly position: FleetPosition;
  readonly ordersLastMinute: { readonly symbol: number; readonly all: number };
}

/**
 * One execution asking to be admitted: the store reads the fleet's facts and, under a lock that
 * every engine's admission of the symbol takes, records it only if `admit(facts)` says so.
 *
 * @example
 * const request: FleetAdmission = { executionId, symbol: 'EURUSD', side: 'buy', size: 10_000, wholeFleetRate: false };
 */
export interface FleetAdmission {
  readonly executionId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly size: number;
  /** The limits count orders over all symbols too: admissions on every symbol are serialised. */
  readonly wholeFleetRate: boolean;
}

/**
 * A tightening of limits written for the whole fleet (`warden limits set --store`), as stored.
 *
 * @example
 * const c: FleetLimitsChange = { id: 4, change: { symbols: { EURUSD: { maxPosition: 20 } } }, operator: 'ana', reason: 'NFP' };
 */
export interface FleetLimitsChange {
  readonly id: number;
  readonly change: unknown;
  readonly operator: string;
  readonly reason: string;
}

/**
 * The fleet's position ledger and limits, on a store shared by several engines (PostgreSQL).
 * Reconciliation expects every other execution of the fleet on the symbol; the limits admit an
 * execution against the fleet's position and order rate atomically (one no fleet limit concerns is
 * recorded once claimed); the engine reports what it hears filled and when the execution settled;
 * operators' tightenings written for the fleet are read from `fleetLimitsChanges`.
 *
 * @example
 * if (keepsFleetLedger(store)) console.log(await store.fleetPosition('EURUSD', executionId));
 */
export interface FleetLedgerStore {
  fleetPosition(symbol: string, excludingExecutionId: string): Promise<FleetPosition>;
  admitToFleet(request: FleetAdmission, admit: (facts: FleetLimitFacts) => boolean): Promise<{ readonly facts: FleetLimitFacts; readonly admitted: boolean }>;
  recordFleetExecution(execution: Omit<FleetAdmission, 'wholeFleetRate'>): Promise<void>;
  recordFleetFill(executionId: string, filled: number): Promise<void>;
  settleFleetPosition(executionId: string, filled: number, sent: boolean): Promise<void>;
  fleetLimitsChanges(afterId: number): Promise<readonly FleetLimitsChange[]>;
}

const LEDGER_METHODS = ['fleetPosition', 'admitToFleet', 'recordFleetExecution', 'recordFleetFill', 'settleFleetPosition', 'fleetLimitsChanges'] as const;

/**
 * Whether the store keeps the fleet's position ledger (every method of it).
 *
 * @example
 * const fleet = keepsFleetLedger(store) ? store : null;
 */
export const keepsFleetLedger = <J extends Journal>(store: J): store is J & FleetLedgerStore =>
  LEDGER_METHODS.every((m) => typeof (store as unknown as Record<string, unknown>)[m] === 'function');
