/**
 * What an engine must know when it starts over an existing journal: pure, from the records.
 */
import type { ExecutionRecovery } from '../../machines/execution.types.js';
import type { ExecutionResult } from '../domain/result.js';
import type { FrozenSnapshot } from '../domain/schemas.js';
import { isLimitsSetting, readCheckpoint } from '../journal/checkpoint.js';
import type { Limits } from '../domain/limits.js';
import { keepsRestartIndex } from '../journal/capabilities.js';
import { positionAdjustmentOf } from '../journal/positionAdjustment.js';
import { JournalKind, type Journal, type JournalRecord } from '../journal/types.js';
import { signedQuantity } from '../rules/protection.js';
import type { KillSwitchChange } from './killSwitch.js';
import { WardenUsageError } from '../domain/errors.js';

export interface UnfinishedExecution {
  readonly executionId: string;
  readonly snapshot: FrozenSnapshot;
  readonly recovery: ExecutionRecovery;
  /** The broker (venue and account) the order went to, as its claim recorded it; null in older journals. */
  readonly broker: string | null;
}

export interface RestoredState {
  readonly claimedAdvisories: ReadonlySet<string>;
  readonly killSwitchChanges: readonly KillSwitchChange[];
  /**
   * Signed filled quantity per finished execution, for reconciling several executions on one
   * symbol, and each position adjustment a resolution adopted from the venue (keyed `adjustment:SEQUENCE`).
   */
  readonly fills: ReadonlyMap<string, { symbol: string; signed: number }>;
  /** Finished executions still waiting for an operator's resolve(), with the symbol they halt. */
  readonly awaiting: readonly { readonly result: ExecutionResult; readonly symbol: string }[];
  /** Executions that reached the broker and never finished: the process died. */
  readonly unfinished: readonly UnfinishedExecution[];
  /**
   * The limits the last process started with (`configured`, as its options gave them) and those in
   * force when it stopped (`inForce`: those, tightened by operators since); null if it journaled
   * none (no limits, never tightened).
   */
  readonly limits: { readonly configured: Limits; readonly inForce: Limits } | null;
}

interface ClaimPayload {
  readonly snapshot: FrozenSnapshot;
  readonly clientOrderId: string;
  readonly deadlineAt: number;
  readonly broker?: unknown;
}

/**
 * The state a restart needs, from the records `restartRecords()` (or `readAll()`) gives. Records
 * that open with a checkpoint (a restart read from it) start from its ledger: the fills of every
 * execution settled before it, one figure per symbol (keyed `checkpoint:SYMBOL` in `fills`).
 * `claimed` adds advisories claimed in records not given (the store's index of claims).
 *
 * @example
 * const restored = restoreFromJournal(journal.restartRecords(), journal.claimedAdvisories());
 */
export function restoreFromJournal(records: readonly JournalRecord[], claimed: Iterable<string> = []): RestoredState {
  const fills = new Map<string, { symbol: string; signed: number }>();
  const opening = records[0] === undefined ? null : readCheckpoint(records[0]);
  if (opening) for (const [symbol, signed] of opening.state.ledger) fills.set(`checkpoint:${symbol}`, { symbol, signed });
  const claims = new Map<string, { advisoryId: string; payload: ClaimPayload }>();
  const results = new Map<string, ExecutionResult>();
  const resolved = new Set<string>();
  const submits = new Map<string, number>();
  const killSwitchChanges: KillSwitchChange[] = [];
  let limits: RestoredState['limits'] = null;
  for (const r of records) {
    if (isLimitsSetting(r)) limits = limitsAfter(limits, r);
    switch (r.kind) {
      case JournalKind.Claim:
        if (r.executionId && r.advisoryId) claims.set(r.executionId, { advisoryId: r.advisoryId, payload: r.payload as ClaimPayload });
        break;
      case JournalKind.Result:
        if (r.executionId) results.set(r.executionId, r.payload as ExecutionResult);
        break;
      case JournalKind.Resolution: {
        if (r.executionId) resolved.add(r.executionId);
        // What the operator's resolution adopted from the venue: after a checkpoint, only the
        // resolutions after it are read (its ledger holds the earlier ones), as the tracker counts them.
        const adjustment = positionAdjustmentOf(r);
        if (adjustment) fills.set(`adjustment:${r.sequence}`, { symbol: adjustment.symbol, signed: adjustment.quantity });
        break;
      }
      case JournalKind.KillSwitch:
        killSwitchChanges.push(r.payload as KillSwitchChange);
        break;
      case JournalKind.BrokerRequest:
        if (r.executionId && r.event === 'submitOrder') submits.set(r.executionId, (submits.get(r.executionId) ?? 0) + 1);
        break;
      default:
        break;
    }
  }
  const awaiting: { result: ExecutionResult; symbol: string }[] = [];
  const unfinished: UnfinishedExecution[] = [];
  for (const [executionId, claim] of claims) {
    const result = results.get(executionId);
    const snapshot = claim.payload.snapshot;
    if (result) {
      fills.set(executionId, { symbol: snapshot.symbol, signed: signedQuantity(snapshot.side, result.filledQuantity) });
      if (result.requiresManualResolution && !resolved.has(executionId)) awaiting.push({ result, symbol: snapshot.symbol });
    } else {
      unfinished.push({
        executionId,
        snapshot,
        recovery: { clientOrderId: claim.payload.clientOrderId, deadlineAt: claim.payload.deadlineAt, submitAttempts: submits.get(executionId) ?? 0 },
        broker: typeof claim.payload.broker === 'string' ? claim.payload.broker : null,
      });
    }
  }
  const claimedAdvisories = new Set(claimed);
  for (const c of claims.values()) claimedAdvisories.add(c.advisoryId);
  return { claimedAdvisories, killSwitchChanges, fills, awaiting, unfinished, limits };
}

const NO_LIMITS: Limits = { symbols: {} };

/**
 * The limits after a `start` or `tighten` record (a start before `configured` was journaled
 * configured what it started with). A tightening with no start before it is an older journal's, of
 * an engine started without limits (it journaled no start then): read so, a restart without limits
 * carries it on — the stricter reading.
 */
function limitsAfter(before: RestoredState['limits'], r: JournalRecord): RestoredState['limits'] {
  const p = r.payload as { limits?: Limits; configured?: Limits; to?: Limits } | null;
  if (r.event === 'start') return p?.limits ? { configured: p.configured ?? p.limits, inForce: p.limits } : null;
  return p?.to ? { configured: before?.configured ?? NO_LIMITS, inForce: p.to } : before;
}

/**
 * What an engine starting over `store` restores: from what it needs to restart where the store
 * can say (`restartRecords`, from its last checkpoint), else from every record.
 *
 * @example
 * const restored = restoreFromStore(new SqliteJournal('data/warden.journal.sqlite'));
 */
export function restoreFromStore(store: Journal): RestoredState {
  const index = keepsRestartIndex(store) ? store : null;
  const records = index?.restartRecords() ?? store.readAll();
  // A store that answers `hasClaimed` from its index is asked per advisory instead (claims.ts).
  return restoreFromJournal(records, records[0]?.kind === JournalKind.Checkpoint && !index?.hasClaimed ? (index?.claimedAdvisories?.() ?? []) : []);
}

/**
 * Resuming an execution means looking its order up at the broker it went to: any other broker
 * would not know it and would be sent the order again. Throws, naming the broker needed.
 */
export function refuseOtherBroker(restored: RestoredState, brokerIdentity: string): void {
  const elsewhere = restored.unfinished.filter((u) => u.broker !== null && u.broker !== brokerIdentity);
  if (elsewhere.length === 0) return;
  const needed = [...new Set(elsewhere.map((u) => u.broker))].join(', ');
  throw new WardenUsageError('broker_mismatch', `${elsewhere.length} unfinished execution(s) in this journal were sent to ${needed}, not to ${brokerIdentity}; resume them with that broker`);
}
