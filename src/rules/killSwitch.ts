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
