/**
 * After a takeover, nothing twice on a venue that keeps client order ids only among open orders:
 * real engine processes on a real PostgreSQL, their broker declaring `openOrdersOnly`. The engine
 * that filled an order dies the moment its protection request reaches the venue; the engine that
 * takes the execution over finds the fill but never requests the protection again (the venue
 * cannot say whether it holds it, and a second request could be a second protective order): the
 * execution ends flagged for an operator, with one protection at the venue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresStore } from '../../src/entries/postgres.js';
import { clientOrderIdFor, JournalKind, type ExecutionResult } from '../../src/index.js';
import { clusterSnapshot, startCluster, type Cluster } from '../../scripts/cluster/cluster.js';

const LEASE_TTL_MS = 1_000;
const START_TIMEOUT_MS = 40_000;
const TEST_TIMEOUT_MS = 30_000;
const PRICE = 1.1;

let cluster: Cluster;
let observer: PostgresStore;
const protections: string[] = [];
const submits: string[] = [];
/** The engine to kill when its protection request arrives. */
let dieOnProtection: (() => void) | null = null;

beforeAll(async () => {
  cluster = await startCluster({
    engines: 2,
    leaseTtlMs: LEASE_TTL_MS,
    dir: '.cache/postgres-takeover-test',
    markets: { P1: { price: PRICE, fillAfterMs: 20, slippageBps: 0 } },
    engineOptions: () => ({ durability: 'openOrdersOnly' }),
  });
  observer = await cluster.observer();
  const broker = cluster.paper.broker;
  const place = broker.placeProtection.bind(broker);
  broker.placeProtection = (req) => {
    protections.push(req.clientOrderId);
    dieOnProtection?.();
    dieOnProtection = null;
    return place(req);
  };
  const submit = broker.submitOrder.bind(broker);
  broker.submitOrder = (req) => (submits.push(req.clientOrderId), submit(req));
}, START_TIMEOUT_MS);
afterAll(async () => cluster?.stop(), START_TIMEOUT_MS);

describe('a takeover on a venue without durable client order ids', () => {
  it('never requests a protection the dead engine had requested: one protection at the venue, the execution flagged', async () => {
    const [victim, survivor] = cluster.engines as [Cluster['engines'][0], Cluster['engines'][0]];
    const s = clusterSnapshot('inherit-1', 'P1', PRICE);
    const from = cluster.events.length;
    dieOnProtection = () => victim.kill('SIGKILL');
    victim.send({ op: 'execute', snapshot: s });
    const done = await cluster.waitFor((e) => (e.type === 'result' && e.result.advisoryId === s.advisoryId ? e : undefined), TEST_TIMEOUT_MS - 5_000, from);
    expect(done.engine).toBe(survivor.name);
    expect(done.takenOverFrom).toBe(victim.name);
    const result: ExecutionResult = done.result;
    expect(result).toMatchObject({ status: 'filled', filledQuantity: 10, requiresManualResolution: true });
    // The flag says why, for the operator who must check the venue: never "the journal could not record".
    expect(result.error?.message).toMatch(/had already requested it, and this venue does not keep client order ids for good/);
    expect(JSON.stringify(result)).not.toMatch(/journal could not record/);
    expect(protections).toEqual([`${clientOrderIdFor(s)}-p`]);
    expect(submits).toEqual([clientOrderIdFor(s)]);
    // The venue holds the dead engine's protection; the survivor's refusal is on record.
    expect(cluster.paper.broker.venue.snapshot().orders.filter((o) => o.symbol === 'P1')).toHaveLength(1);
    const records = await observer.records({ advisoryId: s.advisoryId });
    expect(records.filter((r) => r.kind === JournalKind.BrokerRequest && r.event === 'placeProtection').map((r) => r.writer)).toEqual([victim.name]);
  }, TEST_TIMEOUT_MS);
});
