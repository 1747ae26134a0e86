/**
 * Limits tightened for a whole fleet (`warden limits set --store URL`): each change is a row in
 * the store; every engine polls for new rows and applies, of each change, what tightens its own
 * limits (a field that would loosen them is left as it is: an engine never loosens, and an engine
 * started tighter stays tighter). Each application is journaled by the engine, with the operator
 * and the reason, like a tightening made on the engine itself.
 */
import type { Clock } from '../domain/clock.js';
import { parseLimits, type Limits, type SymbolLimits } from '../domain/limits.js';
import { keepsFleetLedger, type FleetLimitsChange } from '../journal/fleetLedger.js';
import type { CommandOutcome, Journal, OperatorCommand } from '../journal/types.js';
import { loosenings, mergeLimits } from '../rules/limits.js';
import type { Logger } from './logger.js';

/**
 * How often an engine looks for the fleet's new limit changes (ms of its clock).
 *
 * @example
 * FLEET_LIMITS_POLL_MS; // 250
 */
export const FLEET_LIMITS_POLL_MS = 250;

/**
 * The part of `change` that tightens `current`: every field that would loosen it is dropped.
 * Null when nothing is left.
 *
 * @example
 * tighteningPart({ symbols: { '*': { maxPosition: 30 } } }, { symbols: { '*': { maxPosition: 50, maxQuantity: 5 } } }); // { symbols: { '*': { maxQuantity: 5 } } }
 */
export function tighteningPart(current: Limits, change: Limits): Limits | null {
  const symbols: Record<string, SymbolLimits> = {};
  let kept = 0;
  for (const [symbol, fields] of Object.entries(change.symbols)) {
    for (const [field, value] of Object.entries(fields) as [keyof SymbolLimits, number][]) {
      const single: Limits = { symbols: { [symbol]: { [field]: value } } };
      if (loosenings(current, mergeLimits(current, single)).length > 0) continue;
      symbols[symbol] = { ...symbols[symbol], [field]: value };
      kept++;
    }
  }
  const all = change.maxOrdersPerMinute;
  const allTightens = all !== undefined && (current.maxOrdersPerMinute === undefined || all <= current.maxOrdersPerMinute);
  if (kept === 0 && !allTightens) return null;
  return { symbols, ...(allTightens ? { maxOrdersPerMinute: all } : {}) };
}

/**
 * Polls the store for the fleet's limit changes and hands each to `apply` (the engine's limit
 * book). `ready` resolves once the changes written before the engine started were applied (or
 * could not be read: the engine then keeps its own limits and says so).
 *
 * @example
 * const watch = watchFleetLimits({ store, clock, logger, current: () => book.api.current(), apply: book.command });
 * await watch.ready;
 */
export function watchFleetLimits(deps: {
  readonly store: Journal;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly current: () => Limits;
  readonly apply: (command: Extract<OperatorCommand, { kind: 'limits' }>) => CommandOutcome;
}): { readonly ready: Promise<void>; stop(): void } | null {
  const { store, clock, logger } = deps;
  if (!keepsFleetLedger(store)) return null;
  let last = 0;
  let stopped = false;
  let timer: unknown;
  const take = (c: FleetLimitsChange) => {
    last = Math.max(last, c.id);
    let change: Limits;
    try {
      change = parseLimits(c.change, 'change');
    } catch (e) {
      logger.error({ err: String(e), id: c.id }, "a fleet limits change that cannot be read was ignored");
      return;
    }
    const part = tighteningPart(deps.current(), change);
    if (part === null) return; // this engine's limits are already as tight
    const outcome = deps.apply({ kind: 'limits', change: part, operator: c.operator, reason: `${c.reason} (fleet change ${c.id})` });
    if (outcome.ok) logger.warn({ id: c.id, operator: c.operator, change: part }, 'limits tightened for the fleet');
    else logger.error({ id: c.id, message: outcome.message }, 'a fleet limits change was refused');
  };
  const poll = async () => {
    try {
      for (const c of await store.fleetLimitsChanges(last)) take(c);
    } catch (e) {
      logger.error({ err: String(e) }, "the fleet's limit changes could not be read; trying again");
    }
  };
  const loop = () => {
    if (stopped) return;
    timer = clock.setTimeout(() => void poll().then(loop), FLEET_LIMITS_POLL_MS);
  };
  const ready = poll().then(loop);
  return {
    ready,
    stop() {
      stopped = true;
      clock.clearTimeout(timer);
    },
  };
}
