/**
 * Where a fleet kill switch change is on its way, for whoever wants to time it: a
 * `node:diagnostics_channel` channel. Nothing is built or published unless someone subscribes, so
 * the path costs the same without a subscriber. A subscriber is called synchronously at the
 * instant of the stage, so it can stamp the time itself (e.g. `process.hrtime.bigint()`, one
 * monotonic clock for every process of a machine).
 *
 * Stages, in order: on the engine that sets it, `write_sent` (the change is on the wire to the
 * store) then `applied` (this engine's own fan-out ran) and, later, `write_committed` (the store
 * answered); on every other engine, `heard` (the store's notification is in) then `applied`.
 */
import { channel } from 'node:diagnostics_channel';
import type { KillSwitchState } from '../domain/constants.js';

/**
 * The channel's name.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe(FLEET_KILL_SWITCH_TRACE, (m) => console.log(process.hrtime.bigint(), (m as FleetKillSwitchTrace).stage));
 */
export const FLEET_KILL_SWITCH_TRACE = 'warden:fleet-kill-switch';

/**
 * One stage of one change.
 *
 * @example
 * const t: FleetKillSwitchTrace = { stage: 'heard', changeId: 12, symbol: null, state: 'active' };
 */
export interface FleetKillSwitchTrace {
  readonly stage: 'write_sent' | 'write_committed' | 'heard' | 'applied';
  /** The store's id of the change (null on the setter before the store answered). */
  readonly changeId: number | null;
  readonly symbol: string | null;
  readonly state: KillSwitchState;
}

const trace = channel(FLEET_KILL_SWITCH_TRACE);

/**
 * Publishes a stage when someone listens; builds nothing otherwise.
 *
 * @example
 * traceFleetKillSwitch(() => ({ stage: 'heard', changeId: 12, symbol: null, state: 'active' }));
 */
export function traceFleetKillSwitch(make: () => FleetKillSwitchTrace): void {
  if (trace.hasSubscribers) trace.publish(make());
}
