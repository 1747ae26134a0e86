/**
 * The kill switch: three states (off, warning, active), global or per symbol. The effective
 * state for a symbol is the more severe of the global and the symbol switch. Every change is
 * recorded with who, when, why, from and to, and announced to listeners at once.
 */
import { KillSwitchState, KillSwitchType } from '../domain/constants.js';
import { SymbolSchema } from '../domain/schemas.js';
import { mostSevere, reconciliationHaltNeeded } from '../rules/killSwitch.js';
import { WardenUsageError } from '../domain/errors.js';

/**
 * One recorded change of a kill switch: who, when, why, from and to.
 *
 * @example
 * const change: KillSwitchChange = engine.killSwitch.set('active', { reason: 'venue outage', operator: 'ops' });
 * console.log(`${change.operator} set ${change.symbol ?? 'global'} ${change.from} → ${change.to}: ${change.reason}`);
 */
export interface KillSwitchChange {
  readonly at: string;
  /** `null` for the global switch. */
  readonly symbol: string | null;
  readonly from: KillSwitchState;
  readonly to: KillSwitchState;
  readonly type: KillSwitchType;
  readonly reason: string;
  readonly operator: string;
}

/**
 * What a kill switch change applies to and why; without `symbol` it sets the global switch.
 *
 * @example
 * const options: KillSwitchSetOptions = { symbol: 'EURUSD', reason: 'news at 14:30', operator: 'ana' };
 * engine.killSwitch.set('warning', options);
 */
export interface KillSwitchSetOptions {
  readonly symbol?: string;
  readonly type?: KillSwitchType;
  readonly reason: string;
  /** Who made the change. Required to turn a switch off. */
  readonly operator?: string;
}

interface Setting {
  readonly state: KillSwitchState;
  readonly type: KillSwitchType;
}

const STATES = new Set<string>(Object.values(KillSwitchState));
const TYPES = new Set<string>(Object.values(KillSwitchType));

/**
 * The kill switches of one engine: the global one and one per symbol, with their history.
 *
 * @example
 * const board = new KillSwitchBoard(Date.now);
 * board.set('warning', { symbol: 'EURUSD', reason: 'news at 14:30', operator: 'ana' });
 * board.state('EURUSD'); // 'warning'
 */
export class KillSwitchBoard {
  private global: Setting = { state: KillSwitchState.Off, type: KillSwitchType.Global };
  private readonly symbols = new Map<string, Setting>();
  private readonly log: KillSwitchChange[] = [];
  private readonly listeners = new Set<(change: KillSwitchChange) => void>();

  constructor(private readonly now: () => number) {}

  /**
   * Changes a switch. Throws {@link WardenUsageError} (and changes nothing) on bad input.
   *
   * @example
   * engine.killSwitch.set('active', { reason: 'venue outage', operator: 'ops' });
   * engine.killSwitch.set('off', { symbol: 'EURUSD', reason: 'checked', operator: 'ops' });
   */
  set(state: KillSwitchState, options: KillSwitchSetOptions): KillSwitchChange {
    if (!STATES.has(state)) throw new WardenUsageError('invalid_state', `kill switch state must be off, warning or active, got ${String(state)}`);
    if (typeof options?.reason !== 'string' || options.reason.trim() === '') throw new WardenUsageError('reason_required', 'a kill switch change needs a reason');
    const operator = typeof options.operator === 'string' ? options.operator.trim() : '';
    if (state === KillSwitchState.Off && operator === '') throw new WardenUsageError('operator_required', 'turning a kill switch off needs an operator name');
    if (options.symbol !== undefined && !SymbolSchema.safeParse(options.symbol).success) {
      throw new WardenUsageError('invalid_symbol', `not a valid symbol: ${String(options.symbol)}`);
    }
    const type = options.type ?? (options.symbol === undefined ? KillSwitchType.Global : KillSwitchType.SymbolLevel);
    if (!TYPES.has(type)) throw new WardenUsageError('invalid_type', `unknown kill switch type ${String(type)}`);

    const symbol = options.symbol ?? null;
    const from = symbol === null ? this.global.state : (this.symbols.get(symbol)?.state ?? KillSwitchState.Off);
    const setting = { state, type };
    if (symbol === null) this.global = setting;
    else this.symbols.set(symbol, setting);
    const change: KillSwitchChange = { at: new Date(this.now()).toISOString(), symbol, from, to: state, type, reason: options.reason, operator: operator || 'unspecified' };
    this.log.push(change);
    for (const l of [...this.listeners]) l(change);
    return change;
  }

  /** Replays changes recorded by an earlier process (from its journal), without announcing them again. */
  restore(changes: readonly KillSwitchChange[]): void {
    for (const c of changes) {
      const setting = { state: c.to, type: c.type };
      if (c.symbol === null) this.global = setting;
      else this.symbols.set(c.symbol, setting);
      this.log.push(c);
    }
  }

  /** Effective state: the global switch, or the more severe of global and `symbol`. */
  state(symbol?: string): KillSwitchState {
    if (symbol === undefined) return this.global.state;
    return mostSevere(this.global.state, this.symbols.get(symbol)?.state ?? KillSwitchState.Off);
  }

  /** Why the switch for `symbol` (or the global one) was last set. */
  typeOf(symbol?: string): KillSwitchType {
    return symbol === undefined ? this.global.type : (this.symbols.get(symbol)?.type ?? KillSwitchType.SymbolLevel);
  }

  history(): readonly KillSwitchChange[] {
    return [...this.log];
  }

  /** The symbol's own switch, ignoring the global one. */
  ownState(symbol: string): KillSwitchState {
    return this.symbols.get(symbol)?.state ?? KillSwitchState.Off;
  }

  /** Halts a symbol whose reconciliation flagged (rule 6), with its own switch; see `reconciliationHaltNeeded`. */
  raiseReconciliationHalt(symbol: string, advisoryId: string, status: string): void {
    if (!reconciliationHaltNeeded(this.ownState(symbol))) return;
    this.set(KillSwitchState.Warning, { symbol, type: KillSwitchType.Reconciliation, reason: `reconciliation ${status} on advisory ${advisoryId}`, operator: 'warden' });
  }

  /** Lifts a reconciliation halt once nothing on the symbol awaits resolution; other switches stay. */
  releaseReconciliationHalt(symbol: string, advisoryId: string, operator: string): void {
    if (this.typeOf(symbol) !== KillSwitchType.Reconciliation || this.ownState(symbol) === KillSwitchState.Off) return;
    this.set(KillSwitchState.Off, { symbol, type: KillSwitchType.Reconciliation, reason: `resolved advisory ${advisoryId}`, operator });
  }

  onChange(listener: (change: KillSwitchChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
}
