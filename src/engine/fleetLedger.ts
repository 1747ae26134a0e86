/**
 * The engine's side of the fleet's position ledger: on a store shared by several engines (one
 * that implements `fleetPosition` and its companions), reconciliation and the position limit count
 * every engine's executions on the symbol, read from the store, instead of this engine's alone.
 * The engine reports what it hears filled and when an execution settles; a report that cannot be
 * written is logged (the store's figure then stays where it was: an open execution keeps counting
 * its whole size, so the fleet errs on the side of more exposure, never less).
 */
import type { Clock } from '../domain/clock.js';
import type { ExecutionResult } from '../domain/result.js';
import { keepsFleetLedger, type FleetAdmission, type FleetLimitFacts, type FleetPosition } from '../journal/fleetLedger.js';
import type { Journal } from '../journal/types.js';
import type { FrozenSnapshot } from '../domain/schemas.js';
import { LIMIT_CHECKS, limitProblem, type LimitFacts } from '../rules/limits.js';
import type { Logger } from './logger.js';

/**
 * Bound on one read of the fleet's position (ms): no answer is a failed reconciliation, never a guess.
 *
 * @example
 * FLEET_READ_LIMIT_MS; // 5_000
 */
export const FLEET_READ_LIMIT_MS = 5_000;

/**
 * What the engine asks of the fleet's ledger.
 *
 * @example
 * const fleet = joinFleetLedger({ store, clock, logger });
 * const others = await fleet?.othersOn('EURUSD', executionId);
 */
export interface FleetLedger {
  /** The fleet's position on `symbol` besides `executionId`, within {@link FLEET_READ_LIMIT_MS}. */
  othersOn(symbol: string, executionId: string): Promise<FleetPosition>;
  /** Admits an execution if `admit` accepts the fleet's facts, atomically for the fleet. */
  admit(request: FleetAdmission, admit: (facts: FleetLimitFacts) => boolean): Promise<{ readonly facts: FleetLimitFacts; readonly admitted: boolean }>;
  /** The execution is claimed: from now on the fleet counts it (a no-op if its limits admitted it). */
  record(executionId: string, snapshot: FrozenSnapshot): Promise<void>;
  /** The execution's engine heard this much filled (cumulative). */
  filled(executionId: string, filled: number): void;
  /** The execution is over. */
  settled(executionId: string, result: ExecutionResult): void;
  /** The execution ended before its admission was answered (its settlement came first): nothing was sent, it counts no more. */
  withdraw(executionId: string): void;
}

/**
 * The fleet's ledger on `store`, or null when the store is one engine's alone.
 *
 * @example
 * const fleet = joinFleetLedger({ store: await PostgresStore.connect(url), clock: systemClock, logger });
 */
/** A settlement the store did not take is tried again every so often (ms of the clock), so many times: through an outage of a minute. */
const SETTLE_RETRY_MS = 500;
const SETTLE_RETRIES = 120;

export function joinFleetLedger(deps: { readonly store: Journal; readonly clock: Clock; readonly logger: Logger }): FleetLedger | null {
  const { store, clock, logger } = deps;
  if (!keepsFleetLedger(store)) return null;
  const bounded = <T>(what: string, call: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = clock.setTimeout(() => reject(new Error(`the store did not answer ${what} within ${FLEET_READ_LIMIT_MS} ms`)), FLEET_READ_LIMIT_MS);
      call().then(
        (v) => (clock.clearTimeout(timer), resolve(v)),
        (e: unknown) => (clock.clearTimeout(timer), reject(e instanceof Error ? e : new Error(String(e)))),
      );
    });
  const report = (what: string, executionId: string, write: () => Promise<void>) => {
    write().catch((e: unknown) => logger.error({ err: String(e), executionId }, `the fleet's ledger did not record ${what}: other engines count this execution's whole size until it is written`));
  };
  /** Executions in the fleet's ledger (admitted or recorded), with their fill write in flight and the newest figure heard. */
  const joined = new Map<string, { writing: boolean; next: number | null }>();
  // A settlement the store did not take (an outage) is tried again: unwritten, every other engine
  // would count the execution's whole unfilled size for good. A settled row is never settled
  // twice (the statement skips it), so a try whose answer was lost costs nothing.
  const settleInStore = (executionId: string, filled: number, sent: boolean) => {
    const settle = (left: number): Promise<void> =>
      store.settleFleetPosition(executionId, filled, sent).catch((e: unknown) => {
        if (left === 0 || (e as { code?: unknown } | null)?.code === 'closed') throw e;
        return new Promise<void>((resolve) => clock.setTimeout(resolve, SETTLE_RETRY_MS)).then(() => settle(left - 1));
      });
    report('a settlement', executionId, () => settle(SETTLE_RETRIES));
  };
  const writeFill = (executionId: string) => {
    const j = joined.get(executionId);
    if (!j || j.writing || j.next === null) return;
    const filled = j.next;
    j.next = null;
    j.writing = true;
    // One write at a time per execution, the newest figure next: a busy pool never queues a fill per report.
    report('a fill', executionId, () => store.recordFleetFill(executionId, filled).finally(() => ((j.writing = false), writeFill(executionId))));
  };
  return {
    othersOn: (symbol, executionId) => bounded("the fleet's position", () => store.fleetPosition(symbol, executionId)),
    admit: (request, admit) =>
      bounded('an admission', () => store.admitToFleet(request, admit)).then((answer) => {
        if (answer.admitted) joined.set(request.executionId, { writing: false, next: null });
        return answer;
      }),
    record: (executionId, snapshot) =>
      bounded('a record of the execution', () => store.recordFleetExecution({ executionId, symbol: snapshot.symbol, side: snapshot.side, size: snapshot.positionSize })).then(() => {
        if (!joined.has(executionId)) joined.set(executionId, { writing: false, next: null });
      }),
    filled: (executionId, filled) => {
      const j = joined.get(executionId);
      if (!j) return;
      j.next = filled;
      writeFill(executionId);
    },
    // What joined the ledger here, or ran (one taken over joined on its first engine), is settled
    // there: a duplicate or a refusal costs the store nothing.
    settled: (executionId, result) => {
      if (!joined.delete(executionId) && result.status === 'rejected') return;
      settleInStore(executionId, result.filledQuantity ?? 0, result.status !== 'rejected');
    },
    withdraw: (executionId) => {
      if (joined.delete(executionId)) settleInStore(executionId, 0, false);
    },
  };
}

/**
 * The limit facts of an execution on a fleet: the store's position and order counts (every
 * engine's), laid into `factsOf`, and the execution admitted if every limit passes on them. A
 * refused execution is not recorded; the chart's guards then refuse it on the same facts.
 *
 * @example
 * const facts = await fleetFacts(fleet, snapshot, executionId, false, (use) => ({ ...rest, ...use }));
 */
export async function fleetFacts(
  fleet: FleetLedger,
  snapshot: FrozenSnapshot,
  executionId: string,
  wholeFleetRate: boolean,
  factsOf: (use: { readonly position: LimitFacts['position']; readonly ordersLastMinute: LimitFacts['ordersLastMinute'] }) => LimitFacts,
): Promise<LimitFacts> {
  const toFacts = (f: FleetLimitFacts) => factsOf({ position: { net: f.position.net, openBuys: f.position.openBuys, openSells: f.position.openSells }, ordersLastMinute: f.ordersLastMinute });
  // No limit reads the fleet's position or rate on this symbol: nothing to admit under the fleet's
  // lock (the execution joins the ledger once claimed, `record`).
  const own = factsOf({ position: { net: 0, openBuys: 0, openSells: 0 }, ordersLastMinute: { symbol: 0, all: 0 } });
  if (own.limits.maxPosition === undefined && own.limits.maxOrdersPerMinute === undefined && own.maxOrdersPerMinuteAll === null) return own;
  const request = { executionId, symbol: snapshot.symbol, side: snapshot.side, size: snapshot.positionSize, wholeFleetRate };
  const { facts } = await fleet.admit(request, (f) => LIMIT_CHECKS.every((check) => limitProblem(check, snapshot, toFacts(f)) === null));
  return toFacts(facts);
}
