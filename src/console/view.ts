/**
 * What the console shows, kept up to date from the journal alone: executions in flight with their
 * current state, the last ones finished, the kill switches with their history and the flags
 * waiting for an operator. It reads only the records it has not seen (`recordsAfter`), so keeping
 * up costs what was written since the last look, not the journal's length.
 */
import type { ExecutionResult } from '../domain/result.js';
import { KillSwitchBoard, type KillSwitchChange, type KillSwitchHold } from '../engine/killSwitch.js';
import { JournalKind, type JournalRecord } from '../journal/types.js';
import { LimitsTracker, type LimitsView } from './limitsView.js';

/**
 * A journal the view can follow.
 *
 * @example
 * const source: RecordSource = new SqliteJournal('data/warden.journal.sqlite', undefined, { readOnly: true });
 * const view = new ConsoleView(source);
 */
export interface RecordSource {
  recordsAfter(sequence: number, limit: number): readonly JournalRecord[];
}

/**
 * One execution as the console shows it: its snapshot's essentials, current state, path and result.
 *
 * @example
 * const execution: ExecutionView | undefined = view.execution('adv-1');
 * console.log(execution?.state, execution?.result?.status);
 */
export interface ExecutionView {
  readonly executionId: string;
  advisoryId: string | null;
  symbol: string | null;
  side: 'buy' | 'sell' | null;
  quantity: number | null;
  /** The snapshot's reference price (slippage is measured against it). */
  referencePrice: number | null;
  /** Who approved the snapshot, from its claim. */
  approvedBy: string | null;
  clientOrderId: string | null;
  /** Absolute hard deadline (ms since the epoch), from the claim. */
  deadlineAt: number | null;
  startedAt: string;
  /** The statechart state, as the journal's last transition names it (e.g. `live.trading.working`). */
  state: string;
  stateSince: string;
  result: ExecutionResult | null;
  resolution: { readonly operator: string; readonly note: string; readonly at: string } | null;
  /** Every state it passed through, in order, with when. */
  readonly path: { readonly state: string; readonly at: string }[];
}

/**
 * Everything the console shows at one moment: executions in flight and finished, flags and kill switches.
 *
 * @example
 * const snapshot: ConsoleSnapshot = view.snapshot();
 * console.log(snapshot.killSwitch.global, snapshot.inFlight.length, snapshot.flagsOpen.length);
 */
export interface ConsoleSnapshot {
  readonly lastSequence: number;
  /** When the last record taken in was written (ISO), or null for an empty journal. */
  readonly lastRecordAt: string | null;
  /** Per symbol: what Warden's own executions filled, and the venue's last reconciled position. */
  readonly positions: readonly PositionView[];
  readonly inFlight: readonly ExecutionView[];
  readonly finished: readonly ExecutionView[];
  readonly flagsOpen: readonly ExecutionView[];
  readonly flagsResolved: readonly ExecutionView[];
  readonly killSwitch: { readonly global: string; readonly symbols: readonly { symbol: string; state: string }[]; readonly history: readonly KillSwitchChange[]; readonly holds: readonly KillSwitchHold[] };
  /** The limits in force (the last start's, with the tightenings since) and their use at the snapshot's `now`. */
  readonly limits: LimitsView;
}

/**
 * One symbol as the journal knows it: Warden's ledger (the signed sum of what its executions
 * filled, at their fill prices), exposure at the last fill price, the protective levels Warden
 * placed for those fills, and the venue's position as its last reconciliation saw it. Trades made
 * elsewhere, and protective orders the venue triggered since, are only in the venue's figure.
 *
 * @example
 * for (const p of view.snapshot().positions) console.log(p.symbol, p.netQuantity, p.exposure);
 */
export interface PositionView {
  readonly symbol: string;
  /** Signed: + long, - short. */
  readonly netQuantity: number;
  /** Average price of the open net quantity, or null when flat. */
  readonly averagePrice: number | null;
  readonly lastFillPrice: number | null;
  readonly lastFillAt: string | null;
  /** |net| × last fill price. */
  readonly exposure: number;
  readonly fills: number;
  /** Protective levels placed for fills that are still part of the net position (newest first). */
  readonly protection: readonly { readonly advisoryId: string | null; readonly side: 'buy' | 'sell' | null; readonly quantity: number; readonly stopLoss: number; readonly takeProfit: number; readonly at: string }[];
  /** The venue's answer to the last reconciliation's position query. */
  readonly venue: { readonly quantity: number; readonly averagePrice: number | null; readonly stopLoss: number | null; readonly takeProfit: number | null; readonly at: string } | null;
}

interface Ledger {
  net: number;
  average: number | null;
  lastFillPrice: number | null;
  lastFillAt: string | null;
  fills: number;
  protection: PositionView['protection'][number][];
  venue: PositionView['venue'];
}

/** A value the journal holds, as a string only if it is one (a record may hold anything). */
const str = (v: unknown, max = 500): string | null => (typeof v === 'string' ? v.slice(0, max) : null);
/** A finite number only if it is one. */
const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const field = (o: unknown, key: string): unknown => (typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>)[key] : undefined);
const SIDES = new Set(['buy', 'sell']);

/** How many records one refresh reads at most; a long journal is caught up over several. */
const PAGE = 5_000;

/**
 * The console's picture of a journal, brought up to date by `refresh()`.
 *
 * @example
 * const view = new ConsoleView(new SqliteJournal('data/warden.journal.sqlite', undefined, { readOnly: true }));
 * view.refresh();
 * console.log(view.snapshot().inFlight.length);
 */
export class ConsoleView {
  private sequence = 0;
  private readonly executions = new Map<string, ExecutionView>();
  private readonly finishedOrder: string[] = [];
  private readonly board = new KillSwitchBoard(() => 0);
  private readonly listeners = new Set<(records: readonly JournalRecord[]) => void>();
  private readonly ledgers = new Map<string, Ledger>();
  private lastAt: string | null = null;
  private readonly limits = new LimitsTracker();

  /** `keepFinished`: how many finished executions (not flagged) stay in view. */
  constructor(
    private readonly source: RecordSource,
    private readonly keepFinished = 1_000,
  ) {}

  /** The sequence of the last record taken in. */
  get lastSequence(): number {
    return this.sequence;
  }

  /** Reads what was written since the last refresh; returns how many records that was. */
  refresh(): number {
    let taken = 0;
    for (;;) {
      const page = this.source.recordsAfter(this.sequence, PAGE);
      for (const r of page) this.take(r);
      taken += page.length;
      if (page.length > 0) for (const l of [...this.listeners]) l(page);
      if (page.length < PAGE) return taken;
    }
  }

  /** Hears every page of new records (for metrics and live pages). */
  onRecords(listener: (records: readonly JournalRecord[]) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  execution(idOrAdvisory: string): ExecutionView | undefined {
    return this.executions.get(idOrAdvisory) ?? [...this.executions.values()].find((e) => e.advisoryId === idOrAdvisory);
  }

  /** `now`: the moment "orders in the last minute" is counted back from. */
  snapshot(now = Date.now()): ConsoleSnapshot {
    const all = [...this.executions.values()];
    const symbols = [...new Set(this.board.history().map((c) => c.symbol).filter((s): s is string => s !== null))].sort();
    const shown = {
      lastSequence: this.sequence,
      lastRecordAt: this.lastAt,
      positions: [...this.ledgers.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([symbol, l]) => ({
          symbol,
          netQuantity: l.net,
          averagePrice: l.net === 0 ? null : l.average,
          lastFillPrice: l.lastFillPrice,
          lastFillAt: l.lastFillAt,
          exposure: l.lastFillPrice === null ? 0 : Math.abs(l.net) * l.lastFillPrice,
          fills: l.fills,
          protection: [...l.protection].reverse(),
          venue: l.venue,
        })),
      inFlight: all.filter((e) => e.result === null),
      finished: this.finishedOrder
        .map((id) => this.executions.get(id)!)
        .slice(-this.keepFinished)
        .reverse(),
      flagsOpen: all.filter((e) => e.result?.requiresManualResolution === true && e.resolution === null),
      flagsResolved: all.filter((e) => e.resolution !== null).reverse(),
      killSwitch: { global: this.board.state(), symbols: symbols.map((symbol) => ({ symbol, state: this.board.state(symbol) })), history: this.board.history(), holds: this.board.holds() },
    };
    return { ...shown, limits: this.limits.view(now, shown.positions) };
  }

  private take(r: JournalRecord): void {
    this.sequence = r.sequence;
    const at = str(r.at, 64) ?? '';
    if (at) this.lastAt = at;
    this.limits.take(r, this.executions.get(str(r.executionId, 200) ?? '')?.symbol ?? null);
    if (r.kind === JournalKind.KillSwitch) {
      // A change the view cannot read is not guessed at; the engine and `journal verify` say more.
      const change = killSwitchChange(r.payload);
      if (change) this.board.replay(change);
      return;
    }
    if (r.kind === JournalKind.BrokerResponse && r.event === 'getPosition') {
      this.venuePosition(r.payload, at);
      return;
    }
    const executionId = str(r.executionId, 200);
    if (executionId === null) return;
    const e = this.executions.get(executionId) ?? this.begin(r, executionId, at);
    switch (r.kind) {
      case JournalKind.Claim: {
        const snapshot = field(r.payload, 'snapshot');
        const symbol = str(field(snapshot, 'symbol'), 32);
        const side = field(snapshot, 'side');
        e.symbol = symbol ?? e.symbol;
        e.side = SIDES.has(side as string) ? (side as 'buy' | 'sell') : e.side;
        e.quantity = finite(field(snapshot, 'positionSize')) ?? e.quantity;
        e.referencePrice = finite(field(snapshot, 'referencePrice')) ?? e.referencePrice;
        e.approvedBy = str(field(field(snapshot, 'approval'), 'approvedBy'), 100) ?? e.approvedBy;
        e.clientOrderId = str(field(r.payload, 'clientOrderId'), 64);
        e.deadlineAt = finite(field(r.payload, 'deadlineAt'));
        break;
      }
      case JournalKind.Transition: {
        if (e.symbol === null) e.symbol = inputSymbol(r.payload);
        const to = str(r.to, 200);
        if (to !== null && to !== e.state) {
          e.state = to;
          e.stateSince = at;
          e.path.push({ state: to, at });
        }
        break;
      }
      case JournalKind.Result:
        if (!isResult(r.payload)) {
          e.state = 'result record unreadable';
          break;
        }
        if (e.result === null) {
          this.finish(executionId);
          this.book(e, r.payload, at);
        }
        e.result = r.payload;
        break;
      case JournalKind.Resolution: {
        e.resolution = { operator: str(field(r.payload, 'operator'), 100) ?? '(unreadable)', note: str(field(r.payload, 'note'), 2_000) ?? '(unreadable)', at };
        e.state = 'resolved';
        e.path.push({ state: 'resolved', at });
        break;
      }
      default:
        break;
    }
  }

  private ledger(symbol: string): Ledger {
    let l = this.ledgers.get(symbol);
    if (!l) {
      if (this.ledgers.size >= 10_000) return { net: 0, average: null, lastFillPrice: null, lastFillAt: null, fills: 0, protection: [], venue: null }; // bounded: a journal naming endless symbols
      l = { net: 0, average: null, lastFillPrice: null, lastFillAt: null, fills: 0, protection: [], venue: null };
      this.ledgers.set(symbol, l);
    }
    return l;
  }

  /** Adds a finished execution's fill to its symbol's ledger (netting buys against sells). */
  private book(e: ExecutionView, r: ExecutionResult, at: string): void {
    const price = finite(r.fillPrice);
    if (e.symbol === null || e.side === null || r.filledQuantity <= 0 || price === null) return;
    const l = this.ledger(e.symbol);
    const signed = e.side === 'buy' ? r.filledQuantity : -r.filledQuantity;
    const net = l.net + signed;
    if (l.net === 0 || Math.sign(l.net) === Math.sign(signed)) l.average = ((l.average ?? price) * Math.abs(l.net) + price * Math.abs(signed)) / Math.abs(net);
    else if (Math.sign(net) !== Math.sign(l.net) && net !== 0) {
      l.average = price; // flipped: the rest opened at this fill
      l.protection = [];
    }
    l.net = Number(net.toPrecision(12));
    if (l.net === 0) {
      l.average = null;
      l.protection = [];
    }
    l.lastFillPrice = price;
    l.lastFillAt = str(r.finishedAt, 64) ?? at;
    l.fills++;
    const stopLoss = finite(r.stopLoss);
    const takeProfit = finite(r.takeProfit);
    if (stopLoss !== null && takeProfit !== null && Math.sign(signed) === Math.sign(l.net)) {
      l.protection.push({ advisoryId: e.advisoryId, side: e.side, quantity: r.filledQuantity, stopLoss, takeProfit, at: l.lastFillAt });
      if (l.protection.length > 50) l.protection.shift();
    }
  }

  private venuePosition(payload: unknown, at: string): void {
    const symbol = str(field(payload, 'symbol'), 32);
    const quantity = finite(field(payload, 'quantity'));
    if (symbol === null || quantity === null) return;
    this.ledger(symbol).venue = { quantity, averagePrice: finite(field(payload, 'averagePrice')), stopLoss: finite(field(payload, 'stopLoss')), takeProfit: finite(field(payload, 'takeProfit')), at };
  }

  private begin(r: JournalRecord, executionId: string, at: string): ExecutionView {
    const e: ExecutionView = {
      executionId,
      advisoryId: str(r.advisoryId, 200),
      symbol: null,
      side: null,
      quantity: null,
      referencePrice: null,
      approvedBy: null,
      clientOrderId: null,
      deadlineAt: null,
      startedAt: at,
      state: 'validating',
      stateSince: at,
      result: null,
      resolution: null,
      path: [],
    };
    this.executions.set(e.executionId, e);
    return e;
  }

  /** Keeps the finished list bounded; flagged executions stay until resolved, whatever their age. */
  private finish(executionId: string): void {
    this.finishedOrder.push(executionId);
    while (this.finishedOrder.length > this.keepFinished) {
      const old = this.executions.get(this.finishedOrder.shift()!);
      if (old && !(old.result?.requiresManualResolution && old.resolution === null)) this.executions.delete(old.executionId);
    }
  }
}

const STATES = new Set(['off', 'warning', 'active']);

/** A kill switch change with every field of the type the pages read, or null. */
function killSwitchChange(p: unknown): KillSwitchChange | null {
  const to = field(p, 'to');
  const from = field(p, 'from');
  const symbol = field(p, 'symbol');
  const at = field(p, 'at');
  if (!STATES.has(to as string) || !STATES.has(from as string) || !(symbol === null || typeof symbol === 'string') || typeof at !== 'string') return null;
  return {
    at,
    symbol: symbol as string | null,
    from: from as KillSwitchChange['from'],
    to: to as KillSwitchChange['to'],
    type: (str(field(p, 'type'), 40) ?? 'unreadable') as KillSwitchChange['type'],
    reason: str(field(p, 'reason')) ?? '(unreadable)',
    operator: str(field(p, 'operator'), 100) ?? '(unreadable)',
    // The hold it raised or lifted; the board checks it and ignores one it cannot read.
    ...(field(p, 'hold') !== undefined ? { hold: field(p, 'hold') as KillSwitchChange['hold'] } : {}),
  };
}

const nullable = (v: unknown, type: 'number' | 'string') => v === undefined || v === null || typeof v === type;

/**
 * Whether a result record holds every field the console reads, each of the type it reads it as;
 * anything else is shown as unreadable rather than trusted.
 */
export function isResult(p: unknown): p is ExecutionResult {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return false;
  const r = p as Record<string, unknown>;
  if (typeof r.status !== 'string' || typeof r.filledQuantity !== 'number' || !Number.isFinite(r.filledQuantity) || typeof r.requiresManualResolution !== 'boolean') return false;
  if (!['fillPrice', 'stopLoss', 'takeProfit', 'slippagePct'].every((k) => nullable(r[k], 'number'))) return false;
  if (!['clientOrderId', 'brokerOrderId', 'finishedAt', 'startedAt'].every((k) => nullable(r[k], 'string'))) return false;
  const error = r.error;
  if (!(error === undefined || error === null || (typeof field(error, 'code') === 'string' && typeof field(error, 'message') === 'string'))) return false;
  const rec = r.reconciliation;
  if (rec !== undefined && rec !== null) {
    const mismatches = field(rec, 'mismatches');
    if (typeof field(rec, 'status') !== 'string' || !Array.isArray(mismatches)) return false;
    if (!mismatches.every((m) => typeof field(m, 'field') === 'string' && typeof field(m, 'message') === 'string')) return false;
  }
  const attempts = r.attempts;
  if (attempts !== undefined && !(Array.isArray(attempts) && attempts.every((a) => typeof field(a, 'outcome') === 'string' && nullable(field(a, 'error'), 'string')))) return false;
  return true;
}

/** The symbol an execution was started with, from its first transition (before any claim; the input may be anything). */
function inputSymbol(payload: unknown): string | null {
  const symbol = (payload as { event?: { input?: { snapshot?: { symbol?: unknown } } } } | null)?.event?.input?.snapshot?.symbol;
  return typeof symbol === 'string' && symbol.length > 0 && symbol.length <= 32 ? symbol : null;
}
