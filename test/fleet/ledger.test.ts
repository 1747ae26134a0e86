/**
 * One account shared by the fleet: real engine processes on a real PostgreSQL and one paper venue.
 * Reconciliation expects every engine's executions on the symbol (the fleet's ledger in the store),
 * and the limits count the fleet's position and orders, admitted under one lock for the fleet.
 * Engines that count only their own executions (their store hides the fleet's ledger) show what
 * the ledger prevents: false flags, and a position past `maxPosition` at the venue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freezeSnapshot, type ExecutionResult, type FrozenSnapshot } from '../../src/index.js';
import type { LimitsInput } from '../../src/domain/limits.js';
import { startCluster, type Cluster, type ClusterEngine } from '../../scripts/cluster/cluster.js';
import { warden } from '../support/cli.js';

const WAIT_MS = 45_000;
const ADVISORIES = 30;
/** The same limits on every engine of the fleet. */
const LIMITS: LimitsInput = {
  symbols: {
    XAUUSD: { maxPosition: 50 },
    XAGUSD: { maxPosition: 50 },
    QTYUSD: { maxQuantity: 10 },
    NTLUSD: { maxNotional: 100 },
    RATUSD: { maxOrdersPerMinute: 3 },
  },
};
const PRICES: Record<string, number> = { EURUSD: 1.1, USDJPY: 150, XAUUSD: 2_650, XAGUSD: 31, QTYUSD: 2, NTLUSD: 10, RATUSD: 3, TIGUSD: 5 };

let cluster: Cluster;
beforeAll(async () => {
  // No slippage: every fill of a symbol at one price, so every execution's levels are the levels the
  // venue shows for the whole position (it shows one pair, the latest; see docs/rules.md, rule 6).
  const markets = Object.fromEntries(Object.entries(PRICES).map(([s, price]) => [s, { price, fillAfterMs: 20, slippageBps: 0 }]));
  cluster = await startCluster({ engines: 3, leaseTtlMs: 10_000, dir: '.cache/postgres-ledger-test', markets, engineOptions: () => ({ limits: LIMITS }) });
}, 90_000);
afterAll(async () => cluster?.stop(), 60_000);

/** An approved buy valid for ten minutes from now (nothing depends on today's date). */
function snapshot(advisoryId: string, symbol: string, positionSize = 10): FrozenSnapshot {
  const now = Date.now();
  return freezeSnapshot({
    advisoryId,
    symbol,
    side: 'buy',
    positionSize,
    referencePrice: PRICES[symbol]!,
    slOffsetPct: -0.01,
    tpOffsetPct: 0.02,
    createdAt: new Date(now - 60_000).toISOString(),
    expiresAt: new Date(now + 600_000).toISOString(),
    approval: { approvedBy: 'alice', approvedAt: new Date(now - 30_000).toISOString() },
  });
}

/** Sends every snapshot at once, spread over `engines` in turn, and collects their results. */
async function executeAll(engines: readonly ClusterEngine[], snapshots: readonly FrozenSnapshot[]): Promise<ExecutionResult[]> {
  const from = cluster.events.length;
  const wanted = new Set(snapshots.map((s) => s.advisoryId));
  snapshots.forEach((s, i) => engines[i % engines.length]!.send({ op: 'execute', snapshot: s }));
  const got: ExecutionResult[] = [];
  await cluster.waitFor((e) => (e.type === 'result' && e.result.advisoryId !== null && wanted.has(e.result.advisoryId) && got.push(e.result) >= snapshots.length ? true : undefined), WAIT_MS, from);
  return got;
}

/** Samples the venue's position on `symbol` every few milliseconds while `run` runs; returns the largest. */
async function largestPositionDuring<T>(symbol: string, run: () => Promise<T>): Promise<{ result: T; largest: number }> {
  let largest = 0;
  const sample = () => (largest = Math.max(largest, Math.abs(cluster.paper.broker.venue.position(symbol).quantity)));
  const timer = setInterval(sample, 2);
  try {
    const result = await run();
    sample();
    return { result, largest };
  } finally {
    clearInterval(timer);
  }
}

const codes = (results: readonly ExecutionResult[]) => results.map((r) => (r.status === 'rejected' ? r.error?.code : r.status)).sort();

describe('one account shared by the fleet', () => {
  it(`3 engines, ${ADVISORIES} concurrent EURUSD advisories on one paper account: every reconciliation matches`, async () => {
    const results = await executeAll(cluster.engines, Array.from({ length: ADVISORIES }, (_, i) => snapshot(`eur-${i}`, 'EURUSD')));
    expect(results.map((r) => [r.status, r.requiresManualResolution, r.reconciliation?.status])).toEqual(Array(ADVISORIES).fill(['filled', false, 'matched']));
    expect(cluster.paper.broker.venue.position('EURUSD').quantity).toBe(ADVISORIES * 10);
  }, 90_000);

  it('maxPosition holds at the venue for the fleet: 3 engines, 30 advisories, exactly 5 of 10 fill (50), the rest refused', async () => {
    const { result, largest } = await largestPositionDuring('XAUUSD', () => executeAll(cluster.engines, Array.from({ length: ADVISORIES }, (_, i) => snapshot(`gold-${i}`, 'XAUUSD'))));
    expect(codes(result)).toEqual([...Array(ADVISORIES - 5).fill('limit_position'), ...Array(5).fill('filled')].sort());
    expect(result.filter((r) => r.status === 'filled').every((r) => !r.requiresManualResolution)).toBe(true);
    expect(largest).toBe(50);
    expect(cluster.paper.broker.venue.position('XAUUSD').quantity).toBe(50);
    const refused = result.find((r) => r.error?.code === 'limit_position')!;
    expect(refused.error!.message).toMatch(/maxPosition 50 on XAUUSD: the position could reach 60/);
  }, 90_000);

  it('each limit refuses just outside its boundary on the fleet, and passes just inside', async () => {
    const [a, b, c] = cluster.engines as [ClusterEngine, ClusterEngine, ClusterEngine];
    expect(codes(await executeAll([a], [snapshot('qty-in', 'QTYUSD', 10)]))).toEqual(['filled']);
    expect(codes(await executeAll([b], [snapshot('qty-out', 'QTYUSD', 10.5)]))).toEqual(['limit_quantity']);
    expect(codes(await executeAll([b], [snapshot('ntl-in', 'NTLUSD', 10)]))).toEqual(['filled']); // 10 × 10 = 100
    expect(codes(await executeAll([c], [snapshot('ntl-out', 'NTLUSD', 10.1)]))).toEqual(['limit_notional']);
    // maxOrdersPerMinute counts the fleet's orders: three engines send one each, the fourth is refused anywhere.
    for (const [i, e] of [a, b, c].entries()) expect(codes(await executeAll([e], [snapshot(`rate-${i}`, 'RATUSD', 1)]))).toEqual(['filled']);
    const fourth = await executeAll([a], [snapshot('rate-3', 'RATUSD', 1)]);
    expect(codes(fourth)).toEqual(['limit_rate']);
    expect(fourth[0]!.error!.message).toMatch(/maxOrdersPerMinute 3 on RATUSD/);
    expect(cluster.paper.broker.venue.position('RATUSD').quantity).toBe(3);
  }, 90_000);

  it('warden limits set --store tightens every running engine; loosening is refused and writes nothing', async () => {
    const [a, b, c] = cluster.engines as [ClusterEngine, ClusterEngine, ClusterEngine];
    const set = await warden(['limits', 'set', '--symbol', 'TIGUSD', '--max-position', '20', '--operator', 'ana', '--reason', 'thin market', '--store', cluster.db.url]);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/limits tightened for the fleet \(change \d+\)/);
    expect(set.stdout).toMatch(/applied by engine-a, engine-b, engine-c/);
    for (const e of [a, b, c]) expect(JSON.parse(await ask(e, 'limits'))).toMatchObject({ symbols: { TIGUSD: { maxPosition: 20 }, XAUUSD: { maxPosition: 50 } } });
    const results = await executeAll([a, b, c], [snapshot('tig-1', 'TIGUSD'), snapshot('tig-2', 'TIGUSD'), snapshot('tig-3', 'TIGUSD')]);
    expect(codes(results)).toEqual(['filled', 'filled', 'limit_position']);
    expect(cluster.paper.broker.venue.position('TIGUSD').quantity).toBe(20);

    const looser = await warden(['limits', 'set', '--symbol', 'TIGUSD', '--max-position', '30', '--operator', 'ana', '--reason', 'oops', '--store', cluster.db.url]);
    expect(looser.code).not.toBe(0);
    expect(looser.stderr).toMatch(/limits can only be tightened; for the fleet this would loosen engine-a: symbols\.TIGUSD\.maxPosition: 20 → 30/);
    expect(looser.stderr).toMatch(/Nothing was written/);
    const observer = await cluster.observer();
    const changes = await observer.fleetLimitsChanges(0);
    expect(changes.map((ch) => ch.change)).toEqual([{ symbols: { TIGUSD: { maxPosition: 20 } } }]);
    const show = await warden(['limits', 'show', '--store', cluster.db.url]);
    expect(show.stdout).toMatch(/engine-b \(as of .*\): .*TIGUSD: maxPosition 20/);
  }, 90_000);

  // Last: engines without the fleet's ledger raise flags, which halt their symbols for the fleet.
  it('without the fleet ledger, engines on one account flag each other and pass maxPosition together', async () => {
    const own = [
      await cluster.spawnEngine('solo-a', { ledger: 'engine', limits: LIMITS }),
      await cluster.spawnEngine('solo-b', { ledger: 'engine', limits: LIMITS }),
      await cluster.spawnEngine('solo-c', { ledger: 'engine', limits: LIMITS }),
    ];
    const { result, largest } = await largestPositionDuring('XAGUSD', () => executeAll(own, Array.from({ length: ADVISORIES }, (_, i) => snapshot(`silver-${i}`, 'XAGUSD'))));
    // Each engine admits five of its own: three times the limit reaches the venue.
    expect(largest).toBeGreaterThan(50);
    const yen = await executeAll(own, Array.from({ length: ADVISORIES }, (_, i) => snapshot(`yen-${i}`, 'USDJPY')));
    // Each expects only its own engine's executions: the others' fills are a position it did not open.
    const wrongPosition = [...result, ...yen].filter((r) => r.requiresManualResolution && r.reconciliation?.mismatches.some((m) => m.field === 'position.quantity'));
    console.log(`without the fleet ledger: largest XAGUSD position ${largest} (maxPosition 50); ${wrongPosition.length} of ${result.length + yen.length} flagged for the position`);
    expect(wrongPosition.length).toBeGreaterThan(0);
  }, 120_000);
});

async function ask(engine: ClusterEngine, op: 'limits'): Promise<string> {
  const from = cluster.events.length;
  engine.send({ op });
  return cluster.waitFor((e) => (e.type === 'answer' && e.op === op && e.engine === engine.name ? e.message : undefined), WAIT_MS, from);
}
