/**
 * Many engines, one PostgreSQL: real engine processes over a real embedded PostgreSQL and one
 * paper broker service, all on loopback (the cluster harness of `npm run demo:cluster`). Exactly
 * one order per advisory however many engines race for it; a kill switch set on one engine
 * reaches every engine's working orders.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../src/index.js';
import { clusterSnapshot, startCluster, type Cluster } from '../../scripts/cluster/cluster.js';

const ENGINES = 3;
const ADVISORIES = 150;
/** Bound on every result of a step arriving (each engine runs its executions concurrently). */
const STEP_TIMEOUT_MS = 45_000;

let cluster: Cluster;
/** Every submit and cancel request the venue received: who sent it is irrelevant, how many matters. */
const submits = new Map<string, number>();
const cancels: { clientOrderId: string; at: number }[] = [];

beforeAll(async () => {
  // One symbol per raced advisory: each engine's reconciliation expects only its own executions'
  // positions (docs/scale-out.md), so advisories sharing a symbol across engines would be flagged.
  const raced = Object.fromEntries(Array.from({ length: ADVISORIES }, (_, i) => [`R${i}`, { price: 1.1, fillAfterMs: 30 }]));
  cluster = await startCluster({ engines: ENGINES, leaseTtlMs: 10_000, dir: '.cache/postgres-fleet-test', markets: { ...raced, GBPUSD: { price: 1.27, noLiquidity: true } } });
  const broker = cluster.paper.broker;
  const submit = broker.submitOrder.bind(broker);
  broker.submitOrder = (req) => {
    submits.set(req.clientOrderId, (submits.get(req.clientOrderId) ?? 0) + 1);
    return submit(req);
  };
  const cancel = broker.cancelOrder.bind(broker);
  broker.cancelOrder = (ref) => {
    cancels.push({ clientOrderId: ref.clientOrderId, at: Date.now() });
    return cancel(ref);
  };
  // The engines cancel through the venue's batch cancel (one request for all their orders).
  const cancelBatch = broker.cancelOrders.bind(broker);
  broker.cancelOrders = (refs) => {
    for (const ref of refs) cancels.push({ clientOrderId: ref.clientOrderId, at: Date.now() });
    return cancelBatch(refs);
  };
}, 60_000);

afterAll(async () => cluster?.stop(), 60_000);

/** The next `n` results from index `from` of the event log. */
async function results(n: number, from: number): Promise<ExecutionResult[]> {
  const got: ExecutionResult[] = [];
  await cluster.waitFor((e) => (e.type === 'result' && got.push(e.result) >= n ? true : undefined), STEP_TIMEOUT_MS, from);
  return got;
}

describe('a fleet of engine processes on one PostgreSQL', () => {
  it(`${ENGINES} engines racing the same ${ADVISORIES} advisories: exactly one execution and one order each, the rest refused as duplicates`, async () => {
    const ids = Array.from({ length: ADVISORIES }, (_, i) => `race-${i}`);
    const snapshots = ids.map((id, i) => clusterSnapshot(id, `R${i}`, 1.1));
    const from = cluster.events.length;
    for (const s of snapshots) for (const e of cluster.engines) e.send({ op: 'execute', snapshot: s });
    const all = await results(ENGINES * ADVISORIES, from);
    for (const id of ids) {
      const mine = all.filter((r) => r.advisoryId === id);
      const ran = mine.filter((r) => r.status !== 'rejected');
      expect(ran.map((r) => [r.status, r.requiresManualResolution]), `${id}: ${JSON.stringify(mine.map((r) => r.error))}`).toEqual([['filled', false]]);
      expect(mine.filter((r) => r.status === 'rejected').map((r) => r.error?.code)).toEqual(Array(ENGINES - 1).fill('duplicate_advisory'));
      // One engine sent it, once: the other engines never reached the broker.
      expect(submits.get(ran[0]!.clientOrderId!), id).toBe(1);
    }
    // The store's journal holds every engine's records and verifies as a whole.
    const store = await cluster.observer();
    expect((await store.verify()).ok).toBe(true);
    const claims = (await store.records()).filter((r) => r.kind === 'claim' && r.advisoryId?.startsWith('race-'));
    expect(claims).toHaveLength(ADVISORIES);
  }, 90_000);

  it('a kill switch set on one engine cancels the working orders of every engine', async () => {
    const perEngine = 4;
    let from = cluster.events.length;
    for (const [i, e] of cluster.engines.entries()) for (let k = 0; k < perEngine; k++) e.send({ op: 'execute', snapshot: clusterSnapshot(`halt-${i}-${k}`, 'GBPUSD', 1.27) });
    // Every order is working at the venue (nothing fills on GBPUSD).
    const working = () => [...submits.keys()].filter((id) => cluster.paper.broker.venue.get(id)?.status === 'pending').length >= ENGINES * perEngine;
    for (let i = 0; i < 300 && !working(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(working()).toBe(true);
    const before = cancels.length;
    const setAt = Date.now();
    from = cluster.events.length;
    cluster.engines[0]!.send({ op: 'killSwitch', state: 'active', reason: 'fleet test', operator: 'ops' });
    const all = await results(ENGINES * perEngine, from);
    for (const r of all) expect(r, r.advisoryId ?? '').toMatchObject({ status: 'cancelled', killSwitch: { state: 'active', phase: 'during' } });
    for (const r of all) expect(cluster.paper.broker.venue.get(r.clientOrderId!)?.status).toBe('cancelled');
    const latencies = cancels.slice(before).map((c) => c.at - setAt).sort((a, b) => a - b);
    console.log(`fleet kill switch → cancel requested at the venue, ${latencies.length} orders on ${ENGINES} engines: p50 ${latencies[Math.floor(latencies.length / 2)]} ms, max ${latencies.at(-1)} ms`);
    cluster.engines[0]!.send({ op: 'killSwitch', state: 'off', reason: 'fleet test over', operator: 'ops' });
  }, 60_000);
});
