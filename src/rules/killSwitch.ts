import { KillSwitchState } from '../domain/constants.js';

const SEVERITY: Record<KillSwitchState, number> = { off: 0, warning: 1, active: 2 };

/** The more severe of two kill switch states (global vs symbol). */
export function mostSevere(a: KillSwitchState, b: KillSwitchState): KillSwitchState {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

/** `warning` and `active` both forbid new orders. */
export const killSwitchAllowsNewOrders = (state: KillSwitchState): boolean => state === KillSwitchState.Off;

/** Only `active` cancels working orders; `warning` leaves them alone (reduce only). */
export const killSwitchCancelsWorkingOrders = (state: KillSwitchState): boolean => state === KillSwitchState.Active;

/**
 * A reconciliation flag halts its symbol with the symbol's *own* switch, whatever the global one
 * says: lifting a global switch must not let a flagged symbol trade again. A symbol switch already
 * on (for any reason) is never lowered or retyped.
 *
 * @example
 * reconciliationHaltNeeded(KillSwitchState.Off); // true: raise `warning` (type reconciliation)
 */
export const reconciliationHaltNeeded = (symbolOwnState: KillSwitchState): boolean => symbolOwnState === KillSwitchState.Off;
