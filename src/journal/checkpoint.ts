/**
 * Checkpoints: records in the hash chain that sign off everything before them, so a writer opens
 * a journal of any length by verifying from its last checkpoint, and a restart reads what it needs
 * without reading history.
 *
 * A checkpoint is an ordinary record (kind `checkpoint`) of the chain: its `previousHash` is the
 * hash of the record it covers, and it names that record's sequence and hash again in its payload,
 * so moving, editing or forging one breaks the chain (there is no key in the store: membership of
 * the chain is the signature). Its payload holds what a restart needs, as references to the
 * records themselves (sequence and hash), never as a summary of their meaning: the records
 * `restoreFromJournal` reads (claim, submit requests, result) of executions with a claim and no
 * result and of finished executions still waiting for a resolution, and every kill switch record; plus, for the executions settled before it, their filled
 * quantities summed per symbol (the position ledger), which is all a restart keeps of them, with the
 * position adjustments operators' resolutions adopted from the venue (src/journal/positionAdjustment.ts).
 * `restoreFromJournal` reads a restart set that opens with a checkpoint exactly as it reads every
 * record (src/engine/restore.ts).
 */
import { verifyChain } from './hashChain.js';
import { positionAdjustmentOf } from './positionAdjustment.js';
import { JournalKind, type JournalRecord, type JournalVerification } from './types.js';

/** Sequence and hash of one record a checkpoint refers to. */
export type RecordRef = readonly [sequence: number, hash: string];

/** One execution a restart must read again: its records (from its claim on) and what its fill counts for. */
export interface CheckpointExecution {
  readonly executionId: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  /** The filled quantity its result reports (0 until it has one): it joins the ledger when the execution is settled. */
  readonly filled: number;
  readonly records: readonly RecordRef[];
}

/**
 * What a restart needs as of a checkpoint.
 *
 * @example
 * const state: CheckpointState = { unfinished: [], flagged: [], switches: [[12, 'ab…']], ledger: [['EURUSD', 30_000]] };
 */
export interface CheckpointState {
  /** Claimed, no result yet. */
  readonly unfinished: readonly CheckpointExecution[];
  /** A result that requires manual resolution, not resolved yet. */
  readonly flagged: readonly CheckpointExecution[];
  /** Every kill switch record. */
  readonly switches: readonly RecordRef[];
  /**
   * Signed filled quantity per symbol of every execution settled (and not flagged) before the
   * checkpoint, plus the position adjustments of the resolutions before it.
   */
  readonly ledger: readonly (readonly [symbol: string, signed: number])[];
  /**
   * The engine's limits as last started and tightened: its last `start` record and every `tighten`
   * after it (absent when there is none, and in checkpoints made before limits outlived a restart).
   */
  readonly limits?: readonly RecordRef[];
  /**
   * How many advisories the chain has claimed up to here, in all (archived claims included): what
   * the `advisories` index must hold. Absent in checkpoints made before the index was checked.
   */
  readonly claimed?: number;
}

/**
 * A checkpoint record's payload.
 *
 * @example
 * const payload = record.payload as CheckpointPayload; // record.kind === 'checkpoint'
 * console.log(`signs off records 1–${payload.covers[0]}`);
 */
export interface CheckpointPayload {
  /** The record it follows and signs off: its sequence and hash (also its `previousHash`). */
  readonly covers: RecordRef;
  readonly state: CheckpointState;
}

interface Tracked {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  filled: number;
  readonly records: RecordRef[];
}

const sideOf = (v: unknown): 'buy' | 'sell' => (v === 'sell' ? 'sell' : 'buy');

/**
 * Follows a chain record by record and knows, at any point, what a checkpoint there would hold.
 * Its memory is what a restart needs (executions in flight, open flags, switch records, one
 * figure per symbol), not the history.
 *
 * @example
 * const tracker = new RestartTracker();
 * for (const r of records) tracker.add(r);
 * const payload: CheckpointPayload = { covers: [last.sequence, last.hash], state: tracker.state() };
 */
export class RestartTracker {
  private readonly unfinished = new Map<string, Tracked>();
  private readonly flagged = new Map<string, Tracked>();
  private readonly switches: RecordRef[] = [];
  private readonly ledger = new Map<string, number>();
  private limits: RecordRef[] = [];
  /** Advisories claimed so far; undefined when started from a checkpoint that did not count them. */
  private claims: number | undefined = 0;

  /** A tracker that starts where a checkpoint left off. */
  static from(state: CheckpointState): RestartTracker {
    const t = new RestartTracker();
    for (const e of state.unfinished) t.unfinished.set(e.executionId, { symbol: e.symbol, side: e.side, filled: e.filled, records: [...e.records] });
    for (const e of state.flagged) t.flagged.set(e.executionId, { symbol: e.symbol, side: e.side, filled: e.filled, records: [...e.records] });
    t.switches.push(...state.switches);
    for (const [symbol, signed] of state.ledger) t.ledger.set(symbol, signed);
    t.limits = [...(state.limits ?? [])];
    t.claims = state.claimed;
    return t;
  }

  /** Advisories claimed so far (what the `advisories` index must hold), or undefined when not known. */
  get claimed(): number | undefined {
    return this.claims;
  }

  /**
   * Takes a count from elsewhere where this tracker has none: from a checkpoint that fits, or, for
   * a journal whose checkpoints predate the count, from its index (trusted once, as the writer upgrades it).
   */
  adoptClaimed(count: number): void {
    this.claims ??= count;
  }

  add(r: JournalRecord): void {
    const ref: RecordRef = [r.sequence, r.hash];
    if (r.kind === JournalKind.Checkpoint) return;
    // Counted as the index is written: a claim naming an advisory.
    if (r.kind === JournalKind.Claim && r.advisoryId && this.claims !== undefined) this.claims++;
    if (r.kind === JournalKind.KillSwitch) {
      this.switches.push(ref);
      return;
    }
    if (isLimitsSetting(r)) {
      if (r.event === 'start') this.limits = [ref];
      else this.limits.push(ref);
      return;
    }
    const id = r.executionId;
    if (id === null) return;
    if (r.kind === JournalKind.Claim) {
      const snapshot = (r.payload as { snapshot?: { symbol?: unknown; side?: unknown } } | null)?.snapshot;
      this.unfinished.set(id, { symbol: String(snapshot?.symbol ?? ''), side: sideOf(snapshot?.side), filled: 0, records: [ref] });
      return;
    }
    const running = this.unfinished.get(id);
    if (running) {
      // Only what restoreFromJournal reads: the claim, submits (it counts them), the result.
      if (r.kind === JournalKind.BrokerRequest ? r.event === 'submitOrder' : r.kind === JournalKind.Result || r.kind === JournalKind.Recovery) running.records.push(ref);
      if (r.kind !== JournalKind.Result) return;
      this.unfinished.delete(id);
      const result = r.payload as { filledQuantity?: unknown; requiresManualResolution?: unknown } | null;
      const q = result?.filledQuantity;
      running.filled = typeof q === 'number' && Number.isFinite(q) ? q : 0;
      if (result?.requiresManualResolution === true) this.flagged.set(id, running);
      else this.settle(running);
      return;
    }
    if (r.kind !== JournalKind.Resolution) return;
    // The venue's figure the resolution adopted, whichever execution it resolved (on a fleet store,
    // another engine's): a restart counts it wherever it reads the resolution (restore.ts).
    const adjustment = positionAdjustmentOf(r);
    if (adjustment) this.ledger.set(adjustment.symbol, (this.ledger.get(adjustment.symbol) ?? 0) + adjustment.quantity);
    const flag = this.flagged.get(id);
    if (!flag) return;
    this.flagged.delete(id);
    this.settle(flag);
  }

  /** A settled execution is no longer read again at a restart: its fill joins its symbol's total. */
  private settle(e: Tracked): void {
    this.ledger.set(e.symbol, (this.ledger.get(e.symbol) ?? 0) + (e.side === 'buy' ? e.filled : -e.filled));
  }

  /** No execution in flight and no open flag: nothing a restart would resume or hold for. */
  quiet(): boolean {
    return this.unfinished.size === 0 && this.flagged.size === 0;
  }

  state(): CheckpointState {
    const list = (m: Map<string, Tracked>): CheckpointExecution[] => [...m].map(([executionId, e]) => ({ executionId, symbol: e.symbol, side: e.side, filled: e.filled, records: [...e.records] }));
    const state = { unfinished: list(this.unfinished), flagged: list(this.flagged), switches: [...this.switches], ledger: [...this.ledger] };
    return { ...state, ...(this.limits.length === 0 ? {} : { limits: [...this.limits] }), ...(this.claims === undefined ? {} : { claimed: this.claims }) };
  }
}

/** An engine's limits as set at start or tightened (not an execution's limit check): what a restart carries on. */
export const isLimitsSetting = (r: JournalRecord): boolean => r.kind === JournalKind.Limits && r.executionId === null && (r.event === 'start' || r.event === 'tighten');

/** The kinds of record a restart reads whatever execution they are of (beside the limits as set). */
export const RESTART_KINDS: readonly string[] = [JournalKind.Claim, JournalKind.KillSwitch, JournalKind.Resolution, JournalKind.Result, JournalKind.Recovery];

/** Whether a restart reads this record whatever execution it is of: claims, switches, resolutions, results, recoveries, the limits as set. */
export const readByEveryRestart = (r: JournalRecord): boolean => RESTART_KINDS.includes(r.kind) || isLimitsSetting(r);

/** Every record a checkpoint refers to, in sequence order. */
export function referencedRecords(state: CheckpointState): RecordRef[] {
  const refs = [...state.switches, ...(state.limits ?? [])];
  for (const e of [...state.unfinished, ...state.flagged]) refs.push(...e.records);
  return refs.sort((a, b) => a[0] - b[0]);
}

const isRef = (v: unknown): v is RecordRef => Array.isArray(v) && v.length === 2 && Number.isSafeInteger(v[0]) && typeof v[1] === 'string';
const isExecution = (v: unknown): v is CheckpointExecution => {
  const e = v as CheckpointExecution | null;
  return e !== null && typeof e === 'object' && typeof e.executionId === 'string' && typeof e.symbol === 'string' && (e.side === 'buy' || e.side === 'sell') && typeof e.filled === 'number' && Array.isArray(e.records) && e.records.every(isRef);
};

/** The payload of a checkpoint record, or null if it is not one a writer could have made. */
export function readCheckpoint(r: JournalRecord): CheckpointPayload | null {
  if (r.kind !== JournalKind.Checkpoint) return null;
  const p = r.payload as CheckpointPayload | null;
  const s = p?.state;
  if (!p || typeof p !== 'object' || !isRef(p.covers) || !s || typeof s !== 'object') return null;
  if (!Array.isArray(s.unfinished) || !s.unfinished.every(isExecution) || !Array.isArray(s.flagged) || !s.flagged.every(isExecution)) return null;
  if (!Array.isArray(s.switches) || !s.switches.every(isRef)) return null;
  if (!Array.isArray(s.ledger) || !s.ledger.every((l) => Array.isArray(l) && l.length === 2 && typeof l[0] === 'string' && typeof l[1] === 'number')) return null;
  if (s.limits !== undefined && !(Array.isArray(s.limits) && s.limits.length > 0 && s.limits.every(isRef))) return null;
  if (s.claimed !== undefined && !(Number.isSafeInteger(s.claimed) && s.claimed >= 0)) return null;
  return p;
}

/**
 * Whether a checkpoint record fits the chain where it stands: it is well formed, follows the
 * record it names (`covers`, which is also its `previousHash`) and, when `expected` is given (a
 * full verification that followed every record before it), holds exactly that state.
 */
export function checkpointFits(r: JournalRecord, covered: JournalRecord | undefined, expected?: CheckpointState): boolean {
  const p = readCheckpoint(r);
  if (p === null || covered === undefined) return false;
  if (p.covers[0] !== r.sequence - 1 || covered.sequence !== p.covers[0] || p.covers[1] !== covered.hash || r.previousHash !== covered.hash) return false;
  if (expected === undefined) return true;
  // A checkpoint made before limits outlived a restart does not list them, nor one made before
  // claims were counted its count: it is read as it was made. A count is compared where both know one.
  const { limits, claimed, ...before } = expected;
  const { claimed: stated, ...rest } = p.state;
  const want = { ...before, ...(p.state.limits === undefined || limits === undefined ? {} : { limits }) };
  if (stated !== undefined && claimed !== undefined && stated !== claimed) return false;
  return JSON.stringify(want) === JSON.stringify(rest);
}

/**
 * Verifies a chain (streaming, in constant memory but for what a restart needs) and every
 * checkpoint in it: each must follow the record it names and hold exactly what the records before
 * it say. A checkpoint that does not is reported as the break. With `from.checkpoint`, the records
 * start at that checkpoint (already checked where it stands) and `from.tracker` holds what it says.
 *
 * @example
 * const check = verifyWithCheckpoints(db.prepare('SELECT * FROM records ORDER BY sequence').iterate());
 */
export function verifyWithCheckpoints(
  records: Iterable<JournalRecord>,
  from?: { readonly checkpoint?: JournalRecord; readonly tracker: RestartTracker },
  hash?: (r: JournalRecord) => string,
): JournalVerification {
  const tracker = from?.tracker ?? new RestartTracker();
  let previous: JournalRecord | undefined;
  let forged: number | undefined;
  const checked = function* () {
    for (const r of records) {
      if (from?.checkpoint !== undefined && r === from.checkpoint) {
        // where the verification starts: checked where it stands by the caller
      } else if (r.kind === JournalKind.Checkpoint) {
        if (!checkpointFits(r, previous, tracker.state())) {
          forged = r.sequence;
          return;
        }
        const claimed = readCheckpoint(r)?.state.claimed;
        if (claimed !== undefined) tracker.adoptClaimed(claimed);
      } else tracker.add(r);
      previous = r;
      yield r;
    }
  };
  const check = verifyChain(checked(), { segment: from?.checkpoint !== undefined, ...(hash ? { hash } : {}) });
  if (!check.ok) return check;
  return forged === undefined ? check : { ok: false, brokenAt: forged };
}
