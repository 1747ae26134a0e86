/**
 * DESIGN §8 as one checker, read from the journal (the record of truth) and the result, never
 * from the machine's internals. `checkSafety` must hold after every step of an execution;
 * `checkInvariants` adds what must hold once it has settled.
 */
import { expect } from 'vitest';
import { FINAL_STATUSES, HARD_TIMEOUT_MS, type ExecutionResult, type FrozenSnapshot, type JournalRecord, type OrderRequest } from '../../src/index.js';
import type { Venue } from '../../src/broker/venue.js';
import { protectiveLevels } from '../../src/rules/index.js';

const SEVERITY = { off: 0, warning: 1, active: 2 } as const;

const requests = (journal: readonly JournalRecord[], method: string) =>
  journal.filter((r) => r.kind === 'broker.request' && r.event === method);
/** Reconciliation queries of the process life that finished the execution (after its last resumption, if any). */
const reconciliationsOf = (own: readonly JournalRecord[]) => {
  const resumed = own.findLastIndex((r) => r.kind === 'recovery');
  return requests(own.slice(resumed + 1), 'getPosition').length;
};

export function checkSafety(args: { snapshot: FrozenSnapshot; journal: readonly JournalRecord[] }): void {
  const { snapshot, journal } = args;
  const own = journal.filter((r) => r.advisoryId === snapshot.advisoryId && r.executionId !== null);
  const submits = requests(own, 'submitOrder').map((r) => r.payload as OrderRequest);

  // One clientOrderId per snapshot; quantity never above positionSize.
  expect(new Set(submits.map((s) => s.clientOrderId)).size, 'one clientOrderId').toBeLessThanOrEqual(1);
  for (const s of submits) expect(s.quantity).toBeLessThanOrEqual(snapshot.positionSize);
  // The snapshot hash never changes.
  for (const r of own) if (r.snapshotHash !== null) expect(r.snapshotHash).toBe(snapshot.hash);
  // No submission under a kill switch, none after the deadline.
  let global: keyof typeof SEVERITY = 'off';
  let symbol: keyof typeof SEVERITY = 'off';
  let firstSubmitAt: number | null = null;
  for (const r of journal) {
    if (r.kind === 'kill_switch') {
      const change = r.payload as { symbol: string | null; to: keyof typeof SEVERITY };
      if (change.symbol === null) global = change.to;
      else if (change.symbol === snapshot.symbol) symbol = change.to;
    }
    if (r.kind === 'broker.request' && r.event === 'submitOrder' && r.advisoryId === snapshot.advisoryId) {
      expect(Math.max(SEVERITY[global], SEVERITY[symbol]), `submit at #${r.sequence} under a kill switch`).toBe(0);
      const at = Date.parse(r.at);
      firstSubmitAt ??= at;
      expect(at - firstSubmitAt, 'submit after the hard deadline').toBeLessThan(HARD_TIMEOUT_MS);
    }
  }
  // At most one reconciliation per process life (one that died mid-query never finished it).
  expect(reconciliationsOf(own), 'reconciliations').toBeLessThanOrEqual(1);
  // Never two protection requests of one execution out at once: under one protective id they may
  // reach the venue in either order, and the older landing last leaves its levels in place. (A
  // request of an earlier process life is never answered in this one: counted from the last resumption.)
  const protectionOut = new Map<string, number>();
  for (const r of own) {
    if (r.kind === 'recovery') protectionOut.delete(r.executionId!);
    if (r.event !== 'placeProtection') continue;
    const out = protectionOut.get(r.executionId!) ?? 0;
    if (r.kind === 'broker.request') {
      expect(out, `placeProtection at #${r.sequence} while an earlier request of the execution is unanswered`).toBe(0);
      protectionOut.set(r.executionId!, out + 1);
    } else if (r.kind === 'broker.response' || r.kind === 'broker.error') protectionOut.set(r.executionId!, Math.max(0, out - 1));
  }
}

export function checkInvariants(args: { result: ExecutionResult; snapshot: FrozenSnapshot; journal: readonly JournalRecord[]; venue?: Venue }): void {
  const { result, snapshot, journal } = args;
  checkSafety({ snapshot, journal });
  const own = journal.filter((r) => r.executionId === result.executionId);
  const submits = requests(own, 'submitOrder').map((r) => r.payload as OrderRequest);

  expect(FINAL_STATUSES).toContain(result.status);
  if (result.snapshotHash !== null && result.status !== 'rejected') expect(result.snapshotHash).toBe(snapshot.hash);
  if (submits.length > 0) expect(submits[0]!.clientOrderId).toBe(result.clientOrderId);

  // At most one order at the venue for this snapshot, of at most positionSize.
  if (args.venue && result.clientOrderId) {
    const orders = args.venue.snapshot().orders.filter((o) => o.clientOrderId === result.clientOrderId);
    expect(orders.length).toBeLessThanOrEqual(1);
    expect(orders.reduce((q, o) => q + o.quantity, 0)).toBeLessThanOrEqual(snapshot.positionSize);
  }

  // SL/TP, when set, are the formula applied to one average fill: the execution's own when all is
  // well; when fills changed after protection (flagged), still one consistent average.
  if (result.stopLoss !== null || result.takeProfit !== null) {
    expect(result.fillPrice).not.toBeNull();
    if (!result.requiresManualResolution) {
      const levels = protectiveLevels(snapshot.side, result.fillPrice!, snapshot.slOffsetPct, snapshot.tpOffsetPct);
      expect(result.stopLoss).toBe(levels.stopLoss);
      expect(result.takeProfit).toBe(levels.takeProfit);
    } else {
      const basis = result.stopLoss! / (1 + snapshot.slOffsetPct);
      expect(result.takeProfit! / (1 + snapshot.tpOffsetPct)).toBeCloseTo(basis, 8);
    }
  }

  // Any filled quantity ends protected or flagged; unflagged protection covers exactly the filled quantity.
  if (result.filledQuantity > 0) expect(result.protectionPlaced || result.requiresManualResolution, 'fill protected or flagged').toBe(true);
  if (result.protectionPlaced && !result.requiresManualResolution) {
    const placed = requests(own, 'placeProtection').map((r) => r.payload as { quantity: number; stopLoss: number; takeProfit: number });
    expect(placed.at(-1)).toMatchObject({ quantity: result.filledQuantity, stopLoss: result.stopLoss, takeProfit: result.takeProfit });
  }

  // Exactly one reconciliation when the broker was reached, none otherwise.
  const reconciliations = reconciliationsOf(own);
  if (submits.length > 0) {
    expect(reconciliations).toBe(1);
    expect(result.reconciliation).not.toBeNull();
  } else {
    expect(reconciliations).toBe(0);
    expect(result.reconciliation).toBeNull();
  }
  // A mismatch is never silent.
  if (result.reconciliation && result.reconciliation.status !== 'matched') {
    expect(result.requiresManualResolution || result.status === 'rejected').toBe(true);
    expect(result.reconciliation.mismatches.length).toBeGreaterThan(0);
  }
}

/**
 * Rule 2 as fills land: no filled quantity goes without protection for longer than one protection
 * round trip. Read from one execution's journal, record by record: whenever the known filled
 * quantity (priced) exceeds what protection was last asked to cover and no protection request is
 * out, the next request must follow without any time passing. A request that failed is exempt
 * until the next fill (the final round retries it, and a fill that ends unprotected is flagged:
 * `checkInvariants`). With `settled: false` (a step of a running execution) the condition may not
 * hold at the end of the journal either, while the execution is live.
 */
export function checkProtectionKeepsUp(args: { journal: readonly JournalRecord[]; settled?: boolean }): void {
  const byExecution = new Map<string, JournalRecord[]>();
  for (const r of args.journal) if (r.executionId !== null) (byExecution.get(r.executionId) ?? byExecution.set(r.executionId, []).get(r.executionId)!).push(r);
  for (const [executionId, own] of byExecution) {
    let filled = 0;
    let price: number | null = null;
    let requested = 0;
    let inFlight = false;
    let state = 'validating';
    let uncoveredSince: number | null = null;
    let uncoveredAt = -1;
    const priceOf = (report: unknown) => {
      const p = report !== null && typeof report === 'object' ? (report as { averageFillPrice?: unknown }).averageFillPrice : undefined;
      if (typeof p === 'number' && p > 0) price = p;
    };
    for (const r of own) {
      const at = Date.parse(r.at);
      if (r.kind === 'transition') {
        const p = r.payload as { filledQuantity?: number; event?: { type?: string; report?: unknown } };
        filled = Math.max(filled, p.filledQuantity ?? 0);
        if (p.event?.type === 'ORDER_UPDATE') priceOf(p.event.report);
        state = r.to ?? state;
      } else if (r.event === 'placeProtection') {
        if (r.kind === 'broker.request') {
          requested = (r.payload as { quantity: number }).quantity;
          inFlight = true;
        } else inFlight = false;
      } else if (r.kind === 'broker.response') priceOf(r.payload);
      const uncovered = filled > requested && !inFlight && price !== null && state.startsWith('live.');
      if (uncovered && uncoveredSince === null) {
        uncoveredSince = at;
        uncoveredAt = r.sequence;
      }
      if (!uncovered) uncoveredSince = null;
      else expect(at - uncoveredSince!, `execution ${executionId}: ${filled} filled, protection asked for ${requested} since record #${uncoveredAt}; record #${r.sequence} is ${at - uncoveredSince!} ms later`).toBe(0);
    }
    if (args.settled === false && uncoveredSince !== null) {
      expect.fail(`execution ${executionId}: ${filled} filled in ${state}, protection asked for only ${requested} and no request is out (since record #${uncoveredAt})`);
    }
  }
}
