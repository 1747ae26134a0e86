/** Operators' commands another process wrote into the store, applied by the engine that holds it. */
import { describeThrown } from '../broker/errors.js';
import { WardenUsageError } from '../domain/errors.js';
import type { CommandOutcome, OperatorCommand } from '../journal/types.js';
import type { KillSwitchBoard } from './killSwitch.js';
import { afterResolve, remainingHolds } from './holdWords.js';
import type { ExecutionRegistry } from './registry.js';
import { UnrecordedChange, type Controls } from './recordedControls.js';

/** Applies a command and says what it did, in words an operator reads at the prompt. Never throws. */
export function commandHandler(
  board: KillSwitchBoard,
  registry: ExecutionRegistry,
  limits?: (command: Extract<OperatorCommand, { kind: 'limits' }>) => CommandOutcome,
  controls: Controls = { set: (state, options) => board.set(state, options), resolve: (advisoryId, options) => registry.resolve(advisoryId, options) },
): (command: OperatorCommand) => CommandOutcome {
  return (command) => {
    try {
      if (command.kind === 'limits') return limits ? limits(command) : { ok: false, message: 'this engine does not take limit changes' };
      if (command.kind === 'resolve') {
        const before = board.holds();
        controls.resolve(command.advisoryId, { operator: command.operator, note: command.note });
        return { ok: true, message: `resolved ${command.advisoryId}${afterResolve(command.advisoryId, before, (s) => board.holdsOver(s))}` };
      }
      const change = controls.set(command.state, { ...(command.symbol ? { symbol: command.symbol } : {}), reason: command.reason, operator: command.operator });
      const told = [...registry.running.values()].filter((r) => change.symbol === null || change.symbol === r.symbol).length;
      const effect = change.to === 'active' ? 'their working orders get their cancel requested' : 'no new orders; what works carries on';
      return { ok: true, message: `${change.symbol ?? 'global'}: ${change.from} → ${change.to}${told > 0 && change.to !== 'off' ? ` (${told} execution${told === 1 ? '' : 's'} in flight: ${effect})` : ''}${remainingHolds(change.remaining)}` };
    } catch (e) {
      // In force here but not recorded: answered as applied, with the warning, never as a refusal.
      if (e instanceof UnrecordedChange) return { ok: true, unrecorded: true, message: e.message };
      return { ok: false, message: e instanceof WardenUsageError ? e.message : describeThrown(e) };
    }
  };
}
