/** How the CLI and the console put kill switch holds into words. */
import type { KillSwitchHold } from './killSwitch.js';

/**
 * One line per hold: scope, state, kind (and the flag's advisory), who raised it and why, and the
 * one action that lifts it.
 *
 * @example
 * for (const line of describeHolds(engine.killSwitch.holds('EURUSD'))) console.log(line);
 */
export function describeHolds(holds: readonly KillSwitchHold[]): string[] {
  return holds.map((h) => `${h.symbol ?? 'global'} ${h.state} — ${h.kind}${h.kind === 'reconciliation' ? ` (advisory ${h.key})` : ''} by ${h.by} since ${h.since}: ${h.reason}; lifted by ${h.liftedBy}`);
}

/** What an operator's `set` left in force, in words: empty when nothing else halts the scope. */
export function remainingHolds(remaining: readonly KillSwitchHold[] | undefined): string {
  if (!remaining || remaining.length === 0) return '';
  return `\nstill halted by ${remaining.length} other hold${remaining.length === 1 ? '' : 's'}:\n${describeHolds(remaining).map((l) => `  ${l}`).join('\n')}`;
}

/**
 * What resolving a flag did, in words: its symbol takes orders again, or which holds still halt it.
 * `before`: the holds in force just before the resolution (to find the flag's symbol).
 *
 * @example
 * const before = engine.killSwitch.holds();
 * engine.resolve('adv-1', { operator: 'ana', note: 'checked' });
 * console.log(`resolved adv-1${afterResolve('adv-1', before, (s) => engine.killSwitch.holds(s))}`);
 */
export function afterResolve(advisoryId: string, before: readonly KillSwitchHold[], holdsOver: (symbol: string) => readonly KillSwitchHold[]): string {
  const symbol = before.find((h) => h.kind === 'reconciliation' && h.key === advisoryId)?.symbol;
  if (!symbol) return '';
  const left = holdsOver(symbol);
  return left.length === 0 ? `; ${symbol} takes new orders again` : `; ${symbol} stays halted by:\n${describeHolds(left).map((l) => `  ${l}`).join('\n')}`;
}
