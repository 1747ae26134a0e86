/**
 * What the console shows, kept up to date from the journal alone: executions in flight with their
 * current state, the last ones finished, the kill switches with their history and the flags
 * waiting for an operator. It reads only the records it has not seen (`recordsAfter`), so keeping
 * up costs what was written since the last look, not the journal's length.
 */
import type { ExecutionResult } from '../domain/result.js';
import type { FrozenSnapshot } from '../domain/schemas.js';
import { KillSwitchBoard, type KillSwitchChange, type KillSwitchHold } from '../engine/killSwitch.js';
import { JournalKind, type JournalRecord } from '../journal/types.js';

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
  readonly inFlight: readonly ExecutionView[];
  readonly finished: readonly ExecutionView[];
  readonly flagsOpen: readonly ExecutionView[];
  readonly flagsResolved: readonly ExecutionView[];
  readonly killSwitch: { readonly global: string; readonly symbols: readonly { symbol: string; state: string }[]; readonly history: readonly KillSwitchChange[]; readonly holds: readonly KillSwitchHold[] };
}

interface ClaimPayload {
  readonly snapshot?: Partial<FrozenSnapshot>;
  readonly clientOrderId?: string;
  readonly deadlineAt?: number;
}

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

  /** `keepFinished`: how many finished executions (not flagged) stay in view. */
  constructor(
    private readonly source: RecordSource,
    private readonly keepFinished = 200,
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

  snapshot(): ConsoleSnapshot {
    const all = [...this.executions.values()];
    const symbols = [...new Set(this.board.history().map((c) => c.symbol).filter((s): s is string => s !== null))].sort();
    return {
      lastSequence: this.sequence,
      inFlight: all.filter((e) => e.result === null),
      finished: this.finishedOrder
        .map((id) => this.executions.get(id)!)
        .slice(-this.keepFinished)
        .reverse(),
      flagsOpen: all.filter((e) => e.result?.requiresManualResolution === true && e.resolution === null),
      flagsResolved: all.filter((e) => e.resolution !== null).reverse(),
      killSwitch: { global: this.board.state(), symbols: symbols.map((symbol) => ({ symbol, state: this.board.state(symbol) })), history: this.board.history(), holds: this.board.holds() },
    };
  }

  private take(r: JournalRecord): void {
    this.sequence = r.sequence;
    if (r.kind === JournalKind.KillSwitch) {
      // A change the view cannot read is not guessed at; the engine and `journal verify` say more.
      if (isKillSwitchChange(r.payload)) this.board.replay(r.payload);
      return;
    }
    if (r.executionId === null) return;
    const e = this.executions.get(r.executionId) ?? this.begin(r);
    switch (r.kind) {
      case JournalKind.Claim: {
        const claim = (r.payload ?? {}) as ClaimPayload;
        e.symbol = claim.snapshot?.symbol ?? e.symbol;
        e.side = claim.snapshot?.side ?? e.side;
        e.quantity = claim.snapshot?.positionSize ?? e.quantity;
        e.clientOrderId = claim.clientOrderId ?? null;
        e.deadlineAt = claim.deadlineAt ?? null;
        break;
      }
      case JournalKind.Transition:
        if (e.symbol === null) e.symbol = inputSymbol(r.payload);
        if (r.to !== null && r.to !== e.state) {
          e.state = r.to;
          e.stateSince = r.at;
          e.path.push({ state: r.to, at: r.at });
        }
        break;
      case JournalKind.Result:
        if (!isResult(r.payload)) {
          e.state = 'result record unreadable';
          break;
        }
        if (e.result === null) this.finish(r.executionId);
        e.result = r.payload;
        break;
      case JournalKind.Resolution: {
        const p = (r.payload ?? {}) as { operator?: string; note?: string };
        e.resolution = { operator: String(p.operator ?? ''), note: String(p.note ?? ''), at: r.at };
        e.state = 'resolved';
        e.path.push({ state: 'resolved', at: r.at });
        break;
      }
      default:
        break;
    }
  }

  private begin(r: JournalRecord): ExecutionView {
    const e: ExecutionView = {
      executionId: r.executionId!,
      advisoryId: r.advisoryId,
      symbol: null,
      side: null,
      quantity: null,
      clientOrderId: null,
      deadlineAt: null,
      startedAt: r.at,
      state: 'validating',
      stateSince: r.at,
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

function isKillSwitchChange(p: unknown): p is KillSwitchChange {
  const c = p as Partial<KillSwitchChange> | null;
  return typeof c === 'object' && c !== null && STATES.has(c.to as string) && STATES.has(c.from as string) && (c.symbol === null || typeof c.symbol === 'string') && typeof c.at === 'string';
}

/** The fields the console reads of a result, with the types it reads them as. */
export function isResult(p: unknown): p is ExecutionResult {
  const r = p as Partial<ExecutionResult> | null;
  if (typeof r !== 'object' || r === null || typeof r.status !== 'string' || typeof r.filledQuantity !== 'number' || typeof r.requiresManualResolution !== 'boolean') return false;
  if (r.reconciliation !== null && r.reconciliation !== undefined && !(Array.isArray(r.reconciliation.mismatches) && r.reconciliation.mismatches.every((m) => typeof m === 'object' && m !== null))) return false;
  return r.error === null || r.error === undefined || (typeof r.error === 'object' && typeof r.error.message === 'string');
}

/** The symbol an execution was started with, from its first transition (before any claim; the input may be anything). */
function inputSymbol(payload: unknown): string | null {
  const symbol = (payload as { event?: { input?: { snapshot?: { symbol?: unknown } } } } | null)?.event?.input?.snapshot?.symbol;
  return typeof symbol === 'string' && symbol.length > 0 && symbol.length <= 32 ? symbol : null;
}
