/**
 * One kill switch for a fleet of engines (a store shared by several engines, e.g. PostgreSQL).
 * Only two kinds of hold are the fleet's: the operators' (every change an operator makes on any
 * engine is written to the store, every engine hears it and sets the same operator hold) and the
 * reconciliation flags' (each engine holds a symbol for every open flag the store lists, so a fleet
 * halt always has a flag that any engine lists and resolves). Holds that concern one engine
 * (journal, fenced, shutdown) are never written and never lifted by a fleet change. An engine that
 * cannot confirm the fleet's state within the staleness budget fails closed with a
 * `fleet_unconfirmed` hold (global `warning`: no new orders; working orders and protection carry
 * on), which only the store confirming again lifts.
 */
import type { Clock } from '../domain/clock.js';
import { KillSwitchState, KillSwitchType } from '../domain/constants.js';
import type { ExecutionResult } from '../domain/result.js';
import { flushes, sharesKillSwitch } from '../journal/capabilities.js';
import { JournalError, type FleetSwitch, type Journal } from '../journal/types.js';
import type { ExecutionRegistry } from './registry.js';
import { HoldKind, KillSwitchBoard, type KillSwitchChange, type KillSwitchSetOptions } from './killSwitch.js';
import type { Logger } from './logger.js';
import { traceFleetKillSwitch } from './fleetKillSwitchTrace.js';

/** How often the engine checks whether the fleet's state is still confirmed (ms of its clock). */
export const FLEET_STALENESS_CHECK_MS = 250;
/** How often a flag's announcement is tried again while the store is out of reach (ms of its clock). */
const ANNOUNCE_RETRY_MS = 500;

export interface FleetKillSwitch {
  /** Resolves once the fleet's state was confirmed and applied, or the staleness budget ran out (then the engine reads it fail-closed). */
  readonly ready: Promise<void>;
  /** An operator's change on this engine: applied here at once, and written for the fleet. */
  set(state: KillSwitchState, options: KillSwitchSetOptions): KillSwitchChange;
  stop(): Promise<void>;
}

const scopeOf = (symbol: string | null | undefined) => symbol ?? '';

export function joinFleetKillSwitch(deps: {
  readonly store: Journal;
  readonly board: KillSwitchBoard;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly registry: ExecutionRegistry;
  readonly stalenessBudgetMs?: number;
}): FleetKillSwitch | null {
  const { store, board, clock, logger, registry } = deps;
  if (!sharesKillSwitch(store)) return null;
  const setKillSwitch = store.setKillSwitch.bind(store);
  /**
   * Scopes this engine changed: how many of its writes there are unanswered, and the first change id
   * that is not older than its own. Fleet readings are skipped while a write is unanswered (its id is
   * not known yet), and readings older than its change never undo it; once every write is answered
   * (or failed), the watch's current switch of the scope is applied again, so a newer change the
   * watch delivered meanwhile (another engine's, announced before this one's answer) is not lost.
   */
  const written = new Map<string, { pending: number; from: number }>();
  let failingClosed = false;
  let stopped = false;
  /** The change id of the fleet's current setting of `scope`, as the watch last read it (0: none). */
  const heardIn = (scope: string) => watch.switches().find((s) => s.type !== KillSwitchType.Reconciliation && scopeOf(s.symbol) === scope)?.changeId ?? 0;
  /**
   * A write answered (`from`: its change id) or failed (`from`: after the changes the watch had
   * heard when it was sent: a failed write is not in the store, but what the fleet changed since
   * is newer than it).
   */
  const settle = (scope: string, from: number) => {
    const mine = written.get(scope);
    if (!mine) return;
    mine.pending--;
    mine.from = Math.max(mine.from, from);
    if (mine.pending === 0) applyCurrent(scope);
  };
  /** Writes a change of this engine's for the fleet. */
  const write = (request: { readonly state: KillSwitchState } & KillSwitchSetOptions) => {
    const scope = scopeOf(request.symbol);
    const heard = heardIn(scope);
    const mine = written.get(scope) ?? { pending: 0, from: 0 };
    mine.pending++;
    written.set(scope, mine);
    const symbol = request.symbol ?? null;
    const sent = setKillSwitch(request);
    traceFleetKillSwitch(() => ({ stage: 'write_sent', changeId: null, symbol, state: request.state }));
    sent
      .then((stored) => {
        const id = (stored as { id?: unknown } | undefined)?.id;
        traceFleetKillSwitch(() => ({ stage: 'write_committed', changeId: typeof id === 'number' ? id : null, symbol, state: request.state }));
        settle(scope, typeof id === 'number' ? id : 0);
      })
      .catch((e: unknown) => {
        logger.error({ err: String(e), change: request }, 'kill switch applied on this engine but not written for the fleet (a later change by the fleet replaces it): set it again, or with `warden kill-switch --store`');
        settle(scope, heard + 1);
      });
  };

  // Reconciliation flags are the fleet's (rule 6 from any engine): the halt a flag raises, and its
  // lifting, go to every engine; every engine keeps the fleet's open flags, read again whenever the
  // fleet's switches change (a flag's halt, its lifting, or a resolution that leaves the halt on).
  let openFlags: { result: ExecutionResult; symbol: string }[] = [];
  /** The flags' announcements last read after: the flags change only with one (an operator's setting never changes them). */
  let announced: string | null = null;
  const readFlags = store.openFlags?.bind(store);
  const announcementsIn = (switches: readonly FleetSwitch[]) => switches.filter((s) => s.type === KillSwitchType.Reconciliation).map((s) => s.changeId).join(',');
  /** Reads the flags again (as of the switches' announcements, if given). */
  const refreshFlags = (switches?: readonly FleetSwitch[]) => {
    if (!readFlags) return;
    if (switches) announced = announcementsIn(switches);
    const since = registry.readingStarts();
    readFlags().then(
      (flags) => {
        openFlags = [...flags];
        registry.resolvedElsewhere(new Set(flags.map((f) => f.result.advisoryId ?? '')), since);
      },
      (e: unknown) => {
        announced = null;
        logger.warn({ err: String(e) }, 'fleet flags could not be read; they are read again at the next change');
      },
    );
  };
  registry.useFleet({
    open: () => openFlags,
    take: (advisoryId) => {
      const found = openFlags.find((f) => f.result.advisoryId === advisoryId);
      if (found) openFlags = openFlags.filter((f) => f !== found);
      return found;
    },
  });
  // A flag raised or resolved here: once its records are in the store (where the flags are read),
  // the other engines are told to read the flags again. The told change is not a switch setting
  // (readers skip it as one): the flag itself is the fleet's halt. A flag whose records could not be
  // written is not announced; it halts this engine only.
  // An outage does not drop an announcement: the writer keeps the flag's records queued and writes
  // them when the store is back, so the announcement waits for them (every ANNOUNCE_RETRY_MS), in
  // order behind the ones before it. Only a journal failed for good (or a closed store) drops it.
  let announcing: Promise<void> = Promise.resolve();
  const announce = async (change: KillSwitchChange): Promise<void> => {
    for (let tries = 1; !stopped; tries++) {
      try {
        if (flushes(store)) await store.flush();
        await setKillSwitch({ state: change.hold!.state, ...(change.symbol === null ? {} : { symbol: change.symbol }), type: KillSwitchType.Reconciliation, reason: change.reason, operator: change.operator });
        return;
      } catch (e) {
        const code = (e as { code?: unknown } | null)?.code;
        if (code === 'closed' || (e instanceof JournalError && code !== 'unavailable')) {
          logger.error({ err: String(e), change }, 'reconciliation flag not announced to the fleet: its records are not in the store; it halts this engine only');
          return;
        }
        if (tries === 1) logger.warn({ err: String(e), change }, 'reconciliation flag not announced to the fleet yet: the store is out of reach; announced once its records are written');
        await new Promise<void>((resolve) => clock.setTimeout(resolve, ANNOUNCE_RETRY_MS));
      }
    }
  };
  board.onChange((change) => {
    if (change.hold?.kind !== HoldKind.Reconciliation || change.operator === 'fleet' || stopped) return;
    announcing = announcing.then(() => announce(change));
  });

  const apply = (switches: readonly FleetSwitch[], why: string) => {
    for (const s of switches) {
      // A flag's announcement: the flags are read again (below), the hold is the flag's.
      if (s.type === KillSwitchType.Reconciliation) continue;
      const scope = scopeOf(s.symbol);
      const mine = written.get(scope);
      if (mine) {
        // Applied again once the write settles (`settle`), or heard again when the watch reads it.
        if (mine.pending > 0 || s.changeId < mine.from) continue;
        written.delete(scope);
      }
      if (board.operatorState(s.symbol) === s.state) continue;
      const traced = () => ({ changeId: s.changeId, symbol: s.symbol, state: s.state });
      traceFleetKillSwitch(() => ({ stage: 'heard', ...traced() }));
      board.set(s.state, { ...(s.symbol === null ? {} : { symbol: s.symbol }), type: s.type, reason: `${why} (fleet change ${s.changeId})`, operator: 'fleet' });
      traceFleetKillSwitch(() => ({ stage: 'applied', ...traced() }));
    }
  };
  /**
   * Whether a reading went unapplied because the watch was stale: the read that confirms the state
   * again may show nothing new (a notification already delivered the change), so the next check
   * applies the watch's switches whether or not this engine failed closed meanwhile.
   */
  let unapplied = false;
  /** Applies the watch's current switch of `scope` (now, or at the next check if the watch is stale). */
  const applyCurrent = (scope: string) => {
    if (stopped) return;
    if (watch.stale()) unapplied = true;
    else apply(watch.switches().filter((s) => scopeOf(s.symbol) === scope), 'fleet kill switch');
  };
  const watch = store.watchKillSwitches((switches) => {
    if (stopped) return;
    if (watch.stale()) unapplied = true;
    else apply(switches, 'fleet kill switch');
    if (announcementsIn(switches) !== announced) refreshFlags(switches);
  }, { clock, ...(deps.stalenessBudgetMs !== undefined ? { stalenessBudgetMs: deps.stalenessBudgetMs } : {}) });

  /** Fails closed while the fleet's state is unconfirmed; applies it again once confirmed. */
  const check = () => {
    if (stopped) return;
    if (watch.stale() && !failingClosed) {
      failingClosed = true;
      const reason = watch.staleReason() ?? 'the fleet kill switch state is unconfirmed';
      logger.error({ reason }, 'fleet kill switch unconfirmed: new orders halted on this engine until it is confirmed again');
      board.raise({ kind: HoldKind.FleetUnconfirmed, state: KillSwitchState.Warning, reason, by: 'warden' });
    } else if (!watch.stale() && failingClosed) {
      failingClosed = false;
      unapplied = false;
      logger.warn({}, 'fleet kill switch confirmed again: the fleet state applies');
      apply(watch.switches(), 'fleet kill switch confirmed again');
      board.lift(HoldKind.FleetUnconfirmed, {}, 'fleet kill switch state confirmed again', 'warden');
      refreshFlags(watch.switches());
    } else if (!watch.stale() && unapplied) {
      unapplied = false;
      apply(watch.switches(), 'fleet kill switch');
    }
    timer = clock.setTimeout(check, FLEET_STALENESS_CHECK_MS);
  };
  let timer: unknown;
  // Checks start once the state was first confirmed, or the budget ran out without it (then the
  // first check fails closed at once).
  const ready = new Promise<void>((resolve) => {
    const start = () => {
      if (timer !== undefined) return;
      clock.clearTimeout(waited);
      check();
      refreshFlags(watch.switches());
      resolve();
    };
    const waited = clock.setTimeout(start, deps.stalenessBudgetMs ?? 5_000);
    void watch.ready.then(start);
  });

  return {
    ready,
    set(state, options) {
      // Validated by the board's rules first (throws, nothing written); then written for the fleet
      // before it is applied here, so the other engines' part is under way while this one's cancels
      // go out. An operator's setting is the fleet's whatever type it names; readers skip
      // `reconciliation` rows as settings.
      const valid = new KillSwitchBoard(() => clock.now()).set(state, options);
      write({ state, ...options, type: valid.type === KillSwitchType.Reconciliation ? KillSwitchType.Manual : valid.type });
      const change = board.set(state, options);
      traceFleetKillSwitch(() => ({ stage: 'applied', changeId: null, symbol: change.symbol, state }));
      return change;
    },
    async stop() {
      stopped = true;
      clock.clearTimeout(timer);
      await watch.stop();
    },
  };
}
