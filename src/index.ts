/**
 * Warden: executes frozen, human-approved trade snapshots against a broker under six safety
 * rules, as an XState v5 statechart.
 *
 * The root entry is the contract a host programs against (DESIGN §5): the engine, snapshots, the
 * broker adapter contract, the journal contract, the statechart for hosts that run XState, and
 * the constants and types these speak in. Each name is listed here on purpose; what only Warden's
 * own parts use (the checked broker boundary, the kill switch board, the paper venue, the log's
 * redaction list, zod schemas) stays inside. Optional parts load from subpaths: `warden/sqlite`,
 * `warden/postgres`, `warden/adapters`, `warden/journal`, `warden/console`, `warden/testing`.
 */

// --- the engine (DESIGN §5)
export { createEngine } from './engine/createEngine.js';
export type { Engine, EngineOptions, EngineKillSwitch, ResolveOptions } from './engine/types.js';
export { HoldKind, HOLD_LIFTED_BY, type KillSwitchChange, type KillSwitchHold, type KillSwitchSetOptions } from './engine/killSwitch.js';
export type { TakeOver } from './engine/fleetLeases.js';
export type { EngineLimits, LimitsChange, LimitsUsage } from './engine/limits.js';

// --- snapshots and approvals (rule 1)
export { freezeSnapshot, SnapshotValidationError, type SnapshotIssue, type SnapshotInputResult } from './domain/snapshot.js';
export type { Approval, FrozenSnapshot, SnapshotFields, OrderStatus } from './domain/schemas.js';
export { generateApproverKeys, signSnapshot, type ApprovalSignature } from './domain/approvals.js';

// --- results, constants and errors
export type { Attempt, ExecutionError, ExecutionResult, ReconciliationMismatch, ReconciliationReport } from './domain/result.js';
export {
  BROKER_CALL_LIMIT_MS,
  CANCEL_RETRY_DELAY_MS,
  DEFAULT_POLL_INTERVAL_MS,
  ErrorCode,
  ExecutionStage,
  FINAL_STATUSES,
  HARD_TIMEOUT_MS,
  KillSwitchState,
  KillSwitchType,
  MAX_CANCEL_ATTEMPTS,
  MAX_PROTECTION_ATTEMPTS,
  MAX_SUBMIT_ATTEMPTS,
  PROTECTION_RETRY_DELAY_MS,
  RETRY_BACKOFF_MS,
  ReconciliationStatus,
  Side,
  type FinalStatus,
} from './domain/constants.js';
export { WardenUsageError } from './domain/errors.js';
export type { Clock } from './domain/clock.js';
export type { Limits, LimitsInput, SymbolLimits } from './domain/limits.js';

// --- the broker adapter contract (DESIGN §6) and the embedded paper broker
export type { BrokerAdapter, ClientOrderIdDurability, OrderRef, OrderReport, OrderRequest, PositionReport, ProtectionReport, ProtectionRequest, Quote } from './broker/types.js';
export { BrokerError, type BrokerErrorCode, type BrokerFailure } from './broker/errors.js';
export { PaperBroker, type PaperBrokerOptions, type PaperMarket, type PaperBrokerState } from './broker/paperBroker.js';

// --- the journal contract (DESIGN §7) and the default in-memory journal
export {
  JournalError,
  JournalKind,
  type CommandOutcome,
  type ExpiredLease,
  type FleetKillSwitchWatch,
  type FleetSwitch,
  type Journal,
  type JournalEntry,
  type JournalFilter,
  type JournalRecord,
  type JournalVerification,
  type OperatorCommand,
  type StoreClaim,
} from './journal/types.js';
export { MemoryJournal, MEMORY_JOURNAL_DEFAULT_MAX_RECORDS, type MemoryJournalOptions } from './journal/memoryJournal.js';
// What a store may do beyond recording, each an interface with the guard the engine asks with.
export {
  decidesClaims,
  flushes,
  hearsCommands,
  keepsRestartIndex,
  leasesExecutions,
  sharesKillSwitch,
  type ClaimStore,
  type CommandInbox,
  type FleetKillSwitchStore,
  type GroupCommit,
  type JournalFollower,
  type LeaseStore,
  type RestartIndex,
} from './journal/capabilities.js';

// --- the statechart, for hosts that run XState themselves
export {
  executionMachine,
  createExecutionMachine,
  clientOrderIdFor,
  createAdvisoryRegistry,
  type AdvisoryClaim,
  type AdvisoryRegistry,
  type BrokerCall,
  type ExecutionContext,
  type ExecutionEmitted,
  type ExecutionEvent,
  type ExecutionHostEvent,
  type ExecutionInput,
  type ExecutionMachine,
  type ExecutionMachineDeps,
} from '../machines/execution.machine.js';

/**
 * The six safety rules as pure functions, the same ones the statechart's guards call.
 *
 * @example
 * import { rules } from 'warden';
 * rules.protectiveLevels('buy', 1.1, -0.01, 0.02); // { stopLoss: 1.089, takeProfit: 1.122 }
 */
export * as rules from './rules/index.js';
