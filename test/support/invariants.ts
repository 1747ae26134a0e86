/**
 * DESIGN §8 as one checker, applied after every scenario: what must hold whatever happened.
 * Reads the broker's call log and the journal, never the machine's internals.
 */
import { expect } from 'vitest';
import { FINAL_STATUSES, HARD_TIMEOUT_MS, type ExecutionResult, type FrozenSnapshot, type JournalRecord, type OrderRequest } from '../../src/index.js';
import { protectiveLevels } from '../../src/rules/index.js';
import type { ScriptedBroker } from '../../src/testing/index.js';

const SEVERITY = { off: 0, warning: 1, active: 2 } as const;

export function checkInvariants(args: { result: ExecutionResult; snapshot: FrozenSnapshot; broker: ScriptedBroker; journal: JournalRecord[] }): void {
  const { result, snapshot, broker, journal } = args;
  const submits = broker.callsOf('submitOrder').map((c) => c.args as OrderRequest);

  // Every path ends in a final status.
  expect(FINAL_STATUSES).toContain(result.status);
  // The snapshot hash never changes.
  if (result.snapshotHash !== null) expect(result.snapshotHash).toBe(snapshot.hash);

  // One clientOrderId per snapshot, one order at the venue, quantity never above positionSize.
  const ids = new Set(submits.map((s) => s.clientOrderId));
  expect(ids.size).toBeLessThanOrEqual(1);
  if (ids.size === 1) expect([...ids][0]).toBe(result.clientOrderId);
  for (const s of submits) expect(s.quantity).toBeLessThanOrEqual(snapshot.positionSize);
  const venueOrders = broker.venue.snapshot().orders.filter((o) => ids.has(o.clientOrderId));
  expect(venueOrders.length).toBeLessThanOrEqual(1);
  expect(venueOrders.reduce((q, o) => q + o.quantity, 0)).toBeLessThanOrEqual(snapshot.positionSize);

  // No submission while the effective kill switch forbids new orders, none after the deadline.
  let global = 'off' as keyof typeof SEVERITY;
  let symbol = 'off' as keyof typeof SEVERITY;
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

  // SL/TP, when set, are the formula applied to the average fill.
  if (result.stopLoss !== null || result.takeProfit !== null) {
    expect(result.fillPrice).not.toBeNull();
    const levels = protectiveLevels(snapshot.side, result.fillPrice!, snapshot.slOffsetPct, snapshot.tpOffsetPct);
    expect(result.stopLoss).toBe(levels.stopLoss);
    expect(result.takeProfit).toBe(levels.takeProfit);
  }

  // Any filled quantity ends protected or flagged.
  if (result.filledQuantity > 0) expect(result.protectionPlaced || result.requiresManualResolution).toBe(true);
  if (result.protectionPlaced) {
    const placed = broker.callsOf('placeProtection').map((c) => c.args as { quantity: number });
    expect(placed.at(-1)?.quantity).toBe(result.filledQuantity);
  }

  // Exactly one reconciliation when the broker was reached, none otherwise.
  const positionQueries = broker.callsOf('getPosition').length;
  if (submits.length > 0) {
    expect(positionQueries).toBe(1);
    expect(result.reconciliation).not.toBeNull();
    expect(result.reconciliation!.queries).toEqual({ getOrder: 1, getPosition: 1 });
  } else {
    expect(positionQueries).toBe(0);
    expect(result.reconciliation).toBeNull();
  }
  // A mismatch is never silent.
  if (result.reconciliation && result.reconciliation.status !== 'matched') {
    expect(result.requiresManualResolution).toBe(true);
    expect(result.reconciliation.mismatches.length).toBeGreaterThan(0);
  }
}
