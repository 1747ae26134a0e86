/**
 * What the cluster harness and its engine processes say to each other: one JSON object per line,
 * commands on the engine's stdin, events on its stdout.
 */
import type { ExecutionResult, FrozenSnapshot, KillSwitchState } from '../../src/index.js';

export type EngineCommand =
  | { readonly op: 'execute'; readonly snapshot: FrozenSnapshot }
  | { readonly op: 'killSwitch'; readonly state: KillSwitchState; readonly reason: string; readonly operator: string }
  | { readonly op: 'resolve'; readonly advisoryId: string; readonly operator: string; readonly note: string }
  | { readonly op: 'awaiting' }
  | { readonly op: 'limits' }
  | { readonly op: 'close' };

/** Every event carries the engine's name and the time it happened (ms since the epoch). */
export type EngineEvent = { readonly engine: string; readonly at: number } & (
  | { readonly type: 'ready'; readonly writer: string; readonly pid: number }
  | { readonly type: 'result'; readonly result: ExecutionResult; readonly takenOverFrom: string | null }
  | {
      readonly type: 'takeover';
      readonly executionId: string;
      readonly advisoryId: string;
      readonly from: string;
      readonly epoch: number;
      /** The hard deadline the taker resumes with, and its own clock's time when it did, both on its clock. */
      readonly deadlineAt: number;
      readonly clockNow: number;
    }
  | { readonly type: 'log'; readonly level: number; readonly msg: string; readonly fields: Record<string, unknown> }
  | { readonly type: 'answer'; readonly op: string; readonly ok: boolean; readonly message: string }
  | { readonly type: 'closed' }
  /** With WARDEN_CLUSTER_TRACE=1: a stage of a kill switch change, at `hr` (ms of the machine's monotonic clock, `process.hrtime`). */
  | { readonly type: 'trace'; readonly stage: string; readonly hr: number; readonly changeId?: number | null; readonly clientOrderId?: string; readonly waitedMs?: number }
  /** The engine's event loop did not run for `ms` (ending at `endedAt`, ms since the epoch). */
  | { readonly type: 'stall'; readonly ms: number; readonly endedAt: number }
);
