/**
 * Pre-trade limits, judged. Each check takes the snapshot and the facts the engine gathered
 * before the claim (`LimitFacts`) and returns the refusal it causes, or null; the statechart turns
 * each into one guard of `checkingLimits`. Nothing here reads a clock, a broker or a ledger.
 */
import { ErrorCode } from '../domain/constants.js';
import type { Limits, SymbolLimits } from '../domain/limits.js';
import type { ExecutionError } from '../domain/result.js';
import type { FrozenSnapshot } from '../domain/schemas.js';
import { signedQuantity } from './protection.js';

/**
 * The venue's price when the order was checked: a quote, or why there is none (no answer in its
 * time limit, an unreadable answer, an adapter that cannot quote).
 *
 * @example
 * const quote: QuoteFact = { kind: 'quoted', bid: 1.0999, ask: 1.1001 };
 */
export type QuoteFact = { readonly kind: 'quoted'; readonly bid: number; readonly ask: number } | { readonly kind: 'none'; readonly reason: string };

/**
 * Whether the venue takes orders on the symbol now: open, or closed (closed, halted, or no answer).
 *
 * @example
 * const tradable: TradableFact = { kind: 'closed', reason: 'market closed' };
 */
export type TradableFact = { readonly kind: 'open' } | { readonly kind: 'closed'; readonly reason: string };

/**
 * Everything the limits are judged against, gathered by the engine in one step before the claim.
 * `position.net` is the signed net position Warden knows (fills of every execution, and what the
 * venue reported beyond them at its last reconciliation); `openBuys` and `openSells` are what
 * other admitted executions could still add (the unfilled part of their positionSize).
 * `ordersLastMinute` counts the orders admitted before this one. `quote` is null when the symbol
 * has no collar (nobody asked); `tradable` is null when the adapter cannot say.
 *
 * @example
 * const facts: LimitFacts = { limits: { maxQuantity: 100 }, maxOrdersPerMinuteAll: null, position: { net: 0, openBuys: 0, openSells: 0 }, ordersLastMinute: { symbol: 0, all: 0 }, quote: null, tradable: null };
 */
export interface LimitFacts {
  /** The symbol's limits (its own fields over the `*` default's), as they stood at the check. */
  readonly limits: SymbolLimits;
  readonly maxOrdersPerMinuteAll: number | null;
  readonly position: { readonly net: number; readonly openBuys: number; readonly openSells: number };
  readonly ordersLastMinute: { readonly symbol: number; readonly all: number };
  readonly quote: QuoteFact | null;
  readonly tradable: TradableFact | null;
}

/**
 * The facts of an engine without limits on a venue that says nothing: every check passes.
 *
 * @example
 * limitProblem('quantity', snapshot, NO_LIMIT_FACTS); // null
 */
export const NO_LIMIT_FACTS: LimitFacts = Object.freeze({
  limits: Object.freeze({}),
  maxOrdersPerMinuteAll: null,
  position: Object.freeze({ net: 0, openBuys: 0, openSells: 0 }),
  ordersLastMinute: Object.freeze({ symbol: 0, all: 0 }),
  quote: null,
  tradable: null,
});

/**
 * The limits `checkingLimits` judges, one guard each, in the order they are checked.
 *
 * @example
 * for (const limit of LIMIT_CHECKS) console.log(limit, limitProblem(limit, snapshot, facts)?.code ?? 'ok');
 */
export const LIMIT_CHECKS = ['tradable', 'quantity', 'notional', 'position', 'rate', 'collar'] as const;
/**
 * One of {@link LIMIT_CHECKS}.
 *
 * @example
 * const limit: LimitCheck = 'position';
 */
export type LimitCheck = (typeof LIMIT_CHECKS)[number];

/** Float sums (10 × 1.1) must not refuse an order that sits exactly on its limit. */
const RELATIVE_TOLERANCE = 1e-9;
const exceeds = (value: number, max: number): boolean => value - max > RELATIVE_TOLERANCE * Math.max(1, Math.abs(max));
const fmt = (n: number): string => String(Number(n.toPrecision(12)));

/**
 * The symbol's limits: its own fields over the `*` default's, field by field.
 *
 * @example
 * resolveLimits({ symbols: { '*': { maxQuantity: 10 }, EURUSD: { maxPosition: 50 } } }, 'EURUSD'); // { maxQuantity: 10, maxPosition: 50 }
 */
export function resolveLimits(limits: Limits, symbol: string): SymbolLimits {
  return { ...limits.symbols['*'], ...limits.symbols[symbol] };
}

/**
 * The most the position on the symbol could reach in the order's direction before it (`before`)
 * and with it (`after`), signed: the net position plus what other admitted executions on the same
 * side could still add.
 *
 * @example
 * positionReach('buy', 5, { net: 10, openBuys: 20, openSells: 7 }); // { before: 30, after: 35 }
 */
export function positionReach(side: FrozenSnapshot['side'], quantity: number, position: LimitFacts['position']): { before: number; after: number } {
  const before = side === 'buy' ? position.net + position.openBuys : position.net - position.openSells;
  return { before, after: before + signedQuantity(side, quantity) };
}

/**
 * The price bound an adapter that can bound the fill price receives with the order: the collar's
 * worst price for the side (above the reference for a buy, below for a sell), or null without a collar.
 *
 * @example
 * priceBoundFor(snapshot, { priceCollarPct: 0.01 }); // 1.111 for a buy at 1.1
 */
export function priceBoundFor(snapshot: FrozenSnapshot, limits: SymbolLimits): number | null {
  const pct = limits.priceCollarPct;
  if (pct === undefined) return null;
  return snapshot.side === 'buy' ? snapshot.referencePrice * (1 + pct) : snapshot.referencePrice * (1 - pct);
}

/**
 * Why the order breaks `limit`, with the limit, the value and the figure that broke it; or null.
 *
 * @example
 * limitProblem('quantity', snapshot, { ...NO_LIMIT_FACTS, limits: { maxQuantity: 5 } });
 * // { code: 'limit_quantity', message: 'maxQuantity 5 on EURUSD: the order is for 10' }
 */
export function limitProblem(limit: LimitCheck, snapshot: FrozenSnapshot, facts: LimitFacts): ExecutionError | null {
  const { symbol, positionSize: quantity, referencePrice } = snapshot;
  const l = facts.limits;
  switch (limit) {
    case 'tradable': {
      const t = facts.tradable;
      return t === null || t.kind === 'open' ? null : { code: ErrorCode.NotTradable, message: `${symbol} is not tradable now: ${t.reason}` };
    }
    case 'quantity':
      return l.maxQuantity !== undefined && exceeds(quantity, l.maxQuantity)
        ? { code: ErrorCode.LimitQuantity, message: `maxQuantity ${fmt(l.maxQuantity)} on ${symbol}: the order is for ${fmt(quantity)}` }
        : null;
    case 'notional': {
      const notional = quantity * referencePrice;
      return l.maxNotional !== undefined && exceeds(notional, l.maxNotional)
        ? { code: ErrorCode.LimitNotional, message: `maxNotional ${fmt(l.maxNotional)} on ${symbol}: the order is worth ${fmt(notional)} (${fmt(quantity)} × ${fmt(referencePrice)})` }
        : null;
    }
    case 'position': {
      if (l.maxPosition === undefined) return null;
      const { before, after } = positionReach(snapshot.side, quantity, facts.position);
      // An order that leaves the exposure no larger is never refused: an operator can always reduce.
      if (!exceeds(Math.abs(after), l.maxPosition) || Math.abs(after) <= Math.abs(before)) return null;
      const open = snapshot.side === 'buy' ? facts.position.openBuys : facts.position.openSells;
      return {
        code: ErrorCode.LimitPosition,
        message: `maxPosition ${fmt(l.maxPosition)} on ${symbol}: the position could reach ${fmt(after)} (now ${fmt(facts.position.net)}, ${fmt(open)} more in open ${snapshot.side} orders, this ${snapshot.side} ${fmt(quantity)})`,
      };
    }
    case 'rate': {
      if (l.maxOrdersPerMinute !== undefined && facts.ordersLastMinute.symbol + 1 > l.maxOrdersPerMinute) {
        return { code: ErrorCode.LimitRate, message: `maxOrdersPerMinute ${l.maxOrdersPerMinute} on ${symbol}: this would be order ${facts.ordersLastMinute.symbol + 1} in the last minute` };
      }
      const all = facts.maxOrdersPerMinuteAll;
      return all !== null && facts.ordersLastMinute.all + 1 > all
        ? { code: ErrorCode.LimitRate, message: `maxOrdersPerMinute ${all} over all symbols: this would be order ${facts.ordersLastMinute.all + 1} in the last minute` }
        : null;
    }
    case 'collar': {
      const pct = l.priceCollarPct;
      if (pct === undefined) return null;
      const q = facts.quote;
      if (q === null || q.kind === 'none') return { code: ErrorCode.PriceCollar, message: `priceCollarPct ${fmt(pct)} on ${symbol}: no quote (${q?.reason ?? 'none was asked for'})` };
      const [name, price] = snapshot.side === 'buy' ? (['ask', q.ask] as const) : (['bid', q.bid] as const);
      const distance = Math.abs(price - referencePrice) / referencePrice;
      return exceeds(distance, pct)
        ? { code: ErrorCode.PriceCollar, message: `priceCollarPct ${fmt(pct)} on ${symbol}: the venue's ${name} ${fmt(price)} is ${fmt(distance)} from the reference ${fmt(referencePrice)}` }
        : null;
    }
  }
}

const FIELDS = ['maxQuantity', 'maxNotional', 'maxPosition', 'maxOrdersPerMinute', 'priceCollarPct'] as const;

/**
 * Every way `next` is looser than `current`: a limit raised or removed, for `*`, for any symbol
 * either names, or over all symbols. Empty when `next` only tightens (or keeps) every limit.
 *
 * @example
 * loosenings({ symbols: { '*': { maxQuantity: 10 } } }, { symbols: { '*': { maxQuantity: 20 } } }); // ['symbols.*.maxQuantity: 10 → 20']
 */
export function loosenings(current: Limits, next: Limits): string[] {
  const out: string[] = [];
  const symbols = new Set(['*', ...Object.keys(current.symbols), ...Object.keys(next.symbols)]);
  for (const symbol of symbols) {
    const before = resolveLimits(current, symbol);
    const after = resolveLimits(next, symbol);
    for (const field of FIELDS) {
      const was = before[field];
      const now = after[field];
      if (was !== undefined && (now === undefined || now > was)) out.push(`symbols.${symbol}.${field}: ${fmt(was)} → ${now === undefined ? 'none' : fmt(now)}`);
    }
  }
  const was = current.maxOrdersPerMinute;
  const now = next.maxOrdersPerMinute;
  if (was !== undefined && (now === undefined || now > was)) out.push(`maxOrdersPerMinute: ${was} → ${now ?? 'none'}`);
  return out;
}

/**
 * `current` with `change` laid over it, field by field (a change names only what it tightens).
 *
 * @example
 * mergeLimits({ symbols: { '*': { maxQuantity: 10 } } }, { symbols: { EURUSD: { maxQuantity: 5 } } }); // both entries kept
 */
export function mergeLimits(current: Limits, change: Limits): Limits {
  const symbols: Record<string, SymbolLimits> = { ...current.symbols };
  for (const [symbol, fields] of Object.entries(change.symbols)) symbols[symbol] = { ...symbols[symbol], ...fields };
  const all = change.maxOrdersPerMinute ?? current.maxOrdersPerMinute;
  return { symbols, ...(all !== undefined ? { maxOrdersPerMinute: all } : {}) };
}
