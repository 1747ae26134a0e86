/**
 * A woken engine is fenced, whatever became of its lease while it slept: real engine processes on
 * a real PostgreSQL. An engine is frozen (SIGSTOP) while its order works; another takes the
 * execution over, finishes it — fill, protection, result — and releases the lease; then the frozen
 * engine wakes up with its timers due. It must write nothing more for the execution, send no
 * second protection, and take no fresh advisory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresStore } from '../../src/entries/postgres.js';
import { clientOrderIdFor, JournalKind } from '../../src/index.js';
import { clusterSnapshot, startCluster, type Cluster } from '../../scripts/cluster/cluster.js';

/** Short leases: the takeover comes about a second after the freeze (database clock). */
const LEASE_TTL_MS = 1_000;
/** The order fills this long after it reaches the venue: after the takeover, before the wake-up. */
const FILL_AFTER_MS = 2_500;
const START_TIMEOUT_MS = 40_000;
const TEST_TIMEOUT_MS = 40_000;
const PRICE = 1.1;

let cluster: Cluster;
let observer: PostgresStore;
/** Protection requests the venue received, by the protection's client id. */
const protections = new Map<string, number>();

beforeAll(async () => {
  cluster = await startCluster({
    engines: 2,
    leaseTtlMs: LEASE_TTL_MS,
    dir: '.cache/postgres-fencing-test',
    markets: { WOKE: { price: PRICE, fillAfterMs: FILL_AFTER_MS, slippageBps: 0 }, FRESH: { price: PRICE, fillAfterMs: 30, slippageBps: 0 } },
  });
  observer = await cluster.observer();
  const broker = cluster.paper.broker;
  const place = broker.placeProtection.bind(broker);
  broker.placeProtection = (req) => {
    protections.set(req.clientOrderId, (protections.get(req.clientOrderId) ?? 0) + 1);
    return place(req);
  };
}, START_TIMEOUT_MS);
afterAll(async () => cluster?.stop(), START_TIMEOUT_MS);

describe('a woken engine after a takeover', () => {
  it('writes nothing for the execution, sends no second protection and takes no fresh advisory, even once the taker released the lease', async () => {
    const [victim, survivor] = cluster.engines as [Cluster['engines'][0], Cluster['engines'][0]];
    const s = clusterSnapshot('woken-1', 'WOKE', PRICE);
    const clientOrderId = clientOrderIdFor(s);
    const from = cluster.events.length;
    victim.send({ op: 'execute', snapshot: s });
    await expect.poll(() => cluster.paper.broker.venue.snapshot().orders.some((o) => o.clientOrderId === clientOrderId), { timeout: 10_000, interval: 5 }).toBe(true);
    victim.kill('SIGSTOP');

    // The survivor takes it over, the order fills, it protects and finishes it, and releases the lease.
    const done = await cluster.waitFor((e) => (e.type === 'result' && e.result.advisoryId === s.advisoryId ? e : undefined), 15_000, from);
    expect(done.engine).toBe(survivor.name);
    expect(done.result).toMatchObject({ status: 'filled', protectionPlaced: true, requiresManualResolution: false });
    const claim = (await observer.claimed(s.advisoryId))!;
    await expect.poll(async () => (await observer.lease(claim.executionId))?.released, { timeout: 5_000, interval: 20 }).toBe(true);
    const protectionsBefore = [...protections.values()].reduce((a, b) => a + b, 0);
    expect(protectionsBefore).toBe(1);

    // The frozen engine wakes up: its poll, its protection and its renewal are all due at once.
    const woke = cluster.events.length;
    victim.kill('SIGCONT');
    const fenced = await cluster.waitFor((e) => (e.type === 'log' && e.engine === victim.name && /journal unwritable/.test(e.msg) ? e : undefined), 10_000, woke);
    expect(JSON.stringify(fenced.fields)).toMatch(/epoch 1 of engine-a.*epoch 2 of engine-b/);

    // A fresh advisory handed to the woken engine: refused, nothing reaches the venue.
    const fresh = clusterSnapshot('woken-fresh', 'FRESH', PRICE);
    victim.send({ op: 'execute', snapshot: fresh });
    const answer = await cluster.waitFor((e) => (e.type === 'result' && e.result.advisoryId === fresh.advisoryId ? e.result : undefined), 10_000, woke);
    expect(answer.status).toBe('rejected');
    expect(cluster.paper.broker.venue.snapshot().orders.filter((o) => o.clientOrderId === clientOrderIdFor(fresh))).toEqual([]);

    // One protection, one result, and no record of the woken engine after the takeover.
    expect([...protections.values()].reduce((a, b) => a + b, 0)).toBe(1);
    const records = await observer.records({ executionId: claim.executionId });
    const takeOver = records.find((r) => r.kind === JournalKind.Recovery && r.event === 'TAKE_OVER')!;
    expect(takeOver.writer).toBe(survivor.name);
    expect(records.filter((r) => r.writer === victim.name && (r.globalSequence ?? 0) > (takeOver.globalSequence ?? 0)).map((r) => `${r.kind}:${r.event ?? r.to}`)).toEqual([]);
    expect(records.filter((r) => r.kind === JournalKind.Result)).toHaveLength(1);
    expect((await observer.verify()).ok).toBe(true);
  }, TEST_TIMEOUT_MS);
});
