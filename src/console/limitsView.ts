/**
 * The limits the console shows, from the journal alone: the limits an engine journaled at its
 * start, with every operator tightening since laid over them, and their use — the net position
 * per symbol and the orders sent in the last minute, counted from the journal's submit records.
 * A record the console cannot read makes the limits "unreadable", never a guess.
 */
import { RATE_WINDOW_MS } from '../domain/constants.js';
import { WardenUsageError } from '../domain/errors.js';
import { parseLimits, type Limits, type SymbolLimits } from '../domain/limits.js';
import { JournalKind, type JournalRecord } from '../journal/types.js';
import { resolveLimits } from '../rules/limits.js';

/**
 * Which limits the journal says are in force.
 *
 * @example
 * const inForce: LimitsInForce = view.snapshot(Date.now()).limits.inForce;
 * if (inForce.kind === 'set') console.log(inForce.limits.symbols['*']);
 */
export type LimitsInForce =
  | { readonly kind: 'none' }
  | { readonly kind: 'unreadable'; readonly at: string; readonly reason: string }
  | { readonly kind: 'set'; readonly limits: Limits; readonly since: string; readonly tightenings: readonly LimitsTightening[] };

/** One operator tightening, as the journal recorded it. */
export interface LimitsTightening {
  readonly at: string;
  readonly operator: string;
  readonly reason: string;
}

/**
 * One symbol's limits (its own over the `*` default) beside their use.
 *
 * @example
 * for (const u of view.snapshot(Date.now()).limits.symbols) console.log(u.symbol, u.position, '/', u.limits.maxPosition);
 */
export interface SymbolLimitsUse {
  readonly symbol: string;
  readonly limits: SymbolLimits;
  /** |net position| from Warden's ledger. */
  readonly position: number;
  readonly ordersLastMinute: number;
}

/**
 * The limits part of the console's snapshot.
 *
 * @example
 * const { inForce, ordersLastMinute, symbols } = view.snapshot(Date.now()).limits;
 */
export interface LimitsView {
  readonly inForce: LimitsInForce;
  /** Orders sent over all symbols in the minute before the snapshot's `now`. */
  readonly ordersLastMinute: number;
  readonly symbols: readonly SymbolLimitsUse[];
}

/** Bounded: a journal that sends endless orders keeps only the newest. */
const MAX_SENDS = 100_000;
const MAX_TIGHTENINGS = 50;

const field = (o: unknown, key: string): unknown => (typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>)[key] : undefined);
const text = (v: unknown, max: number): string => (typeof v === 'string' ? v.slice(0, max) : '(unreadable)');

/** Limits as the journal holds them, or why they cannot be read. */
function readLimits(v: unknown): { ok: true; limits: Limits } | { ok: false; reason: string } {
  try {
    return { ok: true, limits: parseLimits(v) };
  } catch (e) {
    return { ok: false, reason: e instanceof WardenUsageError ? e.message.slice(0, 300) : 'not limits' };
  }
}

/**
 * Follows a journal's limits and order sends; `view(now, positions)` says what is in force and in use.
 *
 * @example
 * const tracker = new LimitsTracker();
 * for (const r of records) tracker.take(r, symbolOf(r.executionId));
 * tracker.view(Date.now(), [{ symbol: 'EURUSD', netQuantity: 1000 }]);
 */
export class LimitsTracker {
  private inForce: LimitsInForce = { kind: 'none' };
  /** Sends, oldest first: when (ms since the epoch) and on which symbol. */
  private sends: { symbol: string | null; at: number }[] = [];

  /** `symbol`: the symbol of the record's execution, if the view knows it. */
  take(r: JournalRecord, symbol: string | null): void {
    const at = typeof r.at === 'string' ? r.at.slice(0, 64) : '';
    if (r.kind === JournalKind.Limits && r.event === 'start') this.started(field(r.payload, 'limits'), at);
    else if (r.kind === JournalKind.Limits && r.event === 'tighten') this.tightened(r.payload, at);
    else if (r.kind === JournalKind.BrokerRequest && r.event === 'submitOrder') this.sent(field(r.payload, 'symbol'), symbol, Date.parse(at));
  }

  private started(limits: unknown, at: string): void {
    const read = readLimits(limits);
    this.inForce = read.ok ? { kind: 'set', limits: read.limits, since: at, tightenings: [] } : { kind: 'unreadable', at, reason: read.reason };
  }

  /** A tightening records the whole limits after it (`to`): that is what is in force from then. */
  private tightened(payload: unknown, at: string): void {
    const read = readLimits(field(payload, 'to'));
    if (!read.ok) {
      this.inForce = { kind: 'unreadable', at, reason: `a tightening: ${read.reason}` };
      return;
    }
    const before = this.inForce.kind === 'set' ? this.inForce : null;
    const tightening = { at, operator: text(field(payload, 'operator'), 100), reason: text(field(payload, 'reason'), 500) };
    this.inForce = { kind: 'set', limits: read.limits, since: before?.since ?? at, tightenings: [...(before?.tightenings ?? []), tightening].slice(-MAX_TIGHTENINGS) };
  }

  private sent(named: unknown, symbol: string | null, at: number): void {
    if (!Number.isFinite(at)) return;
    this.sends.push({ symbol: typeof named === 'string' ? named.slice(0, 32) : symbol, at });
    // Records come in the order written: a send a minute older than the newest counts for no later `now`.
    if (this.sends.length > MAX_SENDS || (this.sends[0]?.at ?? at) < at - RATE_WINDOW_MS) this.sends = this.sends.filter((s) => s.at >= at - RATE_WINDOW_MS).slice(-MAX_SENDS);
  }

  /** The limits in force and their use at `now`, for the symbols with a position, a limit of their own or a recent order. */
  view(now: number, positions: readonly { readonly symbol: string; readonly netQuantity: number }[]): LimitsView {
    const recent = this.sends.filter((s) => s.at > now - RATE_WINDOW_MS && s.at <= now);
    const limits = this.inForce.kind === 'set' ? this.inForce.limits : { symbols: {} };
    const net = new Map(positions.map((p) => [p.symbol, p.netQuantity]));
    const named = [...net.keys(), ...Object.keys(limits.symbols).filter((k) => k !== '*'), ...recent.map((s) => s.symbol).filter((s): s is string => s !== null)];
    const symbols = [...new Set(named)].sort().slice(0, 1_000);
    return {
      inForce: this.inForce,
      ordersLastMinute: recent.length,
      symbols: symbols.map((symbol) => ({
        symbol,
        limits: resolveLimits(limits, symbol),
        position: Math.abs(net.get(symbol) ?? 0),
        ordersLastMinute: recent.filter((s) => s.symbol === symbol).length,
      })),
    };
  }
}
