/**
 * How the engine writes its journal: a store that may fail (fail-safe, never a crash), every
 * broker call under the execution it belongs to, and every transition of every execution.
 */
import type { InspectionEvent } from 'xstate';
import type { BrokerObserver } from '../broker/checkedBroker.js';
import { describeThrown } from '../broker/errors.js';
import { flushes } from '../journal/capabilities.js';
import { JournalError, JournalKind, type Journal, type JournalEntry, type JournalRecord } from '../journal/types.js';
import type { ExecutionContext } from '../../machines/execution.types.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from './logger.js';

/** The journal identity of an execution: broker calls and transitions are recorded under it. */
export interface JournalIds {
  executionId: string;
  advisoryId: string | null;
  snapshotHash: string | null;
}

/**
 * The store as the engine uses it. A store that fails (disk full, read-only remount) fails once:
 * `onFailure` hears why, and from then on nothing is appended.
 */
export interface EngineJournal {
  /** The record, or null when the journal is unwritable. Never throws. */
  append(entry: JournalEntry): JournalRecord | null;
  /** Resolves once everything appended is durable (a store writing in batches); rejects if it could not be written. */
  durable(): Promise<void> | undefined;
  /** Why the journal became unwritable, or null. */
  readonly failure: string | null;
}

export function createEngineJournal(store: Journal, onFailure: (why: string, error: unknown) => void): EngineJournal {
  let failure: string | null = null;
  const failed = (e: unknown) => {
    if (failure !== null) return;
    failure = describeThrown(e);
    onFailure(failure, e);
  };
  return {
    get failure() {
      return failure;
    },
    append(entry) {
      if (failure !== null) return null;
      try {
        return store.append(entry);
      } catch (e) {
        failed(e);
        return null;
      }
    },
    durable() {
      return (flushes(store) ? store.flush() : undefined)?.catch((e: unknown) => {
        // A shared store out of reach keeps what is queued and writes it when it is back: the wait
        // fails (nothing is sent meanwhile) but the journal is not lost. Anything else is for good.
        if (!(e instanceof JournalError && e.code === 'unavailable')) failed(e);
        throw e;
      });
    },
  };
}

/** The clientOrderId a broker call is about, when its payload names one. */
function clientOrderIdOf(payload: unknown): string | undefined {
  const id = payload !== null && typeof payload === 'object' ? (payload as { clientOrderId?: unknown }).clientOrderId : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** How often a protection waiting for its record on a fleet asks the journal again (ms of the engine's clock). */
const RECORD_RETRY_MS = 250;
/** The longest a protection waits for its record while this engine still holds the execution (ms). */
const RECORD_WAIT_MS = 30_000;

const BROKER_KINDS = { request: JournalKind.BrokerRequest, response: JournalKind.BrokerResponse, error: JournalKind.BrokerError } as const;

/**
 * Journals every broker call under its execution, logs what an operator needs, and holds a send
 * until its intent is durable (rule: intent before send).
 */
export function journalBrokerCalls(deps: {
  readonly journal: EngineJournal;
  readonly logger: Logger;
  /** The execution's journal identity and the clientOrderId of its latest request, while it runs. */
  readonly idsOf: (executionId: string) => (JournalIds & { lastClientOrderId?: string }) | undefined;
  /**
   * For an engine whose executions another engine may take over, on a venue that does not keep
   * client order ids for good: the taker reads the journal to know what was requested, and a
   * protection it cannot see there would be placed a second time. So a protection waits for its
   * record for as long as this engine may still send for the execution (`maySend`: its lease
   * confirmed), trying again every RECORD_RETRY_MS of `clock`; once it may not, it is not sent
   * (the taker protects). A journal failed for good while the lease holds (no taker while this
   * engine lives), or a wait past RECORD_WAIT_MS, sends it: an unprotected fill is worse.
   */
  readonly protectionAwaitsRecord?: { readonly clock: Clock; readonly maySend: (executionId: string) => boolean } | null;
}): BrokerObserver {
  const { journal, logger } = deps;
  const fleet = deps.protectionAwaitsRecord ?? null;
  /** Resolves once the protection may go out (recorded, or it must go out anyway); rejects when it must not. */
  const protectionRecorded = async (executionId: string, first: Promise<void> | undefined): Promise<void> => {
    const { clock, maySend } = fleet!;
    const giveUpAt = clock.now() + RECORD_WAIT_MS;
    for (let wait = first; ; wait = journal.durable()) {
      try {
        await wait;
        return;
      } catch (e) {
        if (!maySend(executionId)) throw e;
        if (journal.failure !== null || clock.now() >= giveUpAt) {
          logger.error({ executionId, err: describeThrown(e) }, 'protection sent without its record: the journal cannot record it, and this engine still holds the execution');
          return;
        }
        await new Promise<void>((resolve) => clock.setTimeout(resolve, RECORD_RETRY_MS));
      }
    }
  };
  // An answer is observed inside its delivery (src/engine/mailbox.ts): the execution has heard every switch change before it is journaled.
  return (c) => {
    const entry = c.executionId === null ? undefined : deps.idsOf(c.executionId);
    const ids = c.executionId === null ? { executionId: null, advisoryId: null, snapshotHash: null } : { executionId: c.executionId, advisoryId: entry?.advisoryId ?? null, snapshotHash: entry?.snapshotHash ?? null };
    const recorded = journal.append({ ...ids, kind: BROKER_KINDS[c.phase], event: c.method, payload: c.payload });
    if (c.executionId === null) return;
    // An error's payload is the failure: the order it concerns is the one its request named.
    const named = c.phase === 'request' ? clientOrderIdOf(c.payload) : undefined;
    if (named !== undefined && entry) entry.lastClientOrderId = named;
    const clientOrderId = entry?.lastClientOrderId;
    // What an operator needs to follow an execution through a bad day at the venue.
    if (c.phase === 'error') logger.warn({ executionId: c.executionId, advisoryId: ids.advisoryId, clientOrderId, method: c.method, elapsedMs: c.elapsedMs, error: describeThrown(c.payload) }, `broker ${c.method} failed`);
    else if (c.phase === 'request' && c.method === 'submitOrder') logger.info({ executionId: c.executionId, advisoryId: ids.advisoryId, clientOrderId }, 'order sent');
    // Intent before send: an order whose request cannot be recorded is not sent. Cancels, look-ups
    // and (unless another engine may take the execution over) protection still go out — they only
    // reduce risk or read.
    if (recorded === null && c.phase === 'request' && c.method === 'submitOrder') throw new Error(`journal unavailable: ${journal.failure}`);
    if (recorded === null && c.phase === 'request' && c.method === 'placeProtection' && fleet && !fleet.maySend(c.executionId)) throw new Error(`journal unavailable: ${journal.failure}`);
    // Group commit: every send waits for its batch (the claim and this request) to be on disk.
    // For a submit, a batch that cannot be written means no send. Protection waits too (a restart
    // must know it was asked for, or it would place it twice) but on one engine goes out even if
    // the batch fails: an unprotected fill is worse. Cancels and look-ups never wait.
    if (c.phase === 'request' && (c.method === 'submitOrder' || c.method === 'placeProtection')) {
      const durable = journal.durable();
      if (c.method === 'placeProtection' && fleet && recorded !== null) return protectionRecorded(c.executionId, durable);
      if (durable) return c.method === 'submitOrder' ? durable : durable.catch(() => undefined);
    }
  };
}

/** Whether a report changed nothing a reader of the journal would see: the order as merged, and the facts around it. */
function nothingChanged(a: ExecutionContext, b: ExecutionContext): boolean {
  const x = a.order;
  const y = b.order;
  const sameOrder =
    x === y ||
    (x !== null && y !== null && x.status === y.status && x.filledQuantity === y.filledQuantity && x.averageFillPrice === y.averageFillPrice && x.pricedQuantity === y.pricedQuantity && x.brokerOrderId === y.brokerOrderId && x.reason === y.reason);
  return sameOrder && a.killSwitch === b.killSwitch && a.stop === b.stop && a.deadline === b.deadline && a.protection === b.protection && a.reconciliation === b.reconciliation;
}

/** `a.b.c` from a state value. */
export const stateName = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const [key, inner] = Object.entries(value)[0] ?? ['?', null];
    return inner === null || inner === undefined ? key : `${key}.${stateName(inner)}`;
  }
  return String(value);
};

/**
 * An inspection observer that journals one execution's transitions. Microsteps are reported
 * while the machine transitions, before the invokes they start send anything, so the journal
 * reads in causal order (transition, then its broker call).
 */
export function journalTransitions(deps: {
  readonly record: (entry: Omit<JournalEntry, 'executionId' | 'advisoryId' | 'snapshotHash'>) => void;
  /** What the journal keeps of the input (the frozen snapshot, or a bounded outline of refused input). */
  readonly initSummary: unknown;
  /** Also hears every inspection event. */
  readonly forward: (event: InspectionEvent) => void;
}): { inspect: (event: InspectionEvent) => void; readonly state: () => string } {
  let previousState = 'validating'; // every execution starts there
  let previous: ExecutionContext | null = null;
  return {
    state: () => previousState,
    inspect: (ev) => {
      if (ev.type === '@xstate.microstep' && ev.actorRef.sessionId === ev.rootId) {
        const snap = ev.snapshot as unknown as { value: unknown; context: ExecutionContext };
        const c = snap.context;
        const to = stateName(snap.value);
        const type = ev.event.type;
        // A poll that changes nothing is already journaled as its broker call; skip the no-op transition.
        if (!(type === 'ORDER_UPDATE' && to === previousState && previous !== null && nothingChanged(previous, c))) {
          deps.record({
            kind: JournalKind.Transition,
            from: previousState,
            to,
            event: type,
            // An invoked call's answer is journaled as its broker.response record: the transition names it only.
            payload: { event: type === 'xstate.init' ? deps.initSummary : type.startsWith('xstate.done.actor.') ? { type } : ev.event, filledQuantity: c.order?.filledQuantity ?? 0, killSwitch: c.killSwitch.state },
          });
          previousState = to;
        }
        previous = c;
      }
      deps.forward(ev);
    },
  };
}
