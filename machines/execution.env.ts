/**
 * What the execution statechart's guards, actions and actors read from outside the context: a
 * clock, the broker behind its checked boundary, the advisory registry and the host's hooks.
 * Built once per machine by `createExecutionMachine(deps)` and handed to each part's factory.
 */
import type { BrokerAdapter, ClientOrderIdDurability } from '../src/broker/types.js';
import { atOnce } from '../src/broker/brokerCall.js';
import { checkedBroker, type BrokerCall, type BrokerObserver, type Deliver } from '../src/broker/checkedBroker.js';
import { parseApproverKeys } from '../src/domain/approvals.js';
import { systemClock, type Clock } from '../src/domain/clock.js';
import { DEFAULT_POLL_INTERVAL_MS } from '../src/domain/constants.js';
import type { FrozenSnapshot, OrderReport } from '../src/domain/schemas.js';
import { FAST_POLL_MS } from '../src/rules/polling.js';
import { NO_LIMIT_FACTS, type LimitFacts } from '../src/rules/limits.js';
import type { ExecutionContext } from './execution.types.js';

export type { BrokerCall, Deliver };

/**
 * Remembers which advisories have executed, so one advisory reaches the broker at most once.
 *
 * @example
 * const advisories: AdvisoryRegistry = createAdvisoryRegistry();
 * const machine = createExecutionMachine({ broker, advisories });
 * advisories.has('adv-1'); // true once adv-1 was claimed, before its first submission
 */
export interface AdvisoryRegistry {
  has(advisoryId: string): boolean;
  /**
   * Claims the advisory before its first submission, with what a restart needs to resume safely.
   * Throws (or rejects) a `BrokerError` with code `duplicate_advisory` when another execution holds
   * it, or `journal_unavailable` when the claim cannot be recorded: nothing is sent either way.
   */
  claim(claim: AdvisoryClaim): void | Promise<void>;
}

/**
 * What a claim records: the advisory, the execution that owns it, its clientOrderId and absolute deadline, and the frozen snapshot.
 *
 * @example
 * const claim: AdvisoryClaim = { advisoryId: 'adv-1', executionId: 'exec-1', clientOrderId: clientOrderIdFor(snapshot), deadlineAt: Date.now() + 30_000, snapshot };
 */
export interface AdvisoryClaim {
  readonly advisoryId: string;
  readonly executionId: string;
  readonly clientOrderId: string;
  /** Absolute hard deadline, ms since epoch. */
  readonly deadlineAt: number;
  readonly snapshot: FrozenSnapshot;
}

/**
 * Everything the machine needs from outside.
 *
 * @example
 * const deps: ExecutionMachineDeps = { broker: new PaperBroker({ seed: 1 }), pollIntervalMs: 250, onBrokerCall: (c) => console.log(c.method, c.phase) };
 * const machine = createExecutionMachine(deps);
 */
export interface ExecutionMachineDeps {
  readonly broker: BrokerAdapter;
  readonly clock?: Clock;
  readonly pollIntervalMs?: number;
  /** The first look-ups of a fresh order on an adapter that pushes nothing (see `nextPollDelay`). Default 50 ms. */
  readonly minPollIntervalMs?: number;
  readonly advisories?: AdvisoryRegistry;
  /**
   * Signed net position on a symbol that the host accounts for *besides* this execution
   * (other executions' fills), read at reconciliation time. Defaults to 0: a flat account.
   */
  readonly otherPositionQuantity?: (symbol: string, executionId: string) => number;
  /**
   * Optional, on a store shared by several engines: the fleet's other executions on the symbol,
   * read from the store before the position is asked for and after its answer (in place of
   * `otherPositionQuantity`). `low`..`high` is what their open orders may have filled by then.
   */
  readonly fleetPosition?: (symbol: string, executionId: string) => Promise<{ readonly net: number; readonly low: number; readonly high: number }>;
  /** Ed25519 public keys (PEM); when given, a snapshot must carry an approval signed by one of them. */
  readonly approvers?: readonly string[];
  /**
   * Sees every broker call: the request before it is sent (a returned promise is awaited before
   * the send), then the answer or the failure.
   */
  readonly onBrokerCall?: BrokerObserver;
  /**
   * The answer to a cancel the host already requested for this execution (the kill switch
   * fan-out, see `killSwitchCancelTarget`), taken once. Asked only when the KILL_SWITCH event said
   * `cancelRequested`; without an answer here, the execution cancels by itself.
   */
  readonly requestedCancel?: (executionId: string) => Promise<OrderReport> | undefined;
  /**
   * The execution's mailbox: the one way anything from outside (a broker answer or failure, a
   * pushed report, a poll's result, the claim's answer, the limit facts) reaches it. The host
   * takes each in at its turn, after telling the execution what it queued for it (kill switch
   * changes), and the journal records a broker answer in that same step. Default: at once.
   */
  readonly deliver?: Deliver;
  /**
   * Gathers what the pre-trade limits are judged against (`checkingLimits`), and admits the order
   * in the same step: counts it, and reserves its quantity against the position limit, so that
   * executions checked at the same time see each other. Never rejects: a fact that cannot be had
   * is a fact (`quote: { kind: 'none' }`). `waiting` is aborted once the execution no longer waits
   * for the facts (a switch, a shutdown or a hold ended it meanwhile): nothing is admitted for it
   * then. Default: no limits, nothing asked.
   */
  readonly readLimitFacts?: (request: LimitFactsRequest, waiting: AbortSignal) => Promise<LimitFacts>;
}

/**
 * What the limits are gathered for: one execution's frozen snapshot.
 *
 * @example
 * const request: LimitFactsRequest = { executionId: 'exec-1', snapshot };
 */
export interface LimitFactsRequest {
  readonly executionId: string;
  readonly snapshot: FrozenSnapshot;
}

/** The deps, read once and checked: what every guard, action and actor of one machine shares. */
export interface ExecutionEnv {
  /** The time for an action to stamp: the clock's reading (the bare definition's stands at the execution's start). */
  readonly now: (c: ExecutionContext) => number;
  readonly clock: Clock;
  readonly broker: ReturnType<typeof checkedBroker>;
  readonly advisories: AdvisoryRegistry;
  readonly approvers: ReturnType<typeof parseApproverKeys> | null;
  /** The venue keeps client order ids after an order is done (`durable`): a resend with the same id cannot be a second order. */
  readonly venueKeepsClientIds: boolean;
  /** The adapter pushes order updates (`subscribe`): polling is only a backstop. */
  readonly venuePushes: boolean;
  /** The adapter attaches a stop to the entry order at the venue (`capabilities.protectOnFill`). */
  readonly venueProtectsOnFill: boolean;
  readonly pollIntervalMs: number;
  readonly minPollIntervalMs: number;
  readonly otherPositionQuantity: (symbol: string, executionId: string) => number;
  readonly fleetPosition: ExecutionMachineDeps['fleetPosition'];
  readonly requestedCancel: (executionId: string) => Promise<OrderReport> | undefined;
  /** The mailbox (`ExecutionMachineDeps.deliver`): every actor hands over what it learned through it. */
  readonly deliver: Deliver;
  readonly readLimitFacts: (request: LimitFactsRequest, waiting: AbortSignal) => Promise<LimitFacts>;
}

/**
 * An in-memory registry: one advisory per registry.
 *
 * @example
 * const advisories = createAdvisoryRegistry();
 * const machine = createExecutionMachine({ broker: new PaperBroker({ seed: 1 }), advisories });
 */
export function createAdvisoryRegistry(): AdvisoryRegistry {
  const claimed = new Map<string, string>();
  return { has: (id) => claimed.has(id), claim: (c) => void claimed.set(c.advisoryId, c.executionId) };
}

/** Reads a declared property of an adapter defensively: a throwing getter counts as not declared. */
function read<T>(get: () => T, fallback: T): T {
  try {
    return get();
  } catch {
    return fallback;
  }
}

export function createEnv(deps: ExecutionMachineDeps): ExecutionEnv {
  const clock = deps.clock ?? systemClock;
  if (deps.approvers && deps.approvers.length === 0) throw new TypeError('approvers is empty: list at least one Ed25519 public key, or leave the option out');
  const { broker } = deps;
  // A custom adapter that does not say is assumed not to keep ids durably.
  const durability = read<ClientOrderIdDurability | undefined>(() => broker.clientOrderIdDurability, undefined);
  const deliver = deps.deliver ?? atOnce;
  return {
    now: () => clock.now(),
    clock,
    // The one boundary every call crosses: bounded, validated, observed (src/broker/checkedBroker.ts).
    broker: checkedBroker(broker, { clock, ...(deps.onBrokerCall ? { observe: deps.onBrokerCall } : {}), deliver }),
    advisories: deps.advisories ?? createAdvisoryRegistry(),
    approvers: deps.approvers ? parseApproverKeys(deps.approvers) : null,
    venueKeepsClientIds: durability === 'durable',
    venuePushes: read(() => typeof broker.subscribe === 'function', false),
    venueProtectsOnFill: read(() => broker.capabilities?.protectOnFill === true, false),
    pollIntervalMs: deps.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    minPollIntervalMs: deps.minPollIntervalMs ?? FAST_POLL_MS,
    otherPositionQuantity: deps.otherPositionQuantity ?? (() => 0),
    fleetPosition: deps.fleetPosition,
    requestedCancel: deps.requestedCancel ?? (() => undefined),
    deliver,
    readLimitFacts: deps.readLimitFacts ?? (() => Promise.resolve(NO_LIMIT_FACTS)),
  };
}
