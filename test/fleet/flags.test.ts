/**
 * Rule 6 on a fleet: a reconciliation flag raised by one engine halts its symbol on every engine,
 * any engine can resolve it, and the engine that raised it hears so — real engine processes on a
 * real PostgreSQL (the cluster harness of `npm run demo:cluster`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResult } from '../../src/index.js';
import { clusterSnapshot, startCluster, type Cluster, type ClusterEngine } from '../../scripts/cluster/cluster.js';
import { warden } from '../support/cli.js';

/** Bound on each wait (a result, an answer, a change heard across the fleet). */
const WAIT_MS = 20_000;
const GOLD = 2_650;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ engines: 3, leaseTtlMs: 10_000, dir: '.cache/postgres-flags-test', markets: { XAUUSD: { price: GOLD, fillAfterMs: 20 } } });
}, 60_000);
afterAll(async () => cluster?.stop(), 60_000);

async function execute(engine: ClusterEngine, advisoryId: string): Promise<ExecutionResult> {
  const from = cluster.events.length;
  engine.send({ op: 'execute', snapshot: clusterSnapshot(advisoryId, 'XAUUSD', GOLD) });
  return cluster.waitFor((e) => (e.type === 'result' && e.result.advisoryId === advisoryId ? e.result : undefined), WAIT_MS, from);
}

async function ask(engine: ClusterEngine, op: 'awaiting'): Promise<string>;
async function ask(engine: ClusterEngine, op: 'resolve', advisoryId: string): Promise<string>;
async function ask(engine: ClusterEngine, op: 'awaiting' | 'resolve', advisoryId = ''): Promise<string> {
  const from = cluster.events.length;
  engine.send(op === 'awaiting' ? { op } : { op, advisoryId, operator: 'carol', note: 'the extra position is someone else\'s, left open' });
  return cluster.waitFor((e) => (e.type === 'answer' && e.op === op && e.engine === engine.name ? (e.ok ? e.message : `refused: ${e.message}`) : undefined), WAIT_MS, from);
}

/** Asks until `accept` holds (the fleet hears of a change within milliseconds; bounded). */
async function until(engine: ClusterEngine, accept: (awaiting: string[]) => boolean): Promise<string[]> {
  let last: string[] = [];
  for (let i = 0; i < 100; i++) {
    last = JSON.parse(await ask(engine, 'awaiting')) as string[];
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  return last;
}

describe('reconciliation flags on a fleet', () => {
  it('a flag raised on one engine halts the symbol everywhere, is resolved on another, and the first one hears so', async () => {
    const [a, b, c] = cluster.engines as [ClusterEngine, ClusterEngine, ClusterEngine];
    // Someone else's position on the account: engine a's reconciliation cannot match.
    cluster.paper.broker.venue.setPosition('XAUUSD', 5, GOLD);
    const flagged = await execute(a, 'gold-1');
    expect(flagged).toMatchObject({ status: 'filled', requiresManualResolution: true });

    // Every engine lists it, and no engine takes a new XAUUSD order.
    expect(await until(b, (w) => w.includes('gold-1'))).toEqual(['gold-1']);
    expect(await until(c, (w) => w.includes('gold-1'))).toEqual(['gold-1']);
    const halted = await execute(c, 'gold-2');
    expect(halted).toMatchObject({ status: 'rejected', error: { code: 'kill_switch_active' } });

    // An operator finds the extra position is someone else's and leaves it, then resolves the flag on
    // engine b: the fleet's ledger takes the venue's figure of that reconciliation (Warden's fill and the 5).
    expect(await ask(b, 'resolve', 'gold-1')).toBe('filled');
    expect(await until(a, (w) => w.length === 0)).toEqual([]);
    expect(await until(c, (w) => w.length === 0)).toEqual([]);
    expect(await ask(a, 'resolve', 'gold-1')).toMatch(/^refused: .*no execution of advisory gold-1 is waiting/);

    // The halt is lifted on every engine: engine c trades XAUUSD again.
    const after = await execute(c, 'gold-3');
    expect(after).toMatchObject({ status: 'filled', requiresManualResolution: false });
    // One resolution in the store, written by engine b.
    const store = await cluster.observer();
    const resolutions = (await store.records({ advisoryId: 'gold-1' })).filter((r) => r.kind === 'resolution');
    expect(resolutions.map((r) => (r as { writer?: string }).writer)).toEqual([b.name]);
    expect((await store.verify()).ok).toBe(true);
  }, 90_000);

  it('warden resolve --store resolves any engine\'s flag, and the fleet hears it', async () => {
    const [a, , c] = cluster.engines as [ClusterEngine, ClusterEngine, ClusterEngine];
    const venue = cluster.paper.broker.venue;
    venue.setPosition('XAUUSD', venue.position('XAUUSD').quantity + 3, GOLD); // someone else's 3
    expect(await execute(c, 'gold-4')).toMatchObject({ requiresManualResolution: true });
    expect(await until(a, (w) => w.includes('gold-4'))).toEqual(['gold-4']);
    // The 3 stay: the resolution adopts them into the fleet's ledger, in the store.
    const cli = await warden(['resolve', 'gold-4', '--store', cluster.db.url, '--operator', 'dana', '--note', "someone else's 3, kept"], 60_000);
    expect(cli.stdout).toMatch(/resolved gold-4 .* for the fleet; XAUUSD takes new orders again/);
    expect(await until(c, (w) => w.length === 0)).toEqual([]);
    expect(await until(a, (w) => w.length === 0)).toEqual([]);
    // Engine b has traded nothing on XAUUSD: its reconciliation expects the fleet's fills, the adopted 5 and 3, and this one.
    expect(await execute(cluster.engines[1]!, 'gold-5')).toMatchObject({ status: 'filled', requiresManualResolution: false });
    const again = await warden(['resolve', 'gold-4', '--store', cluster.db.url, '--operator', 'dana', '--note', 'twice'], 60_000);
    expect([again.code, again.stderr]).toEqual([2, 'warden: no execution of advisory gold-4 is waiting for resolution on the store\n']);
  }, 90_000);
});
