/**
 * A broker that cannot be reached is said once, plainly, before anything is claimed: the advisory
 * stays unused and runs later. A result whose broker never answered says "unreachable", never that
 * an order was cancelled.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../src/index.js';
import { reasonOf } from '../../src/journal/reasons.js';
import { warden } from '../support/cli.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

function snapshotFile(dir: string, advisoryId: string): string {
  const now = Date.now();
  const file = join(dir, `${advisoryId}.json`);
  writeFileSync(file, JSON.stringify({
    advisoryId, symbol: 'EURUSD', side: 'buy', positionSize: 1, referencePrice: 1.1, slOffsetPct: -0.01, tpOffsetPct: 0.02,
    createdAt: new Date(now - 60_000).toISOString(), expiresAt: new Date(now + 600_000).toISOString(),
    approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
  }));
  return file;
}

describe('an unreachable broker', () => {
  it('warden run says so once on stderr, claims nothing, and the advisory runs later', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-unreachable-'));
    const file = snapshotFile(dir, 'unreach-1');
    const journal = join(dir, 'j.sqlite');
    const r = await warden(['run', file, '--broker', `http://127.0.0.1:${await closedPort()}`, '--journal', journal]);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/unreachable/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    expect(r.stderr).toMatch(/nothing was sent and no advisory was used/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/cancel/);
    expect(existsSync(journal)).toBe(false);
    const later = await warden(['run', file, '--journal', journal]);
    expect(later.stdout).toMatch(/unreach-1\s+filled/);
    expect(later.code).toBe(0);
  }, 30_000);

  it('a result whose broker never answered reads "unreachable", not "cancelled"', () => {
    const attempt = (n: number, kind: 'submit' | 'lookup') => ({ number: n, kind, clientOrderId: 'wd-1', quantity: kind === 'submit' ? 1 : 0, at: '2026-01-01T00:00:00.000Z', stage: 'submitted' as const, outcome: 'unknown' as const, error: `${kind === 'submit' ? 'POST /orders' : 'GET /orders/wd-1'} failed: fetch failed (connect ECONNREFUSED 127.0.0.1:1)` });
    const silent = {
      status: 'failed_timeout', filledQuantity: 0, clientOrderId: 'wd-1', brokerOrderId: null, requiresManualResolution: true,
      error: { code: 'timeout', message: 'nothing filled within the 30 s window; the order was cancelled' },
      attempts: [attempt(1, 'submit'), attempt(2, 'lookup')],
      reconciliation: { status: 'unavailable', checkedAt: '2026-01-01T00:00:31.000Z', mismatches: [{ field: 'broker', expected: 'answer', actual: null, message: 'reconciliation query failed' }], queries: { getOrder: 1, getPosition: 1 } },
    } as unknown as ExecutionResult;
    const reason = reasonOf(silent, { detail: true });
    expect(reason).toMatch(/^unreachable: the broker never answered \(GET \/orders\/wd-1 failed: .*ECONNREFUSED/);
    expect(reason).toContain('wd-1');
    expect(reason).not.toMatch(/was cancelled/);
    expect(reasonOf(silent, { detail: false })).toBe('unreachable; unavailable: broker');
    // One answer from the broker is enough to make the timeout's own text true again.
    const answered = { ...silent, attempts: [{ ...attempt(1, 'submit'), outcome: 'acknowledged', error: null }], brokerOrderId: 'P-1' } as unknown as ExecutionResult;
    expect(reasonOf(answered, { detail: true })).toMatch(/^timeout: nothing filled/);
  });
});
