/**
 * The engine's pre-trade limits: what it was started with (frozen, journaled once, none included), what operators
 * tightened since, and the book that admits orders against them. The book gathers the facts each
 * limit is judged on — the venue's quote and tradability (each within `LIMIT_FACT_CALL_MS`), the
 * position and the orders of the last minute — and admits the order in the same synchronous step:
 * it is counted and its quantity reserved, so executions checked together see each other. The
 * statechart judges (`checkingLimits`); this file only gathers, counts and remembers.
 */
import type { BrokerObserver } from '../broker/checkedBroker.js';
import { describeThrown } from '../broker/errors.js';
import type { BrokerAdapter, PositionReport, Quote } from '../broker/types.js';
import type { Clock } from '../domain/clock.js';
import { LIMIT_FACT_CALL_MS, RATE_WINDOW_MS } from '../domain/constants.js';
import { WardenUsageError } from '../domain/errors.js';
import { canonicalJson, deepFreeze } from '../domain/json.js';
import { parseLimits, type Limits, type LimitsInput } from '../domain/limits.js';
import type { ExecutionResult } from '../domain/result.js';
import { PositionReportSchema, type FrozenSnapshot } from '../domain/schemas.js';
import { JournalKind, type CommandOutcome, type OperatorCommand } from '../journal/types.js';
import type { PositionAdjustment } from '../journal/positionAdjustment.js';
import { loosenings, mergeLimits, resolveLimits, type LimitFacts, type QuoteFact, type TradableFact } from '../rules/limits.js';
import type { EngineJournal } from './engineJournal.js';
import type { PositionLedger } from './ledger.js';
import { UnrecordedChange } from './unrecordedChange.js';
import { fleetFacts, type FleetLedger } from './fleetLedger.js';

/**
 * One tightening of an engine's limits: who, why, when, and the limits before and after.
 *
 * @example
 * const change: LimitsChange = engine.limits.set({ symbols: { EURUSD: { maxPosition: 50_000 } } }, { operator: 'ana', reason: 'NFP at 14:30' });
 * console.log(change.from.symbols.EURUSD, '→', change.to.symbols.EURUSD);
 */
export interface LimitsChange {
  readonly at: string;
  readonly operator: string;
  readonly reason: string;
  readonly change: Limits;
  readonly from: Limits;
  readonly to: Limits;
}

/**
 * How much of a symbol's limits is in use: the net position Warden knows, what open executions
 * could still add, and the orders admitted in the last minute (on the symbol and over all).
 *
 * @example
 * const use: LimitsUsage = engine.limits.usage('EURUSD');
 * console.log(`${Math.abs(use.position.net)} of ${engine.limits.current().symbols.EURUSD?.maxPosition}`);
 */
export interface LimitsUsage {
  readonly position: LimitFacts['position'];
  readonly ordersLastMinute: LimitFacts['ordersLastMinute'];
}

/**
 * An engine's limits, for operators: read them, tighten them (never loosen), see their use.
 *
 * @example
 * engine.limits.set({ symbols: { '*': { maxQuantity: 5_000 } } }, { operator: 'ana', reason: 'thin market' });
 * engine.limits.current().symbols['*']?.maxQuantity; // 5_000
 */
export interface EngineLimits {
  current(): Limits;
  /**
   * Lays `change` over the current limits (a change names only the fields it sets) if that only
   * tightens them; journaled with operator and reason. Throws `WardenUsageError`
   * (`limits_loosened`, `invalid_limits`, `operator_required`, `reason_required`) and changes nothing otherwise.
   * While the journal cannot record, a tightening is applied all the same (it only makes the engine
   * stricter) and then throws `JournalError('unavailable')` saying a restart will not remember it.
   */
  set(change: LimitsInput, options: { readonly operator: string; readonly reason: string }): LimitsChange;
  history(): readonly LimitsChange[];
  usage(symbol: string): LimitsUsage;
}

const NO_LIMITS: Limits = deepFreeze({ symbols: {} });

/**
 * Validates `createEngine`'s `limits` option before anything else is opened: invalid limits, or a
 * price collar on a broker that cannot quote, throw `WardenUsageError` (`invalid_limits`) naming the field.
 *
 * @example
 * const limits = checkEngineLimits({ limits: { symbols: { '*': { maxQuantity: 10 } } } }, broker);
 */
export function checkEngineLimits(input: LimitsInput | undefined, broker: BrokerAdapter): Limits {
  const limits = input === undefined ? NO_LIMITS : parseLimits(input);
  requireQuotes(limits, broker, 'limits');
  return limits;
}

/** A collar the venue can never be asked about would refuse every order: say so at once instead. */
function requireQuotes(limits: Limits, broker: BrokerAdapter, where: string): void {
  const quotes = has(() => typeof broker.getQuote === 'function');
  if (quotes) return;
  const collared = Object.entries(limits.symbols).find(([, l]) => l.priceCollarPct !== undefined);
  if (collared) throw new WardenUsageError('invalid_limits', `${where}.symbols.${collared[0]}.priceCollarPct: the broker ${broker.name} cannot quote (it has no getQuote), so no order could pass the collar`);
}

const has = (get: () => boolean): boolean => {
  try {
    return get();
  } catch {
    return false;
  }
};

type Answer<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** One pre-trade question to the venue, within its time limit; a failure or silence is an answer too. */
function ask<T>(clock: Clock, call: () => Promise<T>): Promise<Answer<T>> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (answer: Answer<T>) => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      resolve(answer);
    };
    const timer = clock.setTimeout(() => finish({ ok: false, reason: `no answer within ${LIMIT_FACT_CALL_MS} ms` }), LIMIT_FACT_CALL_MS);
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(call());
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending.then(
      (value) => finish({ ok: true, value }),
      (e: unknown) => finish({ ok: false, reason: describeThrown(e) }),
    );
  });
}

const positivePrice = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;

/**
 * The engine's limits and the book that admits orders against them.
 *
 * @example
 * const book = createLimitBook({ limits: checkEngineLimits(options.limits, broker), broker, clock, ledger, journal });
 * const machine = createExecutionMachine({ broker, readLimitFacts: book.readFacts });
 */
export function createLimitBook(deps: {
  limits: Limits;
  broker: BrokerAdapter;
  clock: Clock;
  ledger: PositionLedger;
  journal: EngineJournal;
  fleet?: FleetLedger | null;
  /** The limits the journal's last process started with and stopped under (`restoreFromStore`). */
  restored?: { readonly configured: Limits; readonly inForce: Limits } | null;
  /** Hears that the limits given differ from the last process's, whose tightenings are therefore not carried on. */
  onReplaced?: (why: string) => void;
  /**
   * An administrative engine (`recover: false` and no limits given: the CLI's, with no engine
   * running) is no next process: it keeps the journal's limits as they stand, so a kill
   * switch or a resolution made through it never drops an operator's tightening (nor writes to a
   * journal opened only to be read).
   */
  administrative?: boolean;
}) {
  const { broker, clock, ledger, journal } = deps;
  const fleet = deps.fleet ?? null;
  const restored = deps.restored ?? null;
  const configuredLimits = deps.administrative === true && restored !== null ? restored.configured : deps.limits;
  // Started with the limits the last process started with (a supervisor's restart): the operators'
  // tightenings since are still in force — a restart never loosens what nobody loosened. Started
  // with other limits: those are a deliberate new configuration, and the old tightenings go.
  const carried = restored !== null && canonicalJson(restored.configured) === canonicalJson(configuredLimits);
  let current = carried ? restored.inForce : configuredLimits;
  if (restored !== null && !carried && canonicalJson(restored.inForce) !== canonicalJson(restored.configured)) {
    deps.onReplaced?.(`started with limits other than the last process's, so its operators' tightenings are not carried on: it stopped under ${canonicalJson(restored.inForce)}, it starts under ${canonicalJson(deps.limits)}`);
  }
  const changes: LimitsChange[] = [];
  /** Admitted executions not yet settled, per symbol: their full quantity counts until they settle. */
  const reserved = new Map<string, Map<string, { side: FrozenSnapshot['side']; quantity: number }>>();
  const reservedSymbol = new Map<string, string>();
  /**
   * Orders admitted, oldest first; those from `windowStart` on are within the rate window, counted
   * per symbol and over all. Each admission reads and updates them in O(1), however many run.
   */
  const admitted: { symbol: string; at: number; counted: boolean }[] = [];
  const admittedById = new Map<string, (typeof admitted)[number]>();
  const admittedOn = new Map<string, number>();
  let admittedAll = 0;
  let windowStart = 0;
  const uncount = (a: (typeof admitted)[number]) => {
    if (!a.counted) return;
    a.counted = false;
    admittedAll--;
    admittedOn.set(a.symbol, (admittedOn.get(a.symbol) ?? 1) - 1);
  };
  /** Per symbol, what the venue reported beyond Warden's own fills at its last reconciliation. */
  const outside = new Map<string, number>();
  /**
   * Symbols whose last reconciliation was flagged: the venue's answer there was not what Warden
   * expected (a lagging position, a trade outside), so `outside` is not known. The next admission
   * that counts the position asks the venue again first (`positionAgain`).
   */
  const unsure = new Set<string>();
  const configured = () => Object.keys(current.symbols).length > 0 || current.maxOrdersPerMinute !== undefined;

  /**
   * The `start` record is what the next restart compares its own limits with, no limits included:
   * without it, a tightening of an engine started with none would be read as nobody's and dropped.
   * Written at once when there are limits, or an earlier process's to end; otherwise with the first
   * tightening, so the journal of an engine that never has limits holds none.
   */
  let started = false;
  const journalStart = () => {
    started = true;
    journal.append({ kind: JournalKind.Limits, executionId: null, advisoryId: null, snapshotHash: null, event: 'start', payload: { limits: current, configured: configuredLimits } });
  };
  if (deps.administrative !== true && (configured() || restored !== null)) journalStart();

  const usage = (symbol: string, except: string | null): LimitsUsage => {
    let openBuys = 0;
    let openSells = 0;
    for (const [id, r] of reserved.get(symbol) ?? []) {
      if (id === except) continue;
      const left = Math.max(0, r.quantity - Math.abs(ledger.filledBy(id)));
      if (r.side === 'buy') openBuys += left;
      else openSells += left;
    }
    const since = clock.now() - RATE_WINDOW_MS;
    for (; windowStart < admitted.length && admitted[windowStart]!.at <= since; windowStart++) uncount(admitted[windowStart]!);
    if (windowStart > 1_024 && windowStart * 2 > admitted.length) {
      admitted.splice(0, windowStart);
      windowStart = 0;
    }
    return {
      position: { net: (outside.get(symbol) ?? 0) + ledger.net(symbol), openBuys, openSells },
      ordersLastMinute: { symbol: admittedOn.get(symbol) ?? 0, all: admittedAll },
    };
  };

  const quoteOf = async (symbol: string): Promise<QuoteFact> => {
    const answer = await ask<Quote>(clock, () => broker.getQuote!(symbol));
    if (!answer.ok) return { kind: 'none', reason: answer.reason };
    const q = answer.value as Partial<Quote> | null;
    return q && positivePrice(q.bid) && positivePrice(q.ask) ? { kind: 'quoted', bid: q.bid, ask: q.ask } : { kind: 'none', reason: 'unreadable quote' };
  };
  /**
   * The venue's position again, for a symbol whose last answer was flagged: what it holds beyond
   * Warden's fills from now on. Unreadable or silent: the worse of the venue's last answer and
   * Warden's own fills for this order's side counts, so a suspect answer never lowers the exposure.
   */
  const positionAgain = async (symbol: string): Promise<boolean> => {
    const answer = await ask<PositionReport>(clock, () => broker.getPosition(symbol));
    const read = answer.ok ? PositionReportSchema.safeParse(answer.value) : null;
    if (read?.success && read.data.symbol === symbol) {
      outside.set(symbol, read.data.quantity - ledger.net(symbol));
      unsure.delete(symbol);
      return true;
    }
    return false;
  };
  const tradableOf = async (symbol: string): Promise<TradableFact> => {
    const answer = await ask<boolean>(clock, () => broker.isTradable!(symbol));
    if (!answer.ok) return { kind: 'closed', reason: `the venue could not say (${answer.reason})` };
    return answer.value === true ? { kind: 'open' } : { kind: 'closed', reason: answer.value === false ? 'the venue says it is closed or halted' : 'unreadable answer' };
  };

  const api: EngineLimits = {
    current: () => current,
    history: () => [...changes],
    usage: (symbol) => usage(symbol, null),
    set(change, options) {
      if (typeof options?.operator !== 'string' || options.operator.trim() === '') throw new WardenUsageError('operator_required', 'tightening limits needs an operator name');
      if (typeof options.reason !== 'string' || options.reason.trim() === '') throw new WardenUsageError('reason_required', 'tightening limits needs a reason');
      const parsed = parseLimits(change, 'change');
      // A frozen copy of its own: nothing the caller holds can change it later.
      const next = deepFreeze(structuredClone(mergeLimits(current, parsed)));
      const looser = loosenings(current, next);
      if (looser.length > 0) throw new WardenUsageError('limits_loosened', `limits can only be tightened while the engine runs; this would loosen ${looser.join('; ')}`);
      requireQuotes(next, broker, 'change');
      const record: LimitsChange = deepFreeze({ at: new Date(clock.now()).toISOString(), operator: options.operator, reason: options.reason, change: parsed, from: current, to: next });
      if (!started) journalStart();
      journal.append({ kind: JournalKind.Limits, executionId: null, advisoryId: null, snapshotHash: null, event: 'tighten', payload: record });
      // Stricter limits apply even when the journal cannot record them (as a halt does); the caller is told they will not survive a restart.
      current = next;
      changes.push(record);
      const why = journal.failure;
      if (why !== null) throw new UnrecordedChange(`limits tightened on this engine (${JSON.stringify(record.change)}), but the journal could not record it (${why}): a restart will not remember it; tighten them again once the journal works`);
      return record;
    },
  };

  return {
    api,
    /**
     * Gathers the facts, then counts and reserves in one synchronous step (see the file's comment),
     * for an execution still `waiting` for them only.
     */
    async readFacts({ executionId, snapshot }: { executionId: string; snapshot: FrozenSnapshot }, waiting: AbortSignal): Promise<LimitFacts> {
      const { symbol } = snapshot;
      const collar = resolveLimits(current, symbol).priceCollarPct !== undefined;
      const counted = !fleet && unsure.has(symbol) && resolveLimits(current, symbol).maxPosition !== undefined;
      const [quote, tradable, readAgain] = await Promise.all([
        collar ? quoteOf(symbol) : null,
        has(() => typeof broker.isTradable === 'function') ? tradableOf(symbol) : null,
        counted ? positionAgain(symbol) : null,
      ]);
      const factsOf = (use: LimitsUsage): LimitFacts => {
        const limits = resolveLimits(current, symbol);
        // The venue could not say again: its suspect answer (nor a figure a resolution adopted from one) may not lower the exposure this order adds to.
        const own = ledger.ownFills(symbol);
        const net = readAgain !== false ? use.position.net : snapshot.side === 'buy' ? Math.max(use.position.net, own) : Math.min(use.position.net, own);
        return {
          limits,
          maxOrdersPerMinuteAll: current.maxOrdersPerMinute ?? null,
          ...use,
          position: { ...use.position, net },
          quote: limits.priceCollarPct === undefined ? null : (quote ?? { kind: 'none', reason: 'the collar was set while the quote was being asked for' }),
          tradable,
        };
      };
      // On a fleet, the store reads every engine's position and orders and admits the order under
      // the fleet's lock for the symbol: judged with the same rules the chart's guards apply.
      // Otherwise, from here to the return nothing awaits: read, count and reserve are one step.
      const facts = fleet ? await fleetFacts(fleet, snapshot, executionId, current.maxOrdersPerMinute !== undefined, factsOf) : factsOf(usage(symbol, executionId));
      // The execution ended while the venue or the store was asked (a switch, a shutdown, a hold
      // refused it at once), and its settlement has been and gone: admitted now, its quantity and
      // its count would stay for good. Nothing was judged on these facts: nothing is journaled either.
      if (waiting.aborted) {
        fleet?.withdraw(executionId);
        return facts;
      }
      let onSymbol = reserved.get(symbol);
      if (onSymbol === undefined) reserved.set(symbol, (onSymbol = new Map()));
      onSymbol.set(executionId, { side: snapshot.side, quantity: snapshot.positionSize });
      reservedSymbol.set(executionId, symbol);
      const entry = { symbol, at: clock.now(), counted: true };
      admitted.push(entry);
      admittedById.set(executionId, entry);
      admittedAll++;
      admittedOn.set(symbol, (admittedOn.get(symbol) ?? 0) + 1);
      if (configured() || tradable !== null) journal.append({ kind: JournalKind.Limits, executionId, advisoryId: snapshot.advisoryId, snapshotHash: snapshot.hash, event: 'check', payload: facts });
      return facts;
    },
    /** The execution is over: its unfilled part is no longer reserved; a refused order (nothing sent) is not counted. */
    settled(executionId: string, result: ExecutionResult): void {
      const symbol = reservedSymbol.get(executionId);
      const r = result.reconciliation?.status;
      if (symbol !== undefined && r !== undefined && r !== 'matched') unsure.add(symbol);
      if (symbol !== undefined) reserved.get(symbol)?.delete(executionId);
      reservedSymbol.delete(executionId);
      const entry = admittedById.get(executionId);
      admittedById.delete(executionId);
      if (entry && result.status === 'rejected') uncount(entry);
    },
    /** A resolution adopted the venue's figure into the ledger: the venue did not move, so what it holds beyond the ledger shrinks by as much. */
    adjusted(adjustment: PositionAdjustment): void {
      const beyond = outside.get(adjustment.symbol);
      if (beyond !== undefined) outside.set(adjustment.symbol, beyond - adjustment.quantity);
    },
    /** Sees reconciliation's position answers: what the venue holds beyond Warden's own fills. */
    watch(observer: BrokerObserver): BrokerObserver {
      /** Warden's net on the symbol when each reconciliation asked: a fill heard before the answer makes the answer's moment unknown. */
      const askedWith = new Map<string, number>();
      return (call) => {
        if (call.method === 'getPosition' && call.executionId !== null) {
          const asked = askedWith.get(call.executionId);
          askedWith.delete(call.executionId);
          const symbol = (call.payload as { symbol?: unknown } | null)?.symbol;
          if (call.phase === 'request' && typeof symbol === 'string') askedWith.set(call.executionId, ledger.net(symbol));
          const position = call.phase === 'response' ? PositionReportSchema.safeParse(call.payload) : null;
          if (position?.success) {
            const net = ledger.net(position.data.symbol);
            outside.set(position.data.symbol, position.data.quantity - net);
            // The answer may predate those fills (reconciliation explains either): not a figure to count on.
            if (asked !== undefined && asked !== net) unsure.add(position.data.symbol);
          }
        }
        return observer(call);
      };
    },
    /** An operator's `warden limits set`, written into the store's inbox by another process. */
    command(command: Extract<OperatorCommand, { kind: 'limits' }>): CommandOutcome {
      try {
        const change = api.set(command.change, { operator: command.operator, reason: command.reason });
        return { ok: true, message: `limits tightened: ${JSON.stringify(change.change)}` };
      } catch (e) {
        // In force here but not recorded: answered as applied, with the warning, never as a refusal.
        if (e instanceof UnrecordedChange) return { ok: true, unrecorded: true, message: e.message };
        return { ok: false, message: e instanceof WardenUsageError ? e.message : describeThrown(e) };
      }
    },
  };
}

/**
 * The engine's limit book: facts for `checkingLimits`, settlement, and the operator's API.
 *
 * @example
 * const book: LimitBook = createLimitBook({ limits, broker, clock, ledger, journal });
 */
export type LimitBook = ReturnType<typeof createLimitBook>;
