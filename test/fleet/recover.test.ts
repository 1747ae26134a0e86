/** `warden recover --store`: an engine that died mid-execution, its work taken over and finished from the command line — and named, never silently skipped, when another broker was given. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../src/index.js';
import { clientOrderIdFor } from '../../src/index.js';
import { clusterSnapshot, startCluster, type Cluster } from '../../scripts/cluster/cluster.js';
import { warden } from '../support/cli.js';

/** Short leases: the dead engine's lease expires (database clock) a second after its last renewal. */
const LEASE_TTL_MS = 1_000;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ engines: 1, leaseTtlMs: LEASE_TTL_MS, dir: '.cache/postgres-recover-test', markets: { EURUSD: { price: 1.1, fillAfterMs: 2_000 } } });
}, 60_000);
afterAll(async () => cluster?.stop(), 60_000);

describe('warden recover --store', () => {
  it('takes over what a dead engine left unfinished once its lease expired, finishes it, and sends nothing twice', async () => {
    const snapshot = clusterSnapshot('recover-1', 'EURUSD', 1.1);
    const id = clientOrderIdFor(snapshot);
    const submits = new Map<string, number>();
    const broker = cluster.paper.broker;
    const submit = broker.submitOrder.bind(broker);
    broker.submitOrder = (req) => (submits.set(req.clientOrderId, (submits.get(req.clientOrderId) ?? 0) + 1), submit(req));
    const [engine] = cluster.engines;
    engine!.send({ op: 'execute', snapshot });
    await expect.poll(() => broker.venue.get(id)?.status, { timeout: 5_000, interval: 5 }).toBe('pending');
    engine!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, LEASE_TTL_MS + 300)); // the lease's own time, on the database's clock

    const r = await warden(['recover', '--store', cluster.db.url, '--broker', cluster.paper.url, '--json', '--log-file', '.cache/recover-test.log'], 60_000);
    expect(r.code, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout) as ExecutionResult[];
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ advisoryId: 'recover-1', clientOrderId: id, status: 'filled', protectionPlaced: true, requiresManualResolution: false });
    expect(submits.get(id)).toBe(1);

    const again = await warden(['recover', '--store', cluster.db.url, '--broker', cluster.paper.url, '--log-file', '.cache/recover-test.log'], 60_000);
    expect(again.stdout).toMatch(/nothing to recover/);
    expect((await warden(['recover', '--store', cluster.db.url], 60_000)).stderr).toMatch(/recover --store needs --broker/);
  }, 60_000);

  it('named another broker than the orders went to: refused, naming the broker, never "nothing to recover"', async () => {
    const engine = await cluster.spawnEngine('engine-other');
    const snapshot = clusterSnapshot('recover-2', 'EURUSD', 1.1);
    const id = clientOrderIdFor(snapshot);
    engine.send({ op: 'execute', snapshot });
    await expect.poll(() => cluster.paper.broker.venue.get(id)?.status, { timeout: 5_000, interval: 5 }).toBe('pending');
    engine.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, LEASE_TTL_MS + 300));
    // The same service, written another way: another broker to the claims.
    const elsewhere = cluster.paper.url.replace('127.0.0.1', 'localhost');
    const refused = await warden(['recover', '--store', cluster.db.url, '--broker', elsewhere, '--log-file', '.cache/recover-test.log'], 60_000);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`1 unfinished execution\\(s\\) were sent to ${cluster.paper.url.replace(/[.:/]/g, '\\$&')}.*name that broker with --broker`));
    expect(refused.stdout).not.toMatch(/nothing to recover/);
    const recovered = await warden(['recover', '--store', cluster.db.url, '--broker', cluster.paper.url, '--json', '--log-file', '.cache/recover-test.log'], 60_000);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(JSON.parse(recovered.stdout)).toMatchObject([{ advisoryId: 'recover-2', status: 'filled', protectionPlaced: true }]);
  }, 90_000);
});
