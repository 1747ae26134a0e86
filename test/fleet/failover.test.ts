/**
 * Failover across real processes on a real PostgreSQL: an engine process is SIGKILLed (or frozen)
 * in the middle of an execution whose order works at the shared paper broker service; another
 * engine takes it over once its lease expires (database clock) and finishes it. One order per
 * advisory, every fill protected or flagged, nothing lost, the dead engine's late writes refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresStore } from '../../src/entries/postgres.js';
import { clientOrderIdFor } from '../../src/index.js';
import { clusterSnapshot, startCluster, type Cluster } from '../../scripts/cluster/cluster.js';
import { failoverMarkets, failoverTrial, FAILOVER_PRICE, KILL_POINTS } from '../../scripts/cluster/failoverTrial.js';

/** Short leases so a takeover comes within about a second of a death; expiry is judged by PostgreSQL's clock. */
const LEASE_TTL_MS = 1_000;
const ENGINES = 3;
/** Bound on starting PostgreSQL, the paper service and three engine processes. */
const START_TIMEOUT_MS = 30_000;
/** Bound on one trial: the kill, the lease expiry, the takeover and the fill. */
const TRIAL_TIMEOUT_MS = 15_000;
const FROZEN_SYMBOL = 'F99';

let cluster: Cluster;
let observer: PostgresStore;

beforeAll(async () => {
  cluster = await startCluster({ engines: ENGINES, leaseTtlMs: LEASE_TTL_MS, markets: failoverMarkets(100), dir: '.cache/postgres-failover' });
  observer = await cluster.observer();
}, START_TIMEOUT_MS);
afterAll(async () => {
  await cluster?.stop();
}, START_TIMEOUT_MS);

describe('failover: an engine dies mid-execution, another takes over after its lease expires', () => {
  KILL_POINTS.forEach((killPoint, trial) => {
    it(`SIGKILL once the ${killPoint === 'claimed' ? 'claim is stored' : killPoint === 'working' ? 'order works at the broker' : 'order filled'}: one order, protected or flagged (none when the claim never reached the journal), journal intact, late writes fenced`, async () => {
      const outcome = await failoverTrial(cluster, observer, trial, killPoint, 'test');
      console.log(`failover ${killPoint}: ${outcome.victim} killed; ${outcome.survivor ?? 'nobody'} took over after ${outcome.takeoverMs} ms, finished ${outcome.status} after ${outcome.finishMs} ms`);
      expect(outcome.problems).toEqual([]);
      if (outcome.closedUnsent) {
        // Killed before its claim reached the journal: nothing was sent, and nobody ever sends it.
        expect(outcome.orders).toBe(0);
        expect(outcome.status).toBe('rejected');
      } else if (!outcome.finishedBeforeKill) {
        expect(outcome.survivor).not.toBeNull();
        expect(outcome.survivor).not.toBe(outcome.victim);
        expect(outcome.fencedRefusals).toBeGreaterThanOrEqual(1);
      }
    }, TRIAL_TIMEOUT_MS);
  });

  it('the whole store verifies: every writer’s chain, the dead engines’ included', async () => {
    const check = await observer.verify();
    expect(check).toMatchObject({ ok: true });
    expect(check.writers).toBeGreaterThanOrEqual(ENGINES);
  });

  it('a frozen engine (SIGSTOP) that wakes up after the takeover is fenced: its late write is refused, the survivor is undisturbed', async () => {
    const victim = cluster.engines.find((e) => e.alive())!;
    const snapshot = clusterSnapshot('failover-frozen', FROZEN_SYMBOL, FAILOVER_PRICE);
    const from = cluster.events.length;
    victim.send({ op: 'execute', snapshot });
    await expect.poll(() => cluster.paper.broker.venue.snapshot().orders.some((o) => o.clientOrderId === clientOrderIdFor(snapshot)), { timeout: 5_000, interval: 5 }).toBe(true);
    victim.kill('SIGSTOP');
    const done = await cluster.waitFor((e) => (e.type === 'result' && e.result.advisoryId === snapshot.advisoryId ? e : undefined), TRIAL_TIMEOUT_MS - 3_000, from);
    expect(done.takenOverFrom).toBe(victim.name);
    expect(done.result).toMatchObject({ status: 'filled', filledQuantity: 10, protectionPlaced: true, requiresManualResolution: false });

    // The frozen engine wakes up with its old lease epoch and writes: refused, loudly, on its side only.
    victim.kill('SIGCONT');
    const fenced = await cluster.waitFor((e) => (e.type === 'log' && e.engine === victim.name && /journal unwritable/.test(e.msg) ? e : undefined), 5_000, from);
    expect(JSON.stringify(fenced.fields)).toMatch(/refused: written under lease epoch 1 of .*now epoch 2/);
    victim.kill('SIGKILL');
    const records = await observer.records({ advisoryId: snapshot.advisoryId });
    const takeOver = records.find((r) => r.event === 'TAKE_OVER')!;
    expect(records.filter((r) => r.writer === victim.name && (r.globalSequence ?? 0) > (takeOver.globalSequence ?? 0))).toEqual([]);
    expect(cluster.paper.broker.venue.snapshot().orders.filter((o) => o.symbol === FROZEN_SYMBOL)).toHaveLength(1);

    // The survivor carries on: a new advisory on it executes normally.
    const next = clusterSnapshot('failover-after-frozen', 'F98', FAILOVER_PRICE);
    const survivor = cluster.engines.find((e) => e.name === done.engine)!;
    const mark = cluster.events.length;
    survivor.send({ op: 'execute', snapshot: next });
    const after = await cluster.waitFor((e) => (e.type === 'result' && e.result.advisoryId === next.advisoryId ? e.result : undefined), 6_000, mark);
    expect(after).toMatchObject({ status: 'filled', protectionPlaced: true });
    expect((await observer.verify()).ok).toBe(true);
  }, TRIAL_TIMEOUT_MS + 10_000);
});
