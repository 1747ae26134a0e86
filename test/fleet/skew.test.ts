/**
 * One clock for rule 4's deadline across a fleet: real engine processes on a real PostgreSQL, two
 * of them with wall clocks 20 s ahead and 20 s behind. An engine dies while its order (which never
 * fills) works; the engine that takes the execution over must resume with what is really left of
 * the 30 s window — measured on the database's clock — never the dead engine's absolute deadline
 * read on its own clock (20 s too long, or 20 s too short). Checked at the takeover, without
 * waiting for the window to run out. The same for an engine restarted under its own writer id with
 * its clock corrected: it resumes with what the database's clock says is left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOrderIdFor, HARD_TIMEOUT_MS } from '../../src/index.js';
import { clusterSnapshot, startCluster, type Cluster } from '../../scripts/cluster/cluster.js';

const SKEW_MS = 20_000;
const LEASE_TTL_MS = 1_000;
/** Slack for the harness reading times from another process's events (ms). */
const TOLERANCE_MS = 300;
const START_TIMEOUT_MS = 40_000;
const TRIAL_TIMEOUT_MS = 20_000;
const PRICE = 1.1;
const SKEWS = [SKEW_MS, -SKEW_MS, 0];

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({
    engines: SKEWS.length,
    leaseTtlMs: LEASE_TTL_MS,
    dir: '.cache/postgres-skew-test',
    markets: { N0: { price: PRICE, noLiquidity: true }, N1: { price: PRICE, noLiquidity: true }, N2: { price: PRICE, noLiquidity: true } },
    engineOptions: (i) => ({ clockSkewMs: SKEWS[i]! }),
  });
}, START_TIMEOUT_MS);
afterAll(async () => cluster?.stop(), START_TIMEOUT_MS);

describe('rule 4 on one clock after a takeover', () => {
  SKEWS.slice(0, 2).forEach((skew, trial) => {
    it(`the dead engine's clock ${skew > 0 ? 'ahead' : 'behind'} by ${Math.abs(skew) / 1000} s neither stretches nor shrinks the window`, async () => {
      const victim = cluster.engines[trial]!;
      const s = clusterSnapshot(`skew-${trial}`, `N${trial}`, PRICE);
      const from = cluster.events.length;
      const commandAt = Date.now();
      victim.send({ op: 'execute', snapshot: s });
      await expect.poll(() => cluster.paper.broker.venue.snapshot().orders.some((o) => o.clientOrderId === clientOrderIdFor(s)), { timeout: 10_000, interval: 5 }).toBe(true);
      const sentBy = Date.now(); // the order was at the venue by now: the window was fixed before
      victim.kill('SIGKILL');
      const takeover = await cluster.waitFor((e) => (e.type === 'takeover' && e.advisoryId === s.advisoryId ? e : undefined), TRIAL_TIMEOUT_MS - 5_000, from);
      expect(takeover.from).toBe(victim.name);
      // What the taker waits, on its own clock, against what is really left (harness clock, no skew).
      const left = takeover.deadlineAt - takeover.clockNow;
      expect(left).toBeLessThanOrEqual(HARD_TIMEOUT_MS - (takeover.at - sentBy) + TOLERANCE_MS);
      expect(left).toBeGreaterThanOrEqual(HARD_TIMEOUT_MS - (takeover.at - commandAt) - TOLERANCE_MS);
    }, TRIAL_TIMEOUT_MS);
  });

  it('an engine restarted under its own writer id with its clock corrected (it ran 20 s ahead) resumes with what is really left', async () => {
    // Nobody else may take the execution over: the restarted engine resumes it itself.
    for (const engine of cluster.engines) if (engine.alive()) engine.kill('SIGKILL');
    const ahead = await cluster.spawnEngine('engine-r', { clockSkewMs: SKEW_MS });
    const s = clusterSnapshot('skew-restart', 'N2', PRICE);
    const commandAt = Date.now();
    ahead.send({ op: 'execute', snapshot: s });
    await expect.poll(() => cluster.paper.broker.venue.snapshot().orders.some((o) => o.clientOrderId === clientOrderIdFor(s)), { timeout: 10_000, interval: 5 }).toBe(true);
    const sentBy = Date.now();
    ahead.kill('SIGKILL');
    await cluster.spawnEngine('engine-r'); // the same writer, its clock right
    const observer = await cluster.observer();
    const recovered = async () => (await observer.records({ advisoryId: s.advisoryId })).find((r) => r.kind === 'recovery' && r.event === 'RECOVER');
    await expect.poll(recovered, { timeout: 10_000, interval: 50 }).toBeDefined();
    const record = (await recovered())!;
    // The record is stamped on the restarted engine's clock (right), as is the deadline it resumes with.
    const resumedAt = Date.parse(record.at);
    const left = (record.payload as { recovery: { deadlineAt: number } }).recovery.deadlineAt - resumedAt;
    expect(left).toBeLessThanOrEqual(HARD_TIMEOUT_MS - (resumedAt - sentBy) + TOLERANCE_MS);
    expect(left).toBeGreaterThanOrEqual(HARD_TIMEOUT_MS - (resumedAt - commandAt) - TOLERANCE_MS);
  }, TRIAL_TIMEOUT_MS + 20_000);
});
