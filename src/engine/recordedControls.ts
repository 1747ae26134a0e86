/**
 * Operators' controls on an engine whose journal has failed. The journal's own hold (no new
 * orders, engine-wide) is lifted by the restart that brings the journal back, and that restart
 * knows only what was recorded: an operator's change made meanwhile would silently disappear with
 * it, and an `active` switch with it. So while the journal cannot record:
 * - a kill switch change that halts MORE than the operator's current setting of that scope is
 *   applied (stopping now matters most) and the caller is then told, with a `JournalError`
 *   (`unavailable`), that it was not recorded and will not survive a restart;
 * - a change that halts less, and a resolution, are refused with that error: nothing changes. If
 *   the journal fails on the change's own record, a change that halts less is undone; a resolution
 *   stays (its flag comes back at the restart: stricter, never looser), and the caller is told.
 */
import { KillSwitchState } from '../domain/constants.js';
import type { KillSwitchSetOptions } from '../domain/killSwitch.js';
import type { ExecutionResult } from '../domain/result.js';
import { JournalError } from '../journal/types.js';
import { HoldKind, type KillSwitchBoard, type KillSwitchChange } from './killSwitch.js';
import { UnrecordedChange } from './unrecordedChange.js';
import type { ResolveOptions } from './types.js';

export { UnrecordedChange };

/** The two controls an operator changes, as the engine and its command inbox call them. */
export interface Controls {
  set(state: KillSwitchState, options: KillSwitchSetOptions): KillSwitchChange;
  resolve(advisoryId: string, options: ResolveOptions): ExecutionResult;
}

const notChanged = (scope: string, state: KillSwitchState, why: string) =>
  new JournalError('unavailable', `kill switch ${scope} not changed (still ${state}): the journal cannot record the change (${why}), and a restart would undo it; only a change that halts more is applied while the journal fails`);

const severity = (s: KillSwitchState) => (s === KillSwitchState.Active ? 2 : s === KillSwitchState.Warning ? 1 : 0);

/**
 * @example
 * const controls = recordedControls({ failure: () => journal.failure, board, validate: (s, o) => scratch.set(s, o), apply: { set: (s, o) => board.set(s, o), resolve: (id, o) => registry.resolve(id, o) } });
 */
export function recordedControls(deps: {
  readonly failure: () => string | null;
  readonly board: KillSwitchBoard;
  /** Checks a change as `set` would (throws a usage error on bad input), without applying it. */
  readonly validate: (state: KillSwitchState, options: KillSwitchSetOptions) => unknown;
  readonly apply: Controls;
}): Controls {
  const { failure, board, validate, apply } = deps;
  return {
    set(state, options) {
      const symbol = options?.symbol ?? null;
      const scope = symbol ?? 'global';
      const held = () => board.holdsOver(symbol).find((h) => h.kind === HoldKind.Operator && h.symbol === symbol);
      const before = held();
      const halts = (to: KillSwitchState) => severity(to) > severity(before?.state ?? KillSwitchState.Off);
      const failed = failure();
      if (failed !== null) {
        validate(state, options); // bad input is refused as such, whatever the journal's state
        if (!halts(state)) throw notChanged(scope, before?.state ?? KillSwitchState.Off, failed);
      }
      const change = apply.set(state, options);
      const why = failure(); // the change's own record may be the first the journal could not write
      if (why === null) return change;
      if (halts(state)) throw new UnrecordedChange(`kill switch ${scope} ${change.from} → ${change.to} applied on this engine, but the journal could not record it (${why}): a restart will not remember it; set it again once the journal works`);
      // A change that halts less, and the journal failed on it: the operator's setting as it was.
      apply.set(before?.state ?? KillSwitchState.Off, { ...options, reason: before?.reason ?? options.reason, operator: before?.by ?? options.operator });
      throw notChanged(scope, before?.state ?? KillSwitchState.Off, why);
    },
    resolve(advisoryId, options) {
      const failed = failure();
      if (failed !== null) throw new JournalError('unavailable', `advisory ${String(advisoryId)} not resolved: the journal cannot record the resolution (${failed}); its flag still halts its symbol`);
      const result = apply.resolve(advisoryId, options);
      const why = failure(); // the resolution's own record was the first the journal could not write
      if (why !== null) throw new JournalError('unavailable', `advisory ${String(advisoryId)} resolved on this engine, but the journal could not record it (${why}): after a restart its flag waits for resolution again`);
      return result;
    },
  };
}
