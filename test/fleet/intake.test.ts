/**
 * New work waits behind executions under way, on a real PostgreSQL 20 ms away each way (a loopback
 * latency proxy): a burst of lease grants (each advisory handed to an engine asks for one, before
 * its claim) waits in the store's intake gate, not in its pool's queue, so the fleet reads of a
 * reconciliation, a fill's record and a lease's release take the next connection freed while the
 * burst waits. Before,
 * one FIFO pool put them behind every grant; at 150 ms a race of 60 advisories saw 28 of its
 * reconciliations fail (a flag each) waiting over 5 s for a connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLatencyProxy, type LatencyProxy } from '../../scripts/cluster/latencyProxy.js';
import { PostgresStore } from '../../src/store/postgres/PostgresStore.js';
import { useDatabase } from '../store/support/database.js';

const db = useDatabase();
const LATENCY_MS = 20;
const POOL_SIZE = 2;
const BURST = 40;
const LEASE_MS = 60_000;

let proxy: LatencyProxy;
let store: PostgresStore;
beforeAll(async () => {
  proxy = await startLatencyProxy(db.server().port, LATENCY_MS);
  store = await PostgresStore.connect(proxy.via(db.server().url), { writer: 'intake-a', poolSize: POOL_SIZE });
});
afterAll(async () => {
  await store?.close();
  await proxy?.close();
});

/** Fires `BURST` lease grants, then `work`; returns how many grants had been answered when `work` was. */
async function grantsAnsweredBefore(tag: string, work: () => Promise<unknown>): Promise<{ before: number; grants: number[] }> {
  let answered = 0;
  const grants = Array.from({ length: BURST }, (_, i) => store.acquireLease(`${tag}-${i}`, store.writer, LEASE_MS).then((epoch) => (answered++, epoch)));
  await new Promise((resolve) => setImmediate(resolve)); // every grant has asked the pool by now
  await work();
  const before = answered;
  return { before, grants: await Promise.all(grants) };
}

describe(`a burst of ${BURST} new executions on a pool of ${POOL_SIZE}, ${LATENCY_MS} ms from PostgreSQL`, () => {
  it('a reconciliation read of an execution under way is answered before the burst, which is still granted in full, in order', async () => {
    await store.recordFleetExecution({ executionId: 'under-way', symbol: 'EURUSD', side: 'buy', size: 10 });
    await store.recordFleetFill('under-way', 10);
    const { before, grants } = await grantsAnsweredBefore('read', () => store.fleetPosition('EURUSD', 'other'));
    // The read takes the first connection the burst frees (a grant or two per connection, more on
    // a loaded machine). Queued behind the burst it would be answered after all of it.
    expect(before).toBeLessThan(BURST / 4);
    expect(grants).toEqual(Array(BURST).fill(1));
    expect(await store.fleetPosition('EURUSD', 'other')).toMatchObject({ net: 10 });
  });

  it("an execution's settlement and its lease's release go through while the burst waits", async () => {
    await store.recordFleetExecution({ executionId: 'ending', symbol: 'GBPUSD', side: 'sell', size: 5 });
    const epoch = await store.acquireLease('ending', store.writer, LEASE_MS);
    const { before } = await grantsAnsweredBefore('end', async () => {
      await store.settleFleetPosition('ending', 5, true);
      await store.releaseLease('ending', store.writer, epoch);
    });
    expect(before).toBeLessThan(BURST / 4);
    expect(await store.fleetPosition('GBPUSD', 'other')).toMatchObject({ net: -5 });
    expect(await store.lease('ending')).toMatchObject({ released: true });
  });
});
