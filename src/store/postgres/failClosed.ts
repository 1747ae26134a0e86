/**
 * Fail closed: the fleet's kill switch state is only trusted while it was confirmed recently. A
 * pure view over the last confirmed switches and a Clock, so staleness is tested with a virtual
 * clock and no real waiting.
 */
import type { Clock } from '../../domain/clock.js';
import { KillSwitchState } from '../../domain/constants.js';
import type { FleetSwitch } from '../../journal/types.js';
import { mostSevere } from '../../rules/killSwitch.js';
import { PostgresStoreError } from './errors.js';

/**
 * How long a confirmed kill switch state is trusted (ms). Also the largest budget allowed: a
 * budget can be made shorter, never longer.
 *
 * @example
 * const view = new FailClosedKillSwitch({ clock: systemClock, stalenessBudgetMs: KILL_SWITCH_STALENESS_BUDGET_MS });
 */
export const KILL_SWITCH_STALENESS_BUDGET_MS = 5_000;

export type { FleetSwitch } from '../../journal/types.js';

/**
 * Options of {@link FailClosedKillSwitch}.
 *
 * @example
 * const options: FailClosedOptions = { clock: new VirtualClock(0), stalenessBudgetMs: 2_000 };
 */
export interface FailClosedOptions {
  readonly clock: Clock;
  /** At most {@link KILL_SWITCH_STALENESS_BUDGET_MS}; larger values are refused. */
  readonly stalenessBudgetMs?: number;
}

/**
 * Checks a staleness budget: a positive number of ms no larger than the default.
 *
 * @example
 * checkStalenessBudget(2_000); // 2000
 * checkStalenessBudget(10_000); // throws PostgresStoreError('invalid_option')
 */
export function checkStalenessBudget(ms: number | undefined): number {
  const budget = ms ?? KILL_SWITCH_STALENESS_BUDGET_MS;
  if (!Number.isFinite(budget) || budget <= 0 || budget > KILL_SWITCH_STALENESS_BUDGET_MS) {
    throw new PostgresStoreError(
      'invalid_option',
      `stalenessBudgetMs must be more than 0 and at most ${KILL_SWITCH_STALENESS_BUDGET_MS} ms (it can only be made stricter), got ${String(ms)}`,
    );
  }
  return budget;
}

/**
 * The fleet's kill switches as last confirmed, read fail-closed: when the state was never
 * confirmed, or not within the staleness budget, every symbol reads at least `warning` (no new
 * orders; working orders and protection carry on). A known `active` stays `active`.
 *
 * @example
 * const view = new FailClosedKillSwitch({ clock });
 * view.confirm([{ symbol: null, state: 'off', type: 'global', changeId: 1 }]);
 * view.state('EURUSD'); // 'off' now; 'warning' once 5 s pass without a confirmation
 */
export class FailClosedKillSwitch {
  readonly stalenessBudgetMs: number;
  private confirmedAt: number | null = null;
  private global: KillSwitchState = KillSwitchState.Off;
  private readonly symbols = new Map<string, KillSwitchState>();

  constructor(private readonly options: FailClosedOptions) {
    this.stalenessBudgetMs = checkStalenessBudget(options.stalenessBudgetMs);
  }

  /** Records that `switches` is the whole current state, as read at `at` (default: now). */
  confirm(switches: readonly FleetSwitch[], at: number = this.options.clock.now()): void {
    this.global = KillSwitchState.Off;
    this.symbols.clear();
    for (const s of switches) {
      // A flag's announcement is not a setting of its scope (the engines hold for the flag itself).
      if (s.type === 'reconciliation') continue;
      if (s.symbol === null) this.global = s.state;
      else this.symbols.set(s.symbol, s.state);
    }
    this.confirmedAt = at;
  }

  /** When the state was last confirmed (clock ms), or null if never. */
  get lastConfirmedAt(): number | null {
    return this.confirmedAt;
  }

  /** Whether the state is unconfirmed: never read, or older than the budget. */
  stale(): boolean {
    return this.confirmedAt === null || this.options.clock.now() - this.confirmedAt > this.stalenessBudgetMs;
  }

  /** The effective state for `symbol` (or the global one), never less than `warning` when stale. */
  state(symbol?: string): KillSwitchState {
    const known = symbol === undefined ? this.global : mostSevere(this.global, this.symbols.get(symbol) ?? KillSwitchState.Off);
    return this.stale() ? mostSevere(known, KillSwitchState.Warning) : known;
  }

  /** Why the state is being read fail-closed, for logs and results; null when it is fresh. */
  staleReason(): string | null {
    if (!this.stale()) return null;
    if (this.confirmedAt === null) return 'the fleet kill switch state has not been confirmed yet: every symbol reads warning';
    const age = this.options.clock.now() - this.confirmedAt;
    return `the fleet kill switch state was last confirmed ${age} ms ago (budget ${this.stalenessBudgetMs} ms): every symbol reads warning until it is confirmed again`;
  }
}
