/**
 * The kill switch as holds. Each reason to halt trading is a hold owned by what raised it: an
 * operator, a reconciliation flag, a journal that cannot record, a fleet state that cannot be
 * confirmed, a fenced writer, a shutdown. A hold is lifted only by its owner's action, so no
 * control can undo another's. The effective state of a symbol is the strictest hold over it or over
 * the global scope. Every raise and lift is recorded with who, when, why, from and to, and
 * announced to listeners at once.
 */
import { KillSwitchState, KillSwitchType } from '../domain/constants.js';
import { SymbolSchema } from '../domain/schemas.js';
import { mostSevere } from '../rules/killSwitch.js';
import { WardenUsageError } from '../domain/errors.js';
import type { KillSwitchSetOptions } from '../domain/killSwitch.js';

/**
 * Who owns a hold, and so the only action that lifts it.
 *
 * @example
 * engine.killSwitch.holds('EURUSD').filter((h) => h.kind === HoldKind.Reconciliation); // flags halting EURUSD
 */
export const HoldKind = {
  /** An operator's setting of a scope: lifted by an operator's `set('off')` (any engine of a fleet). */
  Operator: 'operator',
  /** One per open reconciliation flag (rule 6), named by its advisory: lifted by `resolve()` of that flag. */
  Reconciliation: 'reconciliation',
  /** This engine cannot record: lifted by a restart that opens a healthy journal. */
  Journal: 'journal',
  /** The fleet's kill switch state cannot be confirmed: lifted when the store confirms it again. */
  FleetUnconfirmed: 'fleet_unconfirmed',
  /** Another engine took over this engine's work and its writes are refused: lifted by a restart. */
  Fenced: 'fenced',
  /** This engine is shutting down: lifted by a restart. */
  Shutdown: 'shutdown',
} as const;
export type HoldKind = (typeof HoldKind)[keyof typeof HoldKind];

/**
 * How each kind of hold is lifted, in an operator's words.
 *
 * @example
 * console.log(`a journal hold is lifted by ${HOLD_LIFTED_BY.journal}`);
 */
export const HOLD_LIFTED_BY: Readonly<Record<HoldKind, string>> = {
  operator: "an operator's `set off` on the same scope",
  reconciliation: 'resolving its flag (`engine.resolve()` / `warden resolve`)',
  journal: 'a restart that opens a healthy journal',
  fleet_unconfirmed: 'the store confirming the fleet state again',
  fenced: 'a restart of this engine',
  shutdown: 'a restart of this engine',
};

/** Holds that concern this engine alone: never written for a fleet, never lifted by one. */
const ENGINE_ONLY: ReadonlySet<HoldKind> = new Set([HoldKind.Journal, HoldKind.Fenced, HoldKind.Shutdown, HoldKind.FleetUnconfirmed]);

/**
 * One reason a scope is halted, and what lifts it.
 *
 * @example
 * for (const h of engine.killSwitch.holds('EURUSD')) console.log(`${h.symbol ?? 'global'} ${h.state} (${h.kind}) by ${h.by}: ${h.reason}; lifted by ${h.liftedBy}`);
 */
export interface KillSwitchHold {
  readonly kind: HoldKind;
  /** `null` for the global scope. */
  readonly symbol: string | null;
  /** Tells holds of one kind apart in one scope: the advisory of a reconciliation hold, else ''. */
  readonly key: string;
  readonly state: Exclude<KillSwitchState, 'off'>;
  readonly type: KillSwitchType;
  readonly reason: string;
  /** Who raised it. */
  readonly by: string;
  readonly since: string;
  /** The one action that lifts it, in words. */
  readonly liftedBy: string;
}

/**
 * One recorded change of a kill switch: a hold raised or lifted, who, when, why, and the scope's
 * state (the strictest of its holds) from and to.
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
  /** The hold this change raised or lifted (absent in journals written before holds). */
  readonly hold?: { readonly kind: HoldKind; readonly key: string; readonly action: 'raise' | 'lift'; readonly state: KillSwitchState };
  /** On an operator's change: the other holds that keep this scope (or the global scope) halted, and how each is lifted. */
  readonly remaining?: readonly KillSwitchHold[];
}

export type { KillSwitchSetOptions } from '../domain/killSwitch.js';

/** What raises a hold other than the operator's. */
export interface HoldRequest {
  readonly kind: Exclude<HoldKind, 'operator'>;
  readonly symbol?: string | null;
  readonly key?: string;
  readonly state: Exclude<KillSwitchState, 'off'>;
  readonly reason: string;
  readonly by: string;
}

const STATES = new Set<string>(Object.values(KillSwitchState));
const TYPES = new Set<string>(Object.values(KillSwitchType));
const GLOBAL = '';
const TYPE_OF_KIND: Readonly<Record<Exclude<HoldKind, 'operator'>, KillSwitchType>> = {
  reconciliation: KillSwitchType.Reconciliation,
  journal: KillSwitchType.RiskLimit,
  fleet_unconfirmed: KillSwitchType.RiskLimit,
  fenced: KillSwitchType.RiskLimit,
  shutdown: KillSwitchType.Manual,
};

/**
 * The kill switch holds of one engine, per scope, with their history.
 *
 * @example
 * const board = new KillSwitchBoard(Date.now);
 * board.set('warning', { symbol: 'EURUSD', reason: 'news at 14:30', operator: 'ana' });
 * board.state('EURUSD'); // 'warning'
 */
export class KillSwitchBoard {
  /** scope ('' = global) → hold id (`kind:key`) → hold. */
  private readonly scopes = new Map<string, Map<string, KillSwitchHold>>();
  private readonly log: KillSwitchChange[] = [];
  private readonly listeners = new Set<(change: KillSwitchChange) => void>();

  constructor(private readonly now: () => number) {}

  /**
   * An operator's setting of a scope: sets this scope's operator hold and nothing else (`off`
   * lifts it). Other holds stay, and the returned change lists those still halting the scope in
   * `remaining`. Throws {@link WardenUsageError} (and changes nothing) on bad input.
   *
   * @example
   * engine.killSwitch.set('active', { reason: 'venue outage', operator: 'ops' });
   * const change = engine.killSwitch.set('off', { symbol: 'EURUSD', reason: 'checked', operator: 'ops' });
   * for (const h of change.remaining ?? []) console.log(`still held: ${h.kind}, lifted by ${h.liftedBy}`);
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
    const change = this.apply({ kind: HoldKind.Operator, symbol, key: '', state, type, reason: options.reason, by: operator || 'unspecified' }, false);
    const remaining = this.holdsOver(symbol).filter((h) => h.kind !== HoldKind.Operator || h.symbol !== symbol);
    const told: KillSwitchChange = { ...change, remaining };
    this.log.push(told);
    this.announce(told);
    return told;
  }

  /**
   * Raises a hold of `request.kind` (raising it again only records the new reason). `quiet`: a
   * hold rebuilt at start (an open flag's), recorded in the history but not announced again.
   */
  raise(request: HoldRequest, quiet = false): KillSwitchChange {
    const change = this.apply({ kind: request.kind, symbol: request.symbol ?? null, key: request.key ?? '', state: request.state, type: TYPE_OF_KIND[request.kind], reason: request.reason, by: request.by });
    if (!quiet) this.announce(change);
    return change;
  }

  /** Lifts a hold of `kind`; nothing happens when it is not held. Only its owner calls this. */
  lift(kind: Exclude<HoldKind, 'operator'>, scope: { readonly symbol?: string | null; readonly key?: string }, reason: string, by: string): KillSwitchChange | null {
    const symbol = scope.symbol ?? null;
    if (!this.scopes.get(symbol ?? GLOBAL)?.has(`${kind}:${scope.key ?? ''}`)) return null;
    const change = this.apply({ kind, symbol, key: scope.key ?? '', state: KillSwitchState.Off, type: TYPE_OF_KIND[kind], reason, by });
    this.announce(change);
    return change;
  }

  /**
   * Replays changes recorded by an earlier process (from its journal), without announcing them
   * again: each raises or lifts the hold it names. Journals written before holds name none: an
   * operator's change there sets the operators' hold; a flag's halt, or a halt Warden raised for a
   * journal or a fleet, is not replayed (flags rebuild their holds; the rest went with the process).
   * The engine then lifts what a restart lifts (see {@link engineOnlyHold}).
   */
  restore(changes: readonly KillSwitchChange[]): void {
    for (const c of changes) this.replay(c);
  }

  /** Replays one recorded change (see {@link restore}). */
  replay(c: KillSwitchChange): void {
    this.log.push(c);
    // A hold this version cannot read (another version's, or an edited record) is not guessed at.
    if (c.hold !== undefined && !readableHold(c.hold)) return;
    const kind = holdKindOf(c);
    if (!c.hold && kind !== HoldKind.Operator) return;
    const state = c.hold ? (c.hold.action === 'lift' ? KillSwitchState.Off : c.hold.state) : c.to;
    this.apply({ kind, symbol: c.symbol, key: c.hold?.key ?? '', state, type: c.type, reason: c.reason, by: c.operator, at: c.at }, false);
  }

  /** Effective state: the strictest hold over the global scope, or over `symbol` and the global scope. */
  state(symbol?: string): KillSwitchState {
    const global = this.scopeState(GLOBAL);
    return symbol === undefined ? global : mostSevere(global, this.scopeState(symbol));
  }

  /** The strictest hold of the symbol's own scope, ignoring the global one. */
  ownState(symbol: string): KillSwitchState {
    return this.scopeState(symbol);
  }

  /** The state the operators set on a scope (`off` when they set none): what a fleet's switch says. */
  operatorState(symbol?: string | null): KillSwitchState {
    return this.scopes.get(symbol ?? GLOBAL)?.get(`${HoldKind.Operator}:`)?.state ?? KillSwitchState.Off;
  }

  /** Why `symbol` (or the global scope) is held: the type of its strictest hold. */
  typeOf(symbol?: string): KillSwitchType {
    const strictest = this.holds(symbol).sort((a, b) => severity(b.state) - severity(a.state))[0];
    return strictest?.type ?? (symbol === undefined ? KillSwitchType.Global : KillSwitchType.SymbolLevel);
  }

  /** Whether a hold of `kind` is up (on `symbol`'s scope, or anywhere when `symbol` is undefined). */
  has(kind: HoldKind, symbol?: string | null): boolean {
    if (symbol === undefined) return [...this.scopes.values()].some((holds) => [...holds.values()].some((h) => h.kind === kind));
    return [...(this.scopes.get(symbol ?? GLOBAL)?.values() ?? [])].some((h) => h.kind === kind);
  }

  /**
   * The holds in force: of one scope's own (`symbol`, or `null` for global), or every scope's when
   * called without an argument. {@link holdsOver} adds the global ones to a symbol's.
   */
  holds(symbol?: string | null): KillSwitchHold[] {
    if (symbol === undefined) return [...this.scopes.values()].flatMap((holds) => [...holds.values()]);
    return [...(this.scopes.get(symbol ?? GLOBAL)?.values() ?? [])];
  }

  /** Every hold that halts `symbol`: the global scope's and the symbol's own. */
  holdsOver(symbol: string | null): KillSwitchHold[] {
    return symbol === null ? this.holds(null) : [...this.holds(null), ...this.holds(symbol)];
  }

  history(): readonly KillSwitchChange[] {
    return [...this.log];
  }

  onChange(listener: (change: KillSwitchChange) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private scopeState(scope: string): KillSwitchState {
    let state: KillSwitchState = KillSwitchState.Off;
    for (const h of this.scopes.get(scope)?.values() ?? []) state = mostSevere(state, h.state);
    return state;
  }

  private apply(h: { kind: HoldKind; symbol: string | null; key: string; state: KillSwitchState; type: KillSwitchType; reason: string; by: string; at?: string }, record = true): KillSwitchChange {
    const scope = h.symbol ?? GLOBAL;
    const from = this.scopeState(scope);
    const at = h.at ?? new Date(this.now()).toISOString();
    const id = `${h.kind}:${h.key}`;
    let holds = this.scopes.get(scope);
    if (h.state === KillSwitchState.Off) holds?.delete(id);
    else {
      if (!holds) this.scopes.set(scope, (holds = new Map()));
      holds.set(id, { kind: h.kind, symbol: h.symbol, key: h.key, state: h.state, type: h.type, reason: h.reason, by: h.by, since: at, liftedBy: HOLD_LIFTED_BY[h.kind] });
    }
    if (holds?.size === 0) this.scopes.delete(scope);
    const action = h.state === KillSwitchState.Off ? 'lift' : 'raise';
    const change: KillSwitchChange = { at, symbol: h.symbol, from, to: this.scopeState(scope), type: h.type, reason: h.reason, operator: h.by, hold: { kind: h.kind, key: h.key, action, state: h.state } };
    if (record) this.log.push(change);
    return change;
  }

  private announce(change: KillSwitchChange): void {
    for (const l of [...this.listeners]) l(change);
  }
}

const KINDS = new Set<string>(Object.values(HoldKind));
const readableHold = (h: unknown): h is NonNullable<KillSwitchChange['hold']> => {
  const x = h as { kind?: unknown; key?: unknown; action?: unknown; state?: unknown } | null;
  return typeof x === 'object' && x !== null && KINDS.has(x.kind as string) && typeof x.key === 'string' && (x.action === 'raise' || x.action === 'lift') && STATES.has(x.state as string);
};

const severity = (s: KillSwitchState) => (s === KillSwitchState.Active ? 2 : s === KillSwitchState.Warning ? 1 : 0);

/**
 * The hold a recorded change concerned. Journals written before holds carry none: there a
 * `reconciliation` change was a flag's halt, a `warden` change a journal or fleet halt, and
 * anything else an operator's setting.
 */
export function holdKindOf(change: KillSwitchChange): HoldKind {
  if (change.hold) return change.hold.kind;
  if (change.type === KillSwitchType.Reconciliation) return HoldKind.Reconciliation;
  if (change.operator === 'warden') return change.reason.startsWith('journal unwritable') ? HoldKind.Journal : HoldKind.FleetUnconfirmed;
  return HoldKind.Operator;
}

/** Whether a hold of this kind concerns one engine only (never written for a fleet, never lifted by one). */
export const engineOnlyHold = (kind: HoldKind): boolean => ENGINE_ONLY.has(kind);
