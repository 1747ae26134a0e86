/**
 * `warden limits show|set --store URL`: the pre-trade limits of a fleet. `set` writes one
 * tightening into the store, which every engine on it polls for and applies (each journals it with
 * the operator and reason); it refuses a change that would loosen the limits any engine of the
 * store last recorded, and then writes nothing. `show` prints each engine's latest limits.
 */
import { parseLimits, type Limits, type LimitsInput } from '../domain/limits.js';
import type { PostgresStore } from '../store/postgres/PostgresStore.js';
import { loosenings, mergeLimits } from '../rules/limits.js';
import { FLEET_LIMITS_POLL_MS } from '../engine/fleetLimits.js';

/** How long `set` waits to hear which engines applied the change (ms). */
const APPLIED_WAIT_MS = 4 * FLEET_LIMITS_POLL_MS + 1_000;

const describe = (l: Limits): string =>
  [
    ...Object.entries(l.symbols).map(([s, f]) => `${s === '*' ? '* (default)' : s}: ${Object.entries(f).map(([k, v]) => `${k} ${String(v)}`).join(', ') || '(none)'}`),
    ...(l.maxOrdersPerMinute !== undefined ? [`all symbols together: maxOrdersPerMinute ${l.maxOrdersPerMinute}`] : []),
  ].join('; ') || '(none)';

/**
 * Runs `limits show|set` on a fleet's store; returns the exit code, prints to `out`/`err`.
 * `set` with a change that loosens any engine's limits throws an Error naming the limit (usage).
 *
 * @example
 * const code = await fleetLimitsCommand(store, { action: 'set', change, operator: 'ana', reason: 'NFP' });
 */
export async function fleetLimitsCommand(
  store: Pick<PostgresStore, 'limitsByWriter' | 'writeFleetLimitsChange' | 'limitsChangeAppliedBy'>,
  request: { readonly action: 'show' } | { readonly action: 'set'; readonly change: LimitsInput; readonly operator: string; readonly reason: string },
  out: (line: string) => void = (l) => console.log(l),
): Promise<number> {
  const engines = (await store.limitsByWriter()).flatMap((e) => {
    try {
      return [{ writer: e.writer, at: e.at, limits: parseLimits(e.limits) }];
    } catch {
      return []; // a record that names no readable limits constrains nothing
    }
  });
  if (request.action === 'show') {
    if (engines.length === 0) out('no limits in this store: its engines started without --limits and none was tightened');
    for (const e of engines) out(`${e.writer} (as of ${e.at}): ${describe(e.limits)}`);
    return 0;
  }
  const change = parseLimits(request.change, 'change');
  const looser = engines.flatMap((e) => loosenings(e.limits, mergeLimits(e.limits, change)).map((l) => `${e.writer}: ${l}`));
  if (looser.length > 0) throw new Error(`limits can only be tightened; for the fleet this would loosen ${looser.join('; ')}. Nothing was written`);
  const id = await store.writeFleetLimitsChange({ change, operator: request.operator, reason: request.reason });
  out(`limits tightened for the fleet (change ${id}): ${describe(change)}; every engine on the store applies it within ${FLEET_LIMITS_POLL_MS} ms`);
  const until = Date.now() + APPLIED_WAIT_MS;
  let applied: string[] = [];
  while (Date.now() < until) {
    applied = await store.limitsChangeAppliedBy(id);
    if (applied.length >= engines.length && applied.length > 0) break;
    await new Promise((r) => setTimeout(r, FLEET_LIMITS_POLL_MS));
  }
  out(applied.length > 0 ? `applied by ${applied.join(', ')}` : 'no engine has applied it yet (engines apply it when they next poll, or when they start)');
  return 0;
}
