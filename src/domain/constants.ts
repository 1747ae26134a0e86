/**
 * Constants and enumerations shared by every part of Warden.
 *
 * Enumerations are `as const` objects (not TS `enum`) so their values are plain strings
 * in results, journals and JSON, and each has a matching union type.
 */

/**
 * The hard execution window: 30 s from the first submission. Nothing can raise it; it is not
 * an option of `createEngine` on purpose.
 *
 * @example
 * const deadlineAt = firstSubmissionAt + HARD_TIMEOUT_MS; // 30 s later, whatever the engine's options
 */
export const HARD_TIMEOUT_MS = 30_000 as const;

/**
 * Upper bound on submission attempts for one snapshot (first send plus retries). A broker that
 * answers "unknown" forever must not make Warden loop until the deadline at full speed.
 *
 * @example
 * result.attempts.filter((a) => a.kind === 'submit').length <= MAX_SUBMIT_ATTEMPTS; // always true: at most 5
 */
export const MAX_SUBMIT_ATTEMPTS = 5 as const;

/**
 * Pause before retry number n (1-based) after an order was confirmed absent.
 *
 * @example
 * RETRY_BACKOFF_MS[1]; // 250: the pause before the first retry
 * RETRY_BACKOFF_MS[4]; // 2_000: the pause before the fourth and last
 */
export const RETRY_BACKOFF_MS = [0, 250, 500, 1_000, 2_000] as const;

/**
 * How many cancel requests are made for an order that keeps working after the first one.
 *
 * @example
 * MAX_CANCEL_ATTEMPTS; // 3 cancel requests at most, CANCEL_RETRY_DELAY_MS apart
 */
export const MAX_CANCEL_ATTEMPTS = 3 as const;

/**
 * How many times placing protection is attempted after a retryable (unknown) failure.
 *
 * @example
 * MAX_PROTECTION_ATTEMPTS; // 3 tries at placing protection, PROTECTION_RETRY_DELAY_MS apart
 */
export const MAX_PROTECTION_ATTEMPTS = 3 as const;

/**
 * Default interval for polling `getOrder` while an order works.
 *
 * @example
 * const engine = createEngine({ broker, pollIntervalMs: DEFAULT_POLL_INTERVAL_MS * 2 }); // poll every second instead
 */
export const DEFAULT_POLL_INTERVAL_MS = 500 as const;

/**
 * Every broker call has a time limit: no answer within it is an unknown outcome (the order may
 * exist), handled as one — looked up, retried within bounds, or flagged. Never waited on forever.
 *
 * @example
 * BROKER_CALL_LIMIT_MS.submitOrder; // 10_000
 * const broker = checkedBroker(adapter, { clock: systemClock, limits: { getOrder: BROKER_CALL_LIMIT_MS.getOrder / 2 } });
 */
export const BROKER_CALL_LIMIT_MS = {
  submitOrder: 10_000,
  getOrder: 5_000,
  cancelOrder: 5_000,
  /** A batch cancel (the kill switch fan-out): one limit for the whole batch. */
  cancelOrders: 5_000,
  getPosition: 5_000,
  placeProtection: 10_000,
} as const;

/**
 * Time limit of each pre-trade question to the venue (`getQuote`, `isTradable`), asked before the
 * claim: no answer in time refuses the order (`price_collar` "no quote", `not_tradable`), never
 * skips the check.
 *
 * @example
 * LIMIT_FACT_CALL_MS; // 2_000: a quote slower than this refuses the order
 */
export const LIMIT_FACT_CALL_MS = 2_000 as const;

/**
 * The window of `maxOrdersPerMinute`: orders admitted within the last this many milliseconds count.
 *
 * @example
 * RATE_WINDOW_MS; // 60_000
 */
export const RATE_WINDOW_MS = 60_000 as const;

/**
 * Pause between two cancel attempts while stopping.
 *
 * @example
 * CANCEL_RETRY_DELAY_MS; // 500 ms between two of the MAX_CANCEL_ATTEMPTS cancel requests
 */
export const CANCEL_RETRY_DELAY_MS = 500 as const;
/**
 * Pause before protection is tried again after an unknown outcome.
 *
 * @example
 * PROTECTION_RETRY_DELAY_MS; // 500 ms before protection is placed again
 */
export const PROTECTION_RETRY_DELAY_MS = 500 as const;

/**
 * Stages an execution passes through; the last is `result.status`. Values from the original system.
 *
 * @example
 * if (result.status === ExecutionStage.PartiallyFilled) console.log(`only ${result.filledQuantity} filled`);
 */
export const ExecutionStage = {
  Pending: 'pending',
  Submitted: 'submitted',
  Filled: 'filled',
  PartiallyFilled: 'partially_filled',
  Cancelled: 'cancelled',
  Failed: 'failed',
  ExecutedFullLate: 'executed_full_late',
  FailedTimeout: 'failed_timeout',
  Rejected: 'rejected',
} as const;
export type ExecutionStage = (typeof ExecutionStage)[keyof typeof ExecutionStage];

/**
 * Final values of `ExecutionResult.status` (`pending` and `submitted` only appear in attempts).
 *
 * @example
 * FINAL_STATUSES.includes(result.status); // always true for a settled result
 */
export const FINAL_STATUSES = [
  ExecutionStage.Filled,
  ExecutionStage.ExecutedFullLate,
  ExecutionStage.PartiallyFilled,
  ExecutionStage.Cancelled,
  ExecutionStage.FailedTimeout,
  ExecutionStage.Rejected,
  ExecutionStage.Failed,
] as const;
/**
 * A final value of `ExecutionResult.status`: one of {@link FINAL_STATUSES}.
 *
 * @example
 * const status: FinalStatus = result.status; // 'filled', 'cancelled', 'failed_timeout', …
 */
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/**
 * Kill switch states, from least to most severe.
 *
 * @example
 * engine.killSwitch.set(KillSwitchState.Warning, { symbol: 'EURUSD', reason: 'news at 14:30', operator: 'ana' });
 * engine.killSwitch.state('EURUSD'); // 'warning'
 */
export const KillSwitchState = {
  /** Trade normally. */
  Off: 'off',
  /** No new orders; working orders are left alone ("reduce only"). */
  Warning: 'warning',
  /** No new orders, and working orders are cancelled. */
  Active: 'active',
} as const;
export type KillSwitchState = (typeof KillSwitchState)[keyof typeof KillSwitchState];

/**
 * Why a kill switch was set.
 *
 * @example
 * engine.killSwitch.set('active', { type: KillSwitchType.RiskLimit, reason: 'daily loss limit reached', operator: 'risk' });
 */
export const KillSwitchType = {
  Global: 'global',
  SymbolLevel: 'symbol_level',
  RiskLimit: 'risk_limit',
  Manual: 'manual',
  Reconciliation: 'reconciliation',
} as const;
export type KillSwitchType = (typeof KillSwitchType)[keyof typeof KillSwitchType];

/**
 * Outcome of the single post-execution reconciliation.
 *
 * @example
 * if (result.reconciliation?.status === ReconciliationStatus.MissingSlTp) notifyOperator(result);
 */
export const ReconciliationStatus = {
  Matched: 'matched',
  Mismatch: 'mismatch',
  PhantomPosition: 'phantom_position',
  MissingPosition: 'missing_position',
  MissingSlTp: 'missing_sl_tp',
  /** The broker could not be queried: nothing is known, so it needs a human as much as a mismatch. */
  Unavailable: 'unavailable',
} as const;
export type ReconciliationStatus = (typeof ReconciliationStatus)[keyof typeof ReconciliationStatus];

/**
 * Machine-readable reasons an execution did not do what was asked.
 *
 * @example
 * if (result.error?.code === ErrorCode.KillSwitchActive) console.log('not sent: the kill switch is on');
 */
export const ErrorCode = {
  InvalidSnapshot: 'invalid_snapshot',
  SnapshotExpired: 'snapshot_expired',
  NotApproved: 'not_approved',
  KillSwitchActive: 'kill_switch_active',
  DuplicateAdvisory: 'duplicate_advisory',
  SnapshotTampered: 'snapshot_tampered',
  BrokerRejected: 'broker_rejected',
  /** The deadline passed with nothing filled. */
  Timeout: 'timeout',
  /** Submission attempts were used up while the outcome stayed unknown. */
  RetriesExhausted: 'retries_exhausted',
  /** An order may exist that Warden could not confirm either way. */
  OutcomeUnknown: 'outcome_unknown',
  /** Protective orders could not be placed for a filled quantity. */
  ProtectionFailed: 'protection_failed',
  /** The engine was closed before the execution started. */
  EngineClosed: 'engine_closed',
  /** The journal could not be written: new orders are halted engine-wide and the execution is flagged. */
  JournalUnavailable: 'journal_unavailable',
  /** A defect inside Warden; the execution is flagged for a human. */
  Internal: 'internal_error',
  // Pre-trade limits (`createEngine({ limits })`), checked in `checkingLimits`; nothing is sent.
  /** The order's quantity is above `maxQuantity`. */
  LimitQuantity: 'limit_quantity',
  /** quantity × referencePrice is above `maxNotional`. */
  LimitNotional: 'limit_notional',
  /** The absolute net position after this order could exceed `maxPosition`. */
  LimitPosition: 'limit_position',
  /** More orders in the last minute than `maxOrdersPerMinute` (the symbol's or all symbols'). */
  LimitRate: 'limit_rate',
  /** The venue's price is further from `referencePrice` than `priceCollarPct`, or no quote could be had. */
  PriceCollar: 'price_collar',
  /** The venue says the instrument cannot be traded now (closed, halted), or could not say. */
  NotTradable: 'not_tradable',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Order sides.
 *
 * @example
 * const req: OrderRequest = { clientOrderId: clientOrderIdFor(snapshot), symbol: 'EURUSD', side: Side.Buy, quantity: 1000, type: 'market' };
 */
export const Side = { Buy: 'buy', Sell: 'sell' } as const;
export type Side = (typeof Side)[keyof typeof Side];
