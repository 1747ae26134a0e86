/**
 * Leases that cannot starve: real engine processes on a real PostgreSQL, one of them 150 ms away
 * each way (a loopback latency proxy), with a 1.5 s lease — five of its round trips. While its one
 * order works it is handed 60 advisories that already ran elsewhere (each a lease, a claim refused
 * as a duplicate and a release, all on its pool and its journal). Its renewals go on their own
 * connection, so its lease is never taken over: the other engine, right next to the database and
 * scanning for expired leases all along, never gets the execution.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOrderIdFor, type ExecutionResult } from '../../src/index.js';
import { clusterSnapshot, startCluster, type Cluster, type ClusterEngine } from '../../scripts/cluster/cluster.js';
import { startLatencyProxy, type LatencyProxy } from '../../scripts/cluster/latencyProxy.js';

const LATENCY_MS = 150;
const LEASE_TTL_MS = 1_500;
const ALREADY_RUN = 60;
/** The slow engine's order works this long before it fills: several lease lengths. */
const FILL_AFTER_MS = 6_000;
const START_TIMEOUT_MS = 50_000;
const TEST_TIMEOUT_MS = 55_000;
const PRICE = 1.1;

let cluster: Cluster;
let proxy: LatencyProxy;
let slow: ClusterEngine;

beforeAll(async () => {
  const markets = Object.fromEntries(Array.from({ length: ALREADY_RUN }, (_, i) => [`D${i}`, { price: PRICE, fillAfterMs: 20, slippageBps: 0 }]));
  cluster = await startCluster({ engines: 1, leaseTtlMs: LEASE_TTL_MS, dir: '.cache/postgres-starvation-test', markets: { ...markets, LONG: { price: PRICE, fillAfterMs: FILL_AFTER_MS, slippageBps: 0 } } });
  proxy = await startLatencyProxy(cluster.db.port, LATENCY_MS);
  slow = await cluster.spawnEngine('engine-slow', { databaseUrl: proxy.via(cluster.db.url) });
}, START_TIMEOUT_MS);
afterAll(async () => {
  await cluster?.stop();
  await proxy?.close();
}, START_TIMEOUT_MS);

async function results(n: number, from: number, engine: string, timeoutMs: number): Promise<ExecutionResult[]> {
  const got: ExecutionResult[] = [];
  await cluster.waitFor((e) => (e.type === 'result' && e.engine === engine && got.push(e.result) >= n ? true : undefined), timeoutMs, from);
  return got;
}

describe(`an engine ${LATENCY_MS} ms from PostgreSQL with a ${LEASE_TTL_MS} ms lease`, () => {
  it(`keeps its working execution while handed ${ALREADY_RUN} already-run advisories: never taken over, filled and protected by itself`, async () => {
    const near = cluster.engines[0]!;
    const ran = Array.from({ length: ALREADY_RUN }, (_, i) => clusterSnapshot(`ran-${i}`, `D${i}`, PRICE));
    let mark = cluster.events.length;
    for (const s of ran) near.send({ op: 'execute', snapshot: s });
    expect((await results(ALREADY_RUN, mark, near.name, 30_000)).map((r) => r.status)).toEqual(Array(ALREADY_RUN).fill('filled'));

    const working = clusterSnapshot('starve-working', 'LONG', PRICE);
    mark = cluster.events.length;
    slow.send({ op: 'execute', snapshot: working });
    await expect.poll(() => cluster.paper.broker.venue.snapshot().orders.some((o) => o.clientOrderId === clientOrderIdFor(working)), { timeout: 15_000, interval: 10 }).toBe(true);
    for (const s of ran) slow.send({ op: 'execute', snapshot: s });

    const all = await results(ALREADY_RUN + 1, mark, slow.name, 40_000);
    const mine = all.find((r) => r.advisoryId === working.advisoryId)!;
    expect(mine).toMatchObject({ status: 'filled', protectionPlaced: true, requiresManualResolution: false });
    // Each already-run advisory is refused, nothing sent: a duplicate, or (new work waits 5 s at most
    // for the pool, behind the executions under way) refused for want of a connection.
    const refusals = all.filter((r) => r.advisoryId !== working.advisoryId).map((r) => (r.error?.code === 'journal_unavailable' && /no connection for new work/.test(r.error.message) ? 'duplicate_advisory' : r.error?.code));
    expect(refusals).toEqual(Array(ALREADY_RUN).fill('duplicate_advisory'));
    const events = cluster.events.slice(mark);
    expect(events.filter((e) => e.type === 'takeover').map((e) => e.type === 'takeover' && `${e.engine} took ${e.advisoryId} from ${e.from}`)).toEqual([]);
    expect(events.filter((e) => e.type === 'log' && /lease lost|journal unwritable|not sent/.test(`${e.msg} ${JSON.stringify(e.fields)}`)).map((e) => e.type === 'log' && e.msg)).toEqual([]);
    expect(cluster.paper.broker.venue.snapshot().orders.filter((o) => o.symbol === 'LONG')).toHaveLength(1);
  }, TEST_TIMEOUT_MS);
});
